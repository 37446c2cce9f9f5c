"""A TCP proxy a test controls, to make network failures happen on demand.

It forwards bytes as they are (TLS passes through, so clients verify the real server's
certificate) between ``127.0.0.1:<port>`` and an upstream address, and can:

- ``freeze()``: stop forwarding on every open connection without closing it, the way a
  half-open connection behaves (the peer's kernel still acknowledges, nothing arrives);
  connections opened afterwards work normally;
- ``kill()``: close every connection and stop accepting new ones, which a client cannot
  tell from a dead server.
"""

from __future__ import annotations

import contextlib
import socket
import threading
from collections.abc import Iterator
from types import TracebackType
from typing import Self


class _Link:
    """One client connection and its upstream connection, pumped by two threads."""

    def __init__(self, downstream: socket.socket, upstream: socket.socket) -> None:
        self.sockets = (downstream, upstream)
        self.flowing = threading.Event()
        self.flowing.set()
        self.closed = False

    def start(self) -> None:
        down, up = self.sockets
        for src, dst in ((down, up), (up, down)):
            threading.Thread(target=self._pump, args=(src, dst), daemon=True).start()

    def freeze(self) -> None:
        self.flowing.clear()

    def close(self) -> None:
        self.closed = True
        self.flowing.set()  # release frozen pumps so their threads end
        for sock in self.sockets:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()

    def _pump(self, src: socket.socket, dst: socket.socket) -> None:
        try:
            while True:
                data = src.recv(65536)
                self.flowing.wait()
                if not data or self.closed:
                    break
                dst.sendall(data)
        except OSError:
            pass
        finally:
            if not self.closed:
                self.close()


class TcpProxy:
    """Forward ``127.0.0.1:<port>`` to ``upstream``; use as a context manager."""

    def __init__(self, upstream_host: str, upstream_port: int) -> None:
        self.upstream = (upstream_host, upstream_port)
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port: int = self._listener.getsockname()[1]
        self._links: list[_Link] = []
        self._lock = threading.Lock()
        self._accepting = True
        self._thread = threading.Thread(target=self._accept, name="tcp-proxy", daemon=True)

    def __enter__(self) -> Self:
        self._thread.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.kill()

    @property
    def connections(self) -> int:
        """Connections currently open through the proxy."""
        with self._lock:
            return sum(not link.closed for link in self._links)

    def freeze(self) -> int:
        """Stop forwarding on every open connection (left open); returns how many."""
        with self._lock:
            links = [link for link in self._links if not link.closed]
        for link in links:
            link.freeze()
        return len(links)

    def kill(self) -> None:
        """Close every connection and refuse new ones."""
        self._accepting = False
        with contextlib.suppress(OSError):
            self._listener.shutdown(socket.SHUT_RDWR)  # wakes a blocked accept() on Linux
        self._listener.close()
        with self._lock:
            links, self._links = self._links, []
        for link in links:
            if not link.closed:
                link.close()
        if self._thread.is_alive():
            self._thread.join(5)

    def _accept(self) -> None:
        for downstream in self._incoming():
            try:
                upstream = socket.create_connection(self.upstream, timeout=5)
            except OSError:
                downstream.close()
                continue
            upstream.settimeout(None)
            link = _Link(downstream, upstream)
            with self._lock:
                self._links = [x for x in self._links if not x.closed] + [link]
            link.start()

    def _incoming(self) -> Iterator[socket.socket]:
        while self._accepting:
            try:
                downstream, _ = self._listener.accept()
            except OSError:
                return
            if not self._accepting:
                downstream.close()
                return
            yield downstream
