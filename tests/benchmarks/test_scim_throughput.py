"""scim_throughput's options and its kubescim-configmaps target when no control plane can start."""

from __future__ import annotations

import contextlib
from pathlib import Path

import pytest

from benchmarks import report, scim_throughput
from benchmarks.report import Results


def test_configmaps_is_a_default_target_and_can_be_chosen_alone() -> None:
    assert "kubescim-configmaps" in scim_throughput.parse_args([]).targets.split(",")
    args = scim_throughput.parse_args(["--targets", "kubescim-configmaps", "--scenarios", "post_user"])
    assert args.targets == "kubescim-configmaps"
    assert args.configmap_write_rate == 1000


def test_unknown_targets_are_refused(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        scim_throughput.parse_args(["--targets", "kubescim-secrets"])
    assert "unknown target(s): kubescim-secrets" in capsys.readouterr().err


def test_without_control_plane_binaries_its_rows_say_skip_not_fail(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KUBESCIM_CONTROLPLANE_BIN", str(tmp_path))  # holds none of the binaries
    args = scim_throughput.parse_args(["--targets", "kubescim-configmaps", "--big-users", "1000"])
    results = Results()
    runner = scim_throughput.Runner(args, results, pg=None)  # type: ignore[arg-type]  # unused here
    with contextlib.ExitStack() as stack:
        assert runner.start_configmaps(stack, tmp_path) is None
    assert [r.scenario.key for r in results.rows] == [s.key for s in runner.scenarios]
    for row in results.rows:
        assert row.target == "kubescim-configmaps"
        assert row.skipped.startswith(f"SKIP: not run: KUBESCIM_CONTROLPLANE_BIN={tmp_path} lacks etcd")
        assert not row.error
    assert all(c.status == "SKIP" for c in report.checks(results))
