"""``kubescim tokens rotate --grace`` reads the same duration grammar as the CRD and the operator."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from scim_server.cli import main
from tests.support.durations import INVALID, VALID


@pytest.fixture
def directory(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> str:
    monkeypatch.setenv("KUBESCIM_STATE_DIR", str(tmp_path / "state"))
    monkeypatch.delenv("KUBESCIM_DATABASE_URL", raising=False)
    assert main(["directories", "create", "acme"]) == 0
    capsys.readouterr()
    return "acme"


@pytest.mark.parametrize(("text", "seconds"), VALID)
def test_grace_accepts_every_valid_duration(
    directory: str, capsys: pytest.CaptureFixture[str], text: str, seconds: float
) -> None:
    assert main(["tokens", "rotate", directory, "--grace", text, "-o", "json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["previousTokensValidFor"] == f"{int(seconds)}s"


@pytest.mark.parametrize("text", INVALID)
def test_grace_refuses_every_invalid_duration_in_one_line(
    directory: str, capsys: pytest.CaptureFixture[str], text: str
) -> None:
    assert main(["tokens", "rotate", directory, f"--grace={text}"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: invalid duration")
    assert err.count("\n") == 1
