"""Metrics of a real multi-worker gunicorn server add up across its workers."""

from __future__ import annotations

import re
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import requests

from tests.support.live_server import live_server


def sample(text: str, metric: str, directory: str) -> float | None:
    labels = f'directory="{directory}",method="GET",status="200"'
    match = re.search(rf"^{metric}\{{{re.escape(labels)}\}} (\S+)$", text, re.MULTILINE)
    return float(match.group(1)) if match else None


def test_request_counts_sum_over_workers(tmp_path: Path) -> None:
    """60 requests spread by 8 clients over 2 workers are counted once each, in total."""
    with live_server(f"sqlite:///{tmp_path / 'metrics.db'}", workers=2) as server:
        headers = {"Authorization": server.auth_header}

        def get(_: int) -> int:
            return requests.get(f"{server.endpoint}/Users", headers=headers, timeout=10).status_code

        with ThreadPoolExecutor(8) as pool:
            statuses = list(pool.map(get, range(60)))
        text = requests.get(f"{server.base_url}/metrics", timeout=10).text
    assert statuses == [200] * 60
    assert sample(text, "kubescim_http_requests_total", server.directory) == 60
    assert sample(text, "kubescim_http_request_duration_seconds_count", server.directory) == 60
