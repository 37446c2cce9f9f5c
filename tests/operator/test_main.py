"""``kubescim-operator``'s command line: documented defaults, one-line errors."""

from __future__ import annotations

import socket
from collections.abc import Iterator

import pytest

from scim_operator.main import build_parser, main
from scim_operator.settings import OperatorSettings


@pytest.fixture
def busy_port() -> Iterator[int]:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        yield sock.getsockname()[1]


def test_help_shows_the_liveness_address_it_binds_by_default(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        build_parser(OperatorSettings()).parse_args(["--help"])
    out = " ".join(capsys.readouterr().out.split())
    assert "http://0.0.0.0:8081/healthz" in out
    assert "KUBESCIM_OPERATOR_LIVENESS" in out


def test_a_liveness_port_in_use_is_a_one_line_error_before_anything_starts(
    busy_port: int, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KUBECONFIG", "/nonexistent/kubeconfig")  # never reached
    code = main(["--standalone", "--liveness", f"http://127.0.0.1:{busy_port}/healthz"])
    err = capsys.readouterr().err
    assert code == 1
    assert err.startswith(f"kubescim-operator: cannot listen on 127.0.0.1:{busy_port} for --liveness")
    assert err.count("\n") == 1


def test_an_invalid_liveness_url_is_a_one_line_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--standalone", "--liveness", "tcp://nowhere"]) == 1
    assert capsys.readouterr().err == (
        "kubescim-operator: invalid --liveness 'tcp://nowhere': expected http://HOST:PORT/PATH\n"
    )


def test_lease_timing_that_cannot_work_is_refused() -> None:
    with pytest.raises(ValueError, match="retry < renew deadline < duration"):
        OperatorSettings(lease_duration_seconds=10, lease_renew_deadline_seconds=10)


def test_named_namespaces_need_no_discovery_and_patterns_or_cluster_wide_keep_it() -> None:
    from scim_operator.handlers import build_settings

    op = OperatorSettings()
    assert build_settings(op, ["customers", "partners"]).scanning.disabled is True
    assert build_settings(op, ["tenant-*"]).scanning.disabled is False
    assert build_settings(op).scanning.disabled is False
