"""The operator's time counters: summed per bucket, logged as one line, read back."""

from __future__ import annotations

from scim_operator.timing import Bucket, Timings, parse_summary


def test_the_summary_line_reads_back_as_the_buckets_it_summed() -> None:
    timings = Timings()
    timings.add("api_write", 0.25)
    timings.add("api_write", 0.5)
    timings.add("waiting", 1.0)
    with timings.timed("working"):
        pass
    log = f"[2026-12-01 05:00:00] kubescim.operator [INFO] {timings.summary()}\nlater line\n"
    found = parse_summary(log)
    assert found["api_write"] == Bucket(2, 0.75)
    assert found["waiting"] == Bucket(1, 1.0)
    assert found["working"].count == 1


def test_a_log_without_a_summary_gives_no_buckets() -> None:
    assert parse_summary("the operator was killed\n") == {}
