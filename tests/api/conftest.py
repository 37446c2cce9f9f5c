"""Fixtures for the HTTP tier: the Flask app over each storage backend."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from scim_server.app import create_app
from scim_server.config import Settings
from scim_server.storage import Storage
from scim_server.tokens.local import LocalTokenRegistry


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(state_dir=tmp_path / "state", access_log=False)


@pytest.fixture
def tokens(settings: Settings) -> LocalTokenRegistry:
    return LocalTokenRegistry(settings.state_dir)


@pytest.fixture
def app(settings: Settings, storage: Storage, tokens: LocalTokenRegistry) -> Flask:
    return create_app(settings, storage=storage, tokens=tokens)


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


class ScimClient:
    """Requests relative to one directory's base URL, authenticated with its token."""

    def __init__(self, client: FlaskClient, directory: str, token: str) -> None:
        self.client = client
        self.directory = directory
        self.base = f"/scim/v2/{directory}"
        self.token = token

    def _call(self, method: str, path: str, **kw: Any) -> TestResponse:
        headers = {"Authorization": f"Bearer {self.token}", **kw.pop("headers", {})}
        given = {k.lower() for k in headers}
        if "json" in kw and "content_type" not in kw and "content-type" not in given:
            kw["content_type"] = "application/scim+json"
        return self.client.open(self.base + path, method=method, headers=headers, **kw)

    def get(self, path: str, **kw: Any) -> TestResponse:
        return self._call("GET", path, **kw)

    def post(self, path: str, **kw: Any) -> TestResponse:
        return self._call("POST", path, **kw)

    def put(self, path: str, **kw: Any) -> TestResponse:
        return self._call("PUT", path, **kw)

    def patch(self, path: str, **kw: Any) -> TestResponse:
        return self._call("PATCH", path, **kw)

    def delete(self, path: str, **kw: Any) -> TestResponse:
        return self._call("DELETE", path, **kw)


@pytest.fixture
def scim(client: FlaskClient, tokens: LocalTokenRegistry, directory: str) -> ScimClient:
    """A client of a fresh directory with a valid token, on the backend under test."""
    return ScimClient(client, directory, tokens.issue(directory))
