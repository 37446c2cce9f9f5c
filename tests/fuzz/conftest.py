"""The fuzz tier: the Flask app on each backend, a Hypothesis budget, and request counts.

The budget is fixed for the normal test run (``KUBESCIM_FUZZ_EXAMPLES``, default 150
examples per property and backend, derandomized so a run is reproducible). Run it
longer with, for example::

    KUBESCIM_FUZZ_EXAMPLES=2500 .venv/bin/pytest tests/fuzz -p no:cacheprovider

A longer run is randomized (a new seed each time; ``--hypothesis-seed=N`` repeats one).
The summary at the end of the run counts the requests sent per backend and status class;
``KUBESCIM_FUZZ_REPORT=<file>`` also writes the counts as JSON.
"""

from __future__ import annotations

import json
import os
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from _pytest.terminal import TerminalReporter
from flask import Flask
from hypothesis import HealthCheck, settings

from scim_server.app import create_app
from scim_server.config import Settings
from scim_server.storage import Storage
from scim_server.tokens.local import LocalTokenRegistry
from tests.api.conftest import ScimClient

DEFAULT_EXAMPLES = 150
EXAMPLES = int(os.environ.get("KUBESCIM_FUZZ_EXAMPLES", DEFAULT_EXAMPLES))
settings.register_profile(
    "kubescim-fuzz",
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=EXAMPLES <= DEFAULT_EXAMPLES,
    database=None,
    print_blob=True,
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
        HealthCheck.filter_too_much,
    ],
)

#: (backend, status class) -> requests sent, for the end-of-run summary.
COUNTS: Counter[tuple[str, str]] = Counter()


@pytest.fixture
def fuzz_settings(tmp_path: Path) -> Settings:
    return Settings(state_dir=tmp_path / "state", access_log=False)


@pytest.fixture
def fuzz_app(fuzz_settings: Settings, storage: Storage) -> Flask:
    return create_app(fuzz_settings, storage=storage, tokens=LocalTokenRegistry(fuzz_settings.state_dir))


@pytest.fixture
def fuzz_client(fuzz_app: Flask, fuzz_settings: Settings, directory: str) -> ScimClient:
    tokens = fuzz_app.extensions["kubescim"].tokens
    return ScimClient(fuzz_app.test_client(), directory, tokens.issue(directory))


def record(backend: str, status: int) -> None:
    COUNTS[(backend, f"{status // 100}xx")] += 1


def pytest_terminal_summary(terminalreporter: TerminalReporter) -> None:
    if not COUNTS:
        return
    by_backend: dict[str, dict[str, int]] = {}
    for (backend, status_class), n in sorted(COUNTS.items()):
        by_backend.setdefault(backend, {})[status_class] = n
    terminalreporter.section("fuzz requests")
    for backend, classes in by_backend.items():
        total = sum(classes.values())
        detail = ", ".join(f"{k}: {v}" for k, v in sorted(classes.items()))
        terminalreporter.write_line(f"{backend}: {total} requests ({detail})")
    report = os.environ.get("KUBESCIM_FUZZ_REPORT")
    if report:
        payload: dict[str, Any] = {"examples_per_property": EXAMPLES, "requests": by_backend}
        Path(report).write_text(json.dumps(payload, indent=2) + "\n")
