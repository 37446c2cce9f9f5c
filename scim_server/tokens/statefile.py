"""Local state files (tokens.json, organizations.json): read-modify-write under a lock,
replaced atomically, readable by the owner only."""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any


@contextlib.contextmanager
def locked_update(path: Path, key: str, read: Callable[[], dict[str, Any]]) -> Iterator[dict[str, Any]]:
    """Yield ``read()`` under an exclusive lock; write it back as ``{key: state}`` after."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    with open(path.with_suffix(".lock"), "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        state = read()
        yield state
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.stem}-")
        with os.fdopen(fd, "w") as f:
            json.dump({key: state}, f, indent=2, sort_keys=True)
        os.chmod(tmp, 0o600)
        os.replace(tmp, path)
