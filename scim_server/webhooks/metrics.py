"""The webhook worker's Prometheus metrics (its own process, its own registry)."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

DELIVERIES = Counter("kubescim_webhook_deliveries_total", "Webhook delivery attempts", ["endpoint", "result"])
DEAD_LETTERS = Counter("kubescim_webhook_dead_letters_total", "Events given up on", ["endpoint"])
BACKLOG = Gauge("kubescim_webhook_backlog", "Events not yet delivered", ["endpoint"])
OLDEST_PENDING = Gauge(
    "kubescim_webhook_oldest_pending_seconds", "Age of the oldest event not yet delivered", ["endpoint"]
)
LAST_SUCCESS = Gauge(
    "kubescim_webhook_last_success_timestamp_seconds", "When a delivery last succeeded", ["endpoint"]
)
LAG = Histogram(
    "kubescim_webhook_delivery_lag_seconds",
    "From the change to its successful delivery",
    ["endpoint"],
    buckets=(0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 3600),
)
