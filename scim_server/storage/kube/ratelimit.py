"""A client-side write-rate limit (token bucket), shared by a process's threads.

Kubernetes' API Priority and Fairness puts a controller's requests in ``workload-low``
and answers 429 when it is overloaded; a SCIM sync burst should queue here first.
"""

from __future__ import annotations

import threading
import time

from ...scim.errors import ServiceUnavailable


class TooManyWrites(ServiceUnavailable):
    """The write queue is longer than a client should wait: retry after ``retry_after`` s."""

    status = 429


class WriteLimiter:
    """At most ``rate`` writes per second on average, bursts of ``burst``.

    A write waits for its turn; one that would wait longer than ``max_wait`` seconds is
    refused with 429 and a ``Retry-After``, so a request never outlives its client.
    """

    def __init__(self, rate: float, burst: int | None = None, max_wait: float = 10.0) -> None:
        if rate <= 0:
            raise ValueError("the write rate must be positive")
        self.rate = rate
        self.burst = float(burst if burst is not None else max(1, int(rate)))
        self.max_wait = max_wait
        self._tokens = self.burst
        self._stamp = time.monotonic()
        self._lock = threading.Lock()

    def acquire(self) -> None:
        """Take one write's token, sleeping until it is due. Raises TooManyWrites."""
        with self._lock:
            now = time.monotonic()
            self._tokens = min(self.burst, self._tokens + (now - self._stamp) * self.rate)
            self._stamp = now
            wait = (1.0 - self._tokens) / self.rate if self._tokens < 1.0 else 0.0
            if wait > self.max_wait:
                raise TooManyWrites(
                    f"more than {self.max_wait:.0f} s of writes are queued (limit {self.rate:g}/s)",
                    retry_after=max(1, round(wait)),
                )
            self._tokens -= 1.0
        if wait > 0:
            time.sleep(wait)
