"""The command line's side of an export or import: UTF-8 streams, an atomic output file,
progress lines. Errors are ``OSError``s, for the CLI to report in one line."""

from __future__ import annotations

import io
import os
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO


def stdout_utf8() -> Callable[[str], object]:
    """Write text to stdout as UTF-8 whatever the locale (an export holds any name)."""
    buffer = getattr(sys.stdout, "buffer", None)
    if buffer is None:
        return sys.stdout.write
    sys.stdout.flush()
    return lambda text: buffer.write(text.encode("utf-8"))


@contextmanager
def input_lines(filename: str | None) -> Iterator[Iterator[str]]:
    """The lines of FILE, or of stdin for ``-`` or None, read as UTF-8 whatever the
    locale; a byte that is not UTF-8 reaches the line's check (a line error, not a
    traceback). Raises OSError when the file cannot be read."""
    if filename not in (None, "-"):
        with open(str(filename), encoding="utf-8", errors="surrogateescape") as f:
            yield iter(f)
        return
    buffer = getattr(sys.stdin, "buffer", None)
    if buffer is None:
        yield iter(sys.stdin)
        return
    wrapper = io.TextIOWrapper(buffer, "utf-8", "surrogateescape")
    try:
        yield iter(wrapper)
    finally:
        wrapper.detach()  # leave sys.stdin's buffer open


@contextmanager
def atomic_file(path: Path) -> Iterator[IO[str]]:
    """A file that appears at ``path`` only once it is completely written. Raises OSError."""
    handle = tempfile.NamedTemporaryFile(  # noqa: SIM115 (renamed or removed below)
        "w", encoding="utf-8", dir=path.parent, prefix=f".{path.name}.", delete=False
    )
    try:
        with handle:
            yield handle
        os.replace(handle.name, path)
    except BaseException:
        os.unlink(handle.name)
        raise


class Progress:
    """A progress line on stderr every ``every`` resources, with the rate so far."""

    every = 10_000

    def __init__(self, total: int, started: float) -> None:
        self.total, self.started, self.reported = total, started, 0

    def __call__(self, done: int) -> None:
        if done - self.reported < self.every or done == self.total:
            return
        self.reported = done
        rate = done / max(time.monotonic() - self.started, 1e-9)
        print(f"imported {done}/{self.total} resources ({rate:,.0f}/s)", file=sys.stderr, flush=True)
