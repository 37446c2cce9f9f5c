"""Metrics of a real multi-worker gunicorn server add up across its workers."""

from __future__ import annotations

import re
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import requests

from tests.support.live_server import live_server


def test_request_counts_sum_over_workers(tmp_path: Path) -> None:
    """60 requests spread by 8 clients over 2 workers are counted once each, in total."""
    with live_server(f"sqlite:///{tmp_path / 'metrics.db'}", workers=2) as server:
        headers = {"Authorization": server.auth_header}

        def get(_: int) -> int:
            return requests.get(f"{server.endpoint}/Users", headers=headers, timeout=10).status_code

        with ThreadPoolExecutor(8) as pool:
            statuses = list(pool.map(get, range(60)))
        assert statuses == [200] * 60
        pids = {
            requests.get(f"{server.base_url}/metrics", timeout=10).text.count("process_start")
            for _ in range(4)
        }
        text = requests.get(f"{server.base_url}/metrics", timeout=10).text
    line = re.search(
        rf'kubescim_http_requests_total\{{directory="{server.directory}",method="GET",status="200"\}} (\S+)',
        text,
    )
    assert line is not None, text[:2000]
    assert float(line.group(1)) == 60
    count = re.search(
        rf'kubescim_http_request_duration_seconds_count\{{directory="{server.directory}",method="GET",status="200"\}} (\S+)',
        text,
    )
    assert count is not None
    assert float(count.group(1)) == 60
