"""The ``kubescim`` CLI: scriptable output, exit codes, token lifecycle."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from scim_server.cli import _settings, build_parser, main
from scim_server.storage import open_storage
from scim_server.storage.postgres import migrations
from scim_server.tokens.local import LocalTokenRegistry
from scim_server.tokens.organizations import LocalOrganizationRegistry


@pytest.fixture
def state(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("KUBESCIM_STATE_DIR", str(tmp_path / "state"))
    monkeypatch.delenv("KUBESCIM_DATABASE_URL", raising=False)
    monkeypatch.delenv("KUBESCIM_PUBLIC_URL", raising=False)
    return tmp_path / "state"


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_create_prints_endpoint_and_a_working_token_as_json(
    state: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run(capsys, "directories", "create", "acme", "-o", "json", "--base-url", "http://h:9")
    assert code == 0
    data = json.loads(out)
    assert data["endpoint"] == "http://h:9/scim/v2/acme"
    assert LocalTokenRegistry(state).verify("acme", data["token"])
    assert data["token"] not in (state / "tokens.json").read_text()


def test_yaml_output_and_list(state: Path, capsys: pytest.CaptureFixture[str]) -> None:
    run(capsys, "directories", "create", "one")
    code, out, _ = run(capsys, "directories", "create", "two", "-o", "yaml")
    assert code == 0
    assert yaml.safe_load(out)["name"] == "two"
    code, out, _ = run(capsys, "directories", "list", "-o", "json")
    assert [d["name"] for d in json.loads(out)] == ["one", "two"]


def test_invalid_name_is_a_one_line_error_with_exit_1(
    state: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run(capsys, "directories", "create", "Bad_Name")
    assert code == 1
    assert out == ""
    assert err.startswith("error: invalid directory name 'Bad_Name'")
    assert err.count("\n") == 1


def test_creating_an_existing_directory_fails(state: Path, capsys: pytest.CaptureFixture[str]) -> None:
    run(capsys, "directories", "create", "acme")
    code, _, err = run(capsys, "directories", "create", "acme")
    assert code == 1
    assert "already exists" in err


def test_rotate_keeps_the_old_token_for_the_grace_period(
    state: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _, out, _ = run(capsys, "directories", "create", "acme", "-o", "json")
    old = json.loads(out)["token"]
    code, out, _ = run(capsys, "tokens", "rotate", "acme", "--grace", "1h", "-o", "json")
    assert code == 0
    new = json.loads(out)["token"]
    registry = LocalTokenRegistry(state)
    assert registry.verify("acme", new)
    assert registry.verify("acme", old)
    run(capsys, "tokens", "rotate", "acme", "--grace", "0")
    registry = LocalTokenRegistry(state)
    assert not registry.verify("acme", old)
    assert not registry.verify("acme", new)


def test_delete_revokes_tokens(state: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _, out, _ = run(capsys, "directories", "create", "acme", "-o", "json")
    token = json.loads(out)["token"]
    code, _, _ = run(capsys, "directories", "delete", "acme")
    assert code == 0
    assert not LocalTokenRegistry(state).verify("acme", token)
    code, _, err = run(capsys, "directories", "delete", "acme")
    assert code == 1
    assert "not found" in err


def test_migrate_on_sqlite_has_nothing_to_do(state: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "migrate")
    assert code == 0
    assert "nothing to migrate" in out


def test_migrate_on_postgres(
    state: Path, capsys: pytest.CaptureFixture[str], postgres_server: object
) -> None:
    url = postgres_server.create_database("cli_migrate")  # type: ignore[attr-defined]
    code, out, _ = run(capsys, "migrate", "--database-url", url)
    every = ", ".join(str(version) for version, _ in migrations())
    assert (code, out.strip()) == (0, f"applied migrations: {every}")
    code, out, _ = run(capsys, "migrate", "--database-url", url)
    assert (code, out.strip()) == (0, "schema is up to date")


def test_usage_error_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["directories", "frobnicate"])
    assert exc.value.code == 2


# -- flags win over the environment ------------------------------------------------------

COMMANDS_WITH_STORAGE_FLAGS = [
    ["quickstart"],
    ["serve"],
    ["migrate"],
    ["directories", "create", "acme"],
    ["directories", "list"],
    ["directories", "delete", "acme"],
    ["directories", "export", "acme"],
    ["directories", "import", "acme"],
    ["tokens", "rotate", "acme"],
]


@pytest.mark.parametrize("command", COMMANDS_WITH_STORAGE_FLAGS, ids=" ".join)
def test_state_dir_and_database_url_flags_win_over_the_environment(
    command: list[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KUBESCIM_STATE_DIR", str(tmp_path / "from-env"))
    monkeypatch.setenv("KUBESCIM_DATABASE_URL", f"sqlite:///{tmp_path / 'from-env.db'}")
    flag_url = f"sqlite:///{tmp_path / 'from-flag.db'}"
    argv = [*command, "--state-dir", str(tmp_path / "from-flag"), "--database-url", flag_url]
    settings = _settings(build_parser().parse_args(argv))
    assert (settings.state_dir, settings.database_url) == (tmp_path / "from-flag", flag_url)


def test_without_flags_the_environment_applies(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    env_url = f"sqlite:///{tmp_path / 'from-env.db'}"
    monkeypatch.setenv("KUBESCIM_STATE_DIR", str(tmp_path / "from-env"))
    monkeypatch.setenv("KUBESCIM_DATABASE_URL", env_url)
    settings = _settings(build_parser().parse_args(["migrate"]))
    assert (settings.state_dir, settings.database_url) == (tmp_path / "from-env", env_url)


def test_tokens_go_to_the_state_dir_flag_not_the_environments(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("KUBESCIM_STATE_DIR", str(tmp_path / "from-env"))
    flag = tmp_path / "from-flag"
    _, out, _ = run(capsys, "directories", "create", "acme", "-o", "json", "--state-dir", str(flag))
    assert LocalTokenRegistry(flag).verify("acme", json.loads(out)["token"])
    assert not (tmp_path / "from-env").exists()


def test_delete_removes_data_from_the_database_url_flag_not_the_environments(
    state: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    env_url, flag_url = (f"sqlite:///{tmp_path / name}" for name in ("from-env.db", "from-flag.db"))
    for url in (env_url, flag_url):
        store = open_storage(url)
        store.create("acme", "User", {"userName": "bjensen"})
        store.close()
    monkeypatch.setenv("KUBESCIM_DATABASE_URL", env_url)
    run(capsys, "directories", "create", "acme")
    code, _, _ = run(capsys, "directories", "delete", "acme", "--database-url", flag_url)
    assert code == 0
    counts: dict[str, int] = {}
    for url in (env_url, flag_url):
        store = open_storage(url)
        counts[url] = store.stats("acme").users
        store.close()
    assert counts == {env_url: 1, flag_url: 0}


def test_base_url_flag_wins_over_public_url_in_printed_endpoints(
    state: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("KUBESCIM_PUBLIC_URL", "https://from-env.example")
    flag = ["-o", "json", "--base-url", "https://from-flag.example"]
    _, created, _ = run(capsys, "directories", "create", "acme", *flag)
    _, listed, _ = run(capsys, "directories", "list", *flag)
    endpoints = [json.loads(created)["endpoint"], *(d["endpoint"] for d in json.loads(listed))]
    assert endpoints == ["https://from-flag.example/scim/v2/acme"] * 2


def test_public_url_shapes_printed_endpoints_without_a_base_url_flag(
    state: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("KUBESCIM_PUBLIC_URL", "https://from-env.example/")
    _, out, _ = run(capsys, "directories", "create", "acme", "-o", "json")
    assert json.loads(out)["endpoint"] == "https://from-env.example/scim/v2/acme"


def test_organizations_issue_rotate_and_delete_api_keys(
    state: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run(capsys, "organizations", "create", "acme", "--directory", "acme-okta", "-o", "json")
    assert code == 0
    key = json.loads(out)["apiKey"]
    registry = LocalOrganizationRegistry(state)
    org = registry.authenticate(key)
    assert org is not None
    assert (org.id, org.directories) == ("acme", frozenset({"acme-okta"}))
    assert key not in (state / "organizations.json").read_text()

    assert run(capsys, "directories", "create", "acme-entra", "--organization", "acme")[0] == 0
    code, out, _ = run(capsys, "organizations", "list", "-o", "json")
    assert json.loads(out) == [{"name": "acme", "directories": ["acme-entra", "acme-okta"]}]
    code, _, err = run(capsys, "directories", "create", "x", "--organization", "nope")
    assert (code, err.strip()) == (1, "error: organization 'nope' not found")

    code, out, _ = run(capsys, "organizations", "rotate-key", "acme", "--grace", "0", "-o", "json")
    assert code == 0
    assert registry.authenticate(key) is None
    assert registry.authenticate(json.loads(out)["apiKey"]) is not None

    assert run(capsys, "organizations", "delete", "acme")[0] == 0
    assert registry.authenticate(json.loads(out)["apiKey"]) is None
    assert run(capsys, "organizations", "create", "Bad Name")[0] == 1


def test_creating_a_directory_records_its_activation(state: Path, capsys: pytest.CaptureFixture[str]) -> None:
    run(capsys, "directories", "create", "acme")
    storage = open_storage(f"sqlite:///{state / 'kubescim.db'}")
    try:
        assert [e.type for e in storage.events("acme")] == ["dsync.activated"]  # type: ignore[attr-defined]
    finally:
        storage.close()


@pytest.mark.parametrize("command", [["webhooks", "run"], ["events", "prune"]])
def test_webhooks_on_config_map_storage_are_refused_with_the_way_out(
    state: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, command: list[str]
) -> None:
    monkeypatch.setenv("KUBESCIM_DATABASE_URL", "configmaps://kubescim")
    code, _, err = run(capsys, *command)
    assert code != 0
    assert "need SQLite or PostgreSQL" in err
    assert "bounded in-memory log" in err
