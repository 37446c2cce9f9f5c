"""``kubescim directories export`` and ``import``: round trips, and refusals that write nothing."""

from __future__ import annotations

import io
import json
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from scim_server.cli import main
from scim_server.storage import Storage, open_storage
from scim_server.transfer import streams
from scim_server.transfer.runner import TransferError, export_directory
from scim_server.transfer.streams import atomic_file


@dataclass
class Stores:
    """A source store holding directory ``acme`` and an empty target store (SQLite files)."""

    source: Storage
    target: Storage
    source_url: str
    target_url: str
    tmp_path: Path
    capsys: pytest.CaptureFixture[str]

    def run(self, *argv: str) -> tuple[int, str, str]:
        code = main(list(argv))
        out, err = self.capsys.readouterr()
        return code, out, err

    def exported(self, url: str | None = None) -> list[str]:
        code, out, err = self.run("directories", "export", "acme", "--database-url", url or self.source_url)
        assert (code, err) == (0, "exported 2 users and 2 groups of 'acme'\n")
        return out.splitlines()

    def write(self, lines: list[str], name: str = "acme.ndjson") -> str:
        path = self.tmp_path / name
        path.write_text("".join(f"{line}\n" for line in lines))
        return str(path)

    def import_file(self, path: str, *flags: str) -> tuple[int, str, str]:
        return self.run(
            "directories", "import", "acme", "-f", path, "--database-url", self.target_url, *flags
        )

    def counts(self, store: Storage, directory: str = "acme") -> tuple[int, int]:
        stats = store.stats(directory)
        return stats.users, stats.groups


