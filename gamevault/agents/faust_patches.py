"""A measured cost in Faust's consumer, removed where Faust offers no setting for it.

It patches one method of faust-streaming (pinned in pyproject.toml with aiokafka); it is idempotent and
keeps Faust's behaviour, only its latency changes. (bench/faust_delivery.py holds a second one that was
measured and dropped: it broke the effectively-once kill test.)
"""

from __future__ import annotations

from typing import Any

FETCH_MAX_WAIT_MS = 50


def shorten_fetch_wait(wait_ms: int = FETCH_MAX_WAIT_MS) -> None:
    """Faust hard-codes its consumer's fetch_max_wait_ms to 1500 (no setting).

    aiokafka keeps one fetch in flight per broker and leaves partitions that still hold buffered
    records out of it; a record arriving on such a partition then waits for the in-flight long poll
    to expire. Measured under load: 0.6-1.7 s per saga hop with 1500 ms, tens of ms with 50 ms.
    An idle worker pays for it with ~20 small fetches a second.
    """
    from faust.transport.drivers import aiokafka as driver

    original = driver.AIOKafkaConsumerThread._create_worker_consumer
    if getattr(original, "gamevault_patched", False):
        return

    def create(self: Any, transport: Any) -> Any:
        consumer = original(self, transport)
        consumer._fetch_max_wait_ms = wait_ms  # read by consumer.start() when it builds its Fetcher
        return consumer

    create.gamevault_patched = True  # type: ignore[attr-defined]
    driver.AIOKafkaConsumerThread._create_worker_consumer = create
