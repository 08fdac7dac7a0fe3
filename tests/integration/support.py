"""Helpers for integration tests that read Kafka directly."""

from __future__ import annotations

import time
from collections.abc import Callable

from kafka import KafkaConsumer, KafkaProducer, TopicPartition

from gamevault.kafka_access import KafkaAccess


def producer(access: KafkaAccess) -> KafkaProducer:
    return KafkaProducer(**access.kafka_python(), acks="all")


def read_topic(access: KafkaAccess, topic: str, until: Callable[[list], bool], timeout: float = 30.0) -> list:
    """Every record of `topic` from the beginning, re-read until `until(records)` or the timeout."""
    consumer = KafkaConsumer(**access.kafka_python(), enable_auto_commit=False, consumer_timeout_ms=500)
    partitions = consumer.partitions_for_topic(topic) or set()
    tps = [TopicPartition(topic, p) for p in partitions]
    consumer.assign(tps)
    consumer.seek_to_beginning(*tps)
    records: list = []
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            for batch in consumer.poll(timeout_ms=300).values():
                records.extend(batch)
            if until(records):
                break
        return records
    finally:
        consumer.close()


def headers_of(record) -> dict[str, str]:
    return {k: v.decode() for k, v in record.headers}


def wait_for(predicate: Callable[[], object], timeout: float = 20.0, interval: float = 0.1) -> object:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"condition not met within {timeout}s")