@pytest.fixture
def stores(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> Iterator[Stores]:
    """``acme`` in the source: two users, a group of one user and a group holding that group."""
    monkeypatch.delenv("KUBESCIM_DATABASE_URL", raising=False)
    monkeypatch.setenv("KUBESCIM_STATE_DIR", str(tmp_path / "state"))
    urls = f"sqlite:///{tmp_path / 'source.db'}", f"sqlite:///{tmp_path / 'target.db'}"
    source, target = open_storage(urls[0]), open_storage(urls[1])
    a = source.create("acme", "User", {"userName": "alice", "externalId": "a-1"})
    source.create("acme", "User", {"userName": "bob"})
    inner = source.create("acme", "Group", {"displayName": "inner", "members": [{"value": a["id"]}]})
    source.create("acme", "Group", {"displayName": "outer", "members": [{"value": inner["id"]}]})
    yield Stores(source, target, *urls, tmp_path, capsys)
    source.close()
    target.close()


def assert_one_line_error(code: int, out: str, err: str, expected: str) -> None:
    assert (code, out) == (1, "")
    assert err.count("\n") == 1
    assert err.startswith("error: ")
    assert expected in err, err


def test_export_to_a_file_then_import_from_stdin_round_trips(
    stores: Stores, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = stores.tmp_path / "acme.ndjson"
    code, out, err = stores.run(
        "directories", "export", "acme", "-f", str(path), "--database-url", stores.source_url
    )
    assert (code, out) == (0, "")
    assert err == f"exported 2 users and 2 groups of 'acme' to {path}\n"
    header = json.loads(path.read_text().splitlines()[0])
    assert header["counts"] == {"users": 2, "groups": 2}
    assert header["directory"] == "acme"
    assert [p.name for p in stores.tmp_path.iterdir() if p.name.startswith(".")] == []  # no temporary left

    monkeypatch.setattr("sys.stdin", io.StringIO(path.read_text()))
    code, out, _ = stores.run(
        "directories", "import", "acme", "--database-url", stores.target_url, "-o", "json"
    )
    assert code == 0
    summary = json.loads(out)
    assert {k: summary[k] for k in ("directory", "source", "users", "groups", "dryRun")} == {
        "directory": "acme",
        "source": "acme",
        "users": 2,
        "groups": 2,
        "dryRun": False,
    }
    assert stores.exported(stores.target_url)[1:] == path.read_text().splitlines()[1:]


def test_import_refuses_a_directory_that_is_not_empty_unless_merging(stores: Stores) -> None:
    path = stores.write(stores.exported())
    stores.target.create("acme", "User", {"userName": "carol"})
    code, out, err = stores.import_file(path)
    assert_one_line_error(code, out, err, "directory 'acme' already holds 1 users and 0 groups")
    code, out, _ = stores.import_file(path, "--merge")
    assert code == 0
    assert out.startswith("imported 2 users and 2 groups into 'acme' in ")
    assert stores.counts(stores.target) == (3, 2)
    # Merging the same file again clashes on the first id: refused before any write.
    code, out, err = stores.import_file(path, "--merge")
    assert_one_line_error(code, out, err, "line 2: id ")
    assert "already exists in the target directory" in err


def mutate(lines: list[str], number: int, change: dict[str, object] | str) -> list[str]:
    """``lines`` with line ``number`` (1-based) changed or replaced."""
    if isinstance(change, str):
        text = change
    else:
        doc = json.loads(lines[number - 1])
        doc.update(change)
        text = json.dumps(doc)
    return [*lines[: number - 1], text, *lines[number:]]


BAD_FILES = {
    "bad-json": (lambda ls: mutate(ls, 3, '{"schemas": ['), "line 3: the line is not valid JSON"),
    "unknown-schema": (
        lambda ls: mutate(
            ls, 2, {"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User", "urn:example:x"]}
        ),
        "line 2: unknown schema 'urn:example:x' for a User",
    ),
    "duplicate-id": (
        lambda ls: mutate(ls, 3, {"id": json.loads(ls[1])["id"]}),
        "line 3: duplicate id",
    ),
    "duplicate-userName": (
        lambda ls: mutate(ls, 3, {"userName": "ALICE"}),
        "line 3: duplicate userName 'ALICE'",
    ),
    "unknown-attribute": (
        lambda ls: mutate(ls, 2, {"shoeSize": 42}),
        "line 2: attribute 'shoeSize' is not in",
    ),
    "missing-meta": (lambda ls: mutate(ls, 2, {"meta": None}), "line 2: resource"),
    "unknown-member": (
        lambda ls: mutate(ls, 4, {"members": [{"value": "0000dead-0000-0000-0000-000000000000"}]}),
        "line 4: member '0000dead-0000-0000-0000-000000000000' is neither in the file nor in the target",
    ),
    "member-of-wrong-type": (
        lambda ls: mutate(ls, 4, {"members": [{"value": json.loads(ls[1])["id"], "type": "Group"}]}),
        "is a User, not a Group",
    ),
    "truncated": (lambda ls: ls[:-1], "the header announces 2 users and 2 groups, the file holds 2 and 1"),
    "no-header": (lambda ls: ls[1:], "line 1: not a kubescim export"),
    "future-version": (
        lambda ls: mutate(ls, 1, {"version": 2}),
        "line 1: export format version 2 is not supported",
    ),
    "empty": (lambda ls: [], "line 1: the input is empty"),
}


def test_a_byte_that_is_not_utf8_is_refused_with_its_line(stores: Stores) -> None:
    path = stores.tmp_path / "latin1.ndjson"
    path.write_bytes("\n".join(stores.exported()).encode().replace(b'"bob"', b'"b\xf6b"') + b"\n")
    code, out, err = stores.import_file(str(path))
    assert_one_line_error(code, out, err, "line 3: the line is not valid UTF-8")
    assert stores.counts(stores.target) == (0, 0)


@pytest.mark.parametrize("name", BAD_FILES)
def test_a_bad_file_is_refused_with_its_line_and_nothing_is_written(name: str, stores: Stores) -> None:
    edit, expected = BAD_FILES[name]
    code, out, err = stores.import_file(stores.write(edit(stores.exported())))
    assert_one_line_error(code, out, err, expected)
    assert stores.counts(stores.target) == (0, 0)


def test_dry_run_checks_everything_and_writes_nothing(stores: Stores) -> None:
    code, out, _ = stores.import_file(stores.write(stores.exported()), "--dry-run")
    assert (code, out) == (0, "would import 2 users and 2 groups into 'acme'\n")
    assert stores.counts(stores.target) == (0, 0)


def test_a_batch_the_store_refuses_is_undone_and_named(stores: Stores) -> None:
    """An export imported into another directory of the same database: its ids are taken."""
    path = stores.write(stores.exported())
    code, out, err = stores.run(
        "directories", "import", "copy", "-f", path, "--database-url", stores.source_url
    )
    assert_one_line_error(code, out, err, "a resource with this id already exists")
    assert "ids are unique across a database" in err
    assert stores.counts(stores.source, "copy") == (0, 0)


def test_groups_refused_after_users_were_written_leave_nothing_behind(stores: Stores) -> None:
    lines = stores.exported()
    # The group's id is taken by a group of another directory in the target database.
    stores.target.restore_many("elsewhere", "Group", [{**json.loads(lines[3]), "members": []}])
    code, out, err = stores.import_file(stores.write(lines))
    assert_one_line_error(code, out, err, "the store refused groups")
    assert stores.counts(stores.target) == (0, 0)
    assert stores.counts(stores.target, "elsewhere") == (0, 1)


def test_long_imports_report_progress_on_stderr(stores: Stores, monkeypatch: pytest.MonkeyPatch) -> None:
    stores.source.delete_directory("acme")
    for i in range(2500):
        stores.source.create("acme", "User", {"userName": f"u{i}"})
    path = str(stores.tmp_path / "big.ndjson")
    stores.run("directories", "export", "acme", "-f", path, "--database-url", stores.source_url)
    monkeypatch.setattr(streams.Progress, "every", 1000)
    code, out, err = stores.import_file(path)
    assert code == 0
    assert [line.split(" (")[0] for line in err.splitlines()] == [
        "imported 1000/2500 resources",
        "imported 2000/2500 resources",
    ]
    assert out.startswith("imported 2500 users and 0 groups")


def test_a_file_that_cannot_be_read_is_a_one_line_error(stores: Stores) -> None:
    code, out, err = stores.import_file(str(stores.tmp_path / "missing.ndjson"))
    assert_one_line_error(code, out, err, "missing.ndjson: No such file or directory")


def test_an_export_that_cannot_be_written_is_a_one_line_error(stores: Stores) -> None:
    path = str(stores.tmp_path / "no-such-dir" / "acme.ndjson")
    code, out, err = stores.run(
        "directories", "export", "acme", "-f", path, "--database-url", stores.source_url
    )
    assert_one_line_error(code, out, err, "No such file or directory")


class WrittenMeanwhile:
    """A store that another writer changes after the export has read the counts."""

    def __init__(self, store: Storage) -> None:
        self.store = store

    def __getattr__(self, name: str) -> object:
        return getattr(self.store, name)

    def stats(self, directory: str) -> object:
        stats = self.store.stats(directory)
        self.store.create(directory, "User", {"userName": f"latecomer-{uuid.uuid4()}"})
        return stats


def test_an_export_that_saw_the_directory_change_fails_and_leaves_no_file(stores: Stores) -> None:
    out = io.StringIO()
    with pytest.raises(TransferError, match="directory 'acme' changed while it was exported"):
        export_directory(WrittenMeanwhile(stores.source), "acme", out.write, generator="test")  # type: ignore[arg-type]
    path = stores.tmp_path / "acme.ndjson"
    with pytest.raises(TransferError), atomic_file(path) as f:
        export_directory(WrittenMeanwhile(stores.source), "acme", f.write, generator="test")  # type: ignore[arg-type]
    assert list(stores.tmp_path.glob("*acme.ndjson*")) == []
