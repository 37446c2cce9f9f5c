"""Logs: structured, with request id and directory, and never a token."""

from __future__ import annotations

import io
import json
import logging
from pathlib import Path

from scim_server import logs
from scim_server.app import create_app
from scim_server.config import Settings
from scim_server.storage import Storage
from scim_server.tokens.local import LocalTokenRegistry


def test_json_access_log_has_context_and_no_secret(tmp_path: Path, storage: Storage, directory: str) -> None:
    settings = Settings(state_dir=tmp_path, log_format="json", access_log=True)
    tokens = LocalTokenRegistry(tmp_path)
    token = tokens.issue(directory)
    app = create_app(settings, storage=storage, tokens=tokens)
    stream = io.StringIO()
    logging.getLogger("kubescim").handlers[0].setStream(stream)  # type: ignore[attr-defined]
    client = app.test_client()
    client.post(
        f"/scim/v2/{directory}/Users",
        json={"userName": "x"},
        headers={"Authorization": f"Bearer {token}", "X-Request-Id": "req-1"},
        content_type="application/scim+json",
    )
    client.get(f"/scim/v2/{directory}/Users", headers={"Authorization": "Bearer guessed-token"})
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    assert lines[0]["request_id"] == "req-1"
    assert lines[0]["directory"] == directory
    assert (lines[0]["method"], lines[0]["status"]) == ("POST", 201)
    assert lines[1]["status"] == 401
    text = stream.getvalue()
    assert token not in text
    assert "guessed-token" not in text


def test_text_formatter_appends_context() -> None:
    record = logging.LogRecord("kubescim.http", logging.INFO, "", 0, "request", None, None)
    record.directory = "acme"
    assert logs.TextFormatter("%(message)s").format(record) == "request directory=acme"
