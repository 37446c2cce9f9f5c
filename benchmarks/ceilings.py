"""The ceilings of this stack: what bare Flask under gunicorn does with PostgreSQL.

Three routes, each the least a SCIM request of its kind can do:

- ``GET /json``: a constant JSON body, no database (the cost of Flask and gunicorn);
- ``GET /select/<id>``: one pooled, indexed SELECT of a stored user, returned as JSON;
- ``POST /insert``: a JSON body read and stored with one single-row INSERT.

Connections are in autocommit, so each database route is exactly one round trip. The
pool is opened once per worker process, on its first request (never in a gunicorn
master, whose pool threads would not survive the fork). Serve it with
``BENCH_CEILING_DATABASE_URL`` set::

    gunicorn -w 2 -b 127.0.0.1:8000 benchmarks.ceilings:app
"""

from __future__ import annotations

import os
import threading
import uuid
from typing import Any

import psycopg
from flask import Flask, abort, request
from psycopg.types.json import Jsonb
from psycopg_pool import ConnectionPool

from benchmarks.payloads import user_body

SCHEMA = """
DROP TABLE IF EXISTS ceiling_users;
CREATE TABLE ceiling_users (
    id uuid PRIMARY KEY,
    user_name text NOT NULL UNIQUE,
    resource jsonb NOT NULL
);
"""


def setup_schema(database_url: str, rows: int) -> list[str]:
    """(Re)create the ceiling table with ``rows`` users and return their ids."""
    ids = [str(uuid.uuid4()) for _ in range(rows)]
    with psycopg.connect(database_url) as conn:
        conn.execute(SCHEMA)
        with conn.cursor() as cur:
            cur.executemany(
                "INSERT INTO ceiling_users (id, user_name, resource) VALUES (%s, %s, %s)",
                [
                    (i, f"ceiling-{n}", Jsonb({**user_body(f"ceiling-{n}"), "id": i}))
                    for n, i in enumerate(ids)
                ],
            )
        conn.execute("ANALYZE ceiling_users")
    return ids


class _PerProcessPool:
    """A connection pool opened on first use in each process."""

    def __init__(self, database_url: str) -> None:
        self._url = database_url
        self._lock = threading.Lock()
        self._pid = 0
        self._pool: ConnectionPool | None = None

    def get(self) -> ConnectionPool:
        if self._pid != os.getpid():
            with self._lock:
                if self._pid != os.getpid():
                    self._pool = ConnectionPool(
                        self._url,
                        min_size=1,
                        max_size=2,
                        kwargs={"autocommit": True},
                        open=True,
                    )
                    self._pid = os.getpid()
        assert self._pool is not None
        return self._pool


def create_app(database_url: str | None = None) -> Flask:
    """Build the ceiling app; the database URL defaults to ``BENCH_CEILING_DATABASE_URL``."""
    app = Flask(__name__)
    pool = _PerProcessPool(database_url or os.environ.get("BENCH_CEILING_DATABASE_URL", ""))

    @app.get("/json")
    def bare_json() -> dict[str, Any]:
        return {"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "id": "ceiling"}

    @app.get("/select/<resource_id>")
    def select(resource_id: str) -> dict[str, Any]:
        with pool.get().connection() as conn:
            row = conn.execute("SELECT resource FROM ceiling_users WHERE id = %s", (resource_id,)).fetchone()
        if row is None:
            abort(404)
        resource: dict[str, Any] = row[0]
        return resource

    @app.post("/insert")
    def insert() -> tuple[dict[str, Any], int]:
        body = request.get_json(force=True)
        resource = {**body, "id": str(uuid.uuid4())}
        with pool.get().connection() as conn:
            conn.execute(
                "INSERT INTO ceiling_users (id, user_name, resource) VALUES (%s, %s, %s)",
                (resource["id"], body["userName"], Jsonb(resource)),
            )
        return resource, 201

    return app


app = create_app()
