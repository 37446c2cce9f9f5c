"""A webhook receiver for tests: verifies every delivery with the ``standardwebhooks``
library and the ``Kubescim-Signature`` header, records it, and answers as told."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from standardwebhooks import Webhook

from scim_server.events.signing import verify_signature


@dataclass
class Delivery:
    id: str
    type: str
    directory: str | None
    payload: dict[str, Any]


@dataclass
class Receiver:
    secret: str
    url: str = ""
    deliveries: list[Delivery] = field(default_factory=list)
    attempts: list[str] = field(default_factory=list)  # webhook-id of every request, answered or not
    failures: list[str] = field(default_factory=list)  # verification failures (must stay empty)
    fail_next: int = 0  # answer this many requests with 500
    delay: float = 0.0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def handle(self, body: bytes, headers: dict[str, str]) -> int:
        try:
            payload = Webhook(self.secret).verify(body, headers)
            verify_signature(body, headers["kubescim-signature"], self.secret)
        except Exception as exc:
            with self.lock:
                self.failures.append(f"{type(exc).__name__}: {exc}")
            return 400
        if self.delay:
            time.sleep(self.delay)
        with self.lock:
            self.attempts.append(headers["webhook-id"])
            if self.fail_next > 0:
                self.fail_next -= 1
                return 500
            data = payload["data"]
            directory = data.get("directory_id") or (
                data.get("id") if data.get("object") == "directory" else None
            )
            self.deliveries.append(Delivery(headers["webhook-id"], payload["event"], directory, payload))
        return 200

    def ids(self) -> list[str]:
        with self.lock:
            return [d.id for d in self.deliveries]


@contextmanager
def running_receiver(secret: str) -> Iterator[Receiver]:
    receiver = Receiver(secret)

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            status = receiver.handle(body, {k.lower(): v for k, v in self.headers.items()})
            self.send_response(status)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *_: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    receiver.url = f"http://127.0.0.1:{server.server_address[1]}/hooks"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield receiver
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


def undup(ids: list[str]) -> list[str]:
    """``ids`` without immediate repeats (a redelivery of the event in flight)."""
    return [x for i, x in enumerate(ids) if i == 0 or ids[i - 1] != x]


def as_json(payload: dict[str, Any]) -> str:
    return json.dumps(payload, sort_keys=True)
