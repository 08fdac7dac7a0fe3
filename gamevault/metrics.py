"""Prometheus metrics of a worker (served at /metrics)."""

from prometheus_client import Counter, Gauge, Histogram

HTTP_REQUESTS = Counter(
    "gamevault_http_requests_total", "HTTP requests answered", ["method", "route", "status"]
)
HTTP_LATENCY = Histogram(
    "gamevault_http_request_seconds", "HTTP request latency", ["method", "route"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
RATE_LIMITED = Counter("gamevault_rate_limited_total", "Requests refused with 429", ["policy"])
EVENTS_PROCESSED = Counter(
    "gamevault_records_processed_total", "Records processed by agents", ["agent", "type"]
)
DEADLETTERS = Counter("gamevault_deadletters_total", "Records sent to the dead-letter topic", ["reason", "topic"])
COMMAND_LATENCY = Histogram(
    "gamevault_command_roundtrip_seconds", "Request/reply round trip of a command through Kafka", ["topic"],
    buckets=(0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
REPLICA_LAG = Gauge("gamevault_replica_lag_records", "Changelog records not yet applied to the read model")
SAGA_TRANSITIONS = Counter("gamevault_saga_transitions_total", "Order saga transitions", ["status"])
WEBHOOKS = Counter("gamevault_webhooks_total", "Gateway webhooks received", ["provider", "outcome"])
CONSUMER_GAPS = Counter(
    "gamevault_consumer_gaps_total", "Gaps in what a Faust consumer delivered: fetched again, or acknowledged",
    ["topic", "outcome"],
)
