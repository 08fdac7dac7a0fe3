"""The physical reference: raw produce and consume through the local broker.

kafka-python and aiokafka, 200 B and 1 KB records, acks=all, one partition per run (no broker-side
parallelism to flatter the numbers). Every later figure in docs/BENCHMARKS.md is compared with
these. Run: `python -m bench.raw_kafka [--messages N] [--repeat R]`.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import uuid

from bench.common import Stopwatch, Table, median, private_broker, publish


def _topic(bootstrap: str) -> str:
    from kafka.admin import KafkaAdminClient, NewTopic

    name = f"bench-raw-{uuid.uuid4().hex[:8]}"
    admin = KafkaAdminClient(bootstrap_servers=bootstrap)
    admin.create_topics([NewTopic(name, 1, 1)])
    admin.close()
    return name


def kafka_python_produce(bootstrap: str, topic: str, payload: bytes, n: int) -> float:
    from kafka import KafkaProducer

    producer = KafkaProducer(bootstrap_servers=bootstrap, acks="all", linger_ms=5, batch_size=256 * 1024,
                             max_in_flight_requests_per_connection=5)
    with Stopwatch() as sw:
        for _ in range(n):
            producer.send(topic, payload)
        producer.flush()
    producer.close()
    return sw.elapsed


def kafka_python_consume(bootstrap: str, topic: str, n: int) -> float:
    from kafka import KafkaConsumer, TopicPartition

    consumer = KafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False,
                             max_partition_fetch_bytes=8 * 1024 * 1024, fetch_max_bytes=64 * 1024 * 1024)
    tp = TopicPartition(topic, 0)
    consumer.assign([tp])
    consumer.seek_to_beginning(tp)
    seen = 0
    with Stopwatch() as sw:
        while seen < n:
            for records in consumer.poll(timeout_ms=1000, max_records=100_000).values():
                seen += len(records)
    consumer.close()
    return sw.elapsed


async def aiokafka_produce(bootstrap: str, topic: str, payload: bytes, n: int) -> float:
    from aiokafka import AIOKafkaProducer

    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", linger_ms=5, max_batch_size=256 * 1024)
    await producer.start()
    try:
        with Stopwatch() as sw:
            futures = [await producer.send(topic, payload) for _ in range(n)]
            await asyncio.gather(*futures)
    finally:
        await producer.stop()
    return sw.elapsed


async def aiokafka_consume(bootstrap: str, topic: str, n: int) -> float:
    from aiokafka import AIOKafkaConsumer, TopicPartition

    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False,
                                max_partition_fetch_bytes=8 * 1024 * 1024, fetch_max_bytes=64 * 1024 * 1024)
    await consumer.start()
    tp = TopicPartition(topic, 0)
    consumer.assign([tp])
    await consumer.seek_to_beginning(tp)
    seen = 0
    try:
        with Stopwatch() as sw:
            while seen < n:
                for records in (await consumer.getmany(timeout_ms=1000, max_records=100_000)).values():
                    seen += len(records)
    finally:
        await consumer.stop()
    return sw.elapsed


def measure(bootstrap: str, size: int, n: int, repeat: int) -> dict[str, float]:
    """Median seconds per (client, direction) for n records of `size` bytes."""
    payload = os.urandom(size)
    runs: dict[str, list[float]] = {}
    for _ in range(repeat):
        t1 = _topic(bootstrap)
        runs.setdefault("kafka-python produce", []).append(kafka_python_produce(bootstrap, t1, payload, n))
        runs.setdefault("kafka-python consume", []).append(kafka_python_consume(bootstrap, t1, n))
        t2 = _topic(bootstrap)
        runs.setdefault("aiokafka produce", []).append(asyncio.run(aiokafka_produce(bootstrap, t2, payload, n)))
        runs.setdefault("aiokafka consume", []).append(asyncio.run(aiokafka_consume(bootstrap, t2, n)))
    return {name: median(times) for name, times in runs.items()}


def main(argv: list[str] | None = None) -> list[Table]:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--messages", type=int, default=200_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--no-record", action="store_true", help="print only; do not append to BENCHMARKS.md")
    args = parser.parse_args(argv)
    table = Table("Raw Kafka reference: produce and consume through the local broker",
                  ["client", "direction", "record size", "messages", "msg/s (median)", "MB/s"])
    with private_broker() as bootstrap:
        for size in (200, 1024):
            n = args.messages if size == 200 else args.messages // 2
            for name, seconds in measure(bootstrap, size, n, args.repeat).items():
                client, direction = name.rsplit(" ", 1)
                rate = n / seconds
                table.add(client, direction, f"{size} B", n, rate, rate * size / 1e6)
    table.notes.append(f"Median of {args.repeat} runs; one partition, acks=all, linger 5 ms; the broker is the "
                       "project's own Kafka 4.4.0 (KRaft) on the same 2-core machine as the client.")
    tables = [table]
    publish(tables, "bench.raw_kafka", argv, args.no_record)
    return tables


if __name__ == "__main__":
    main()
