"""The physical reference: raw produce and consume through the local broker, and what its locks cost.

kafka-python and aiokafka, 200 B and 1 KB records, acks=all, one partition per run (no broker-side
parallelism to flatter the numbers). Every later figure in docs/BENCHMARKS.md is compared with these.

The same runs go through each of the broker's listeners, alternated within every repeat: PLAINTEXT (an
extra, benchmark-only listener), SASL_PLAINTEXT with SCRAM (what GameVault uses locally), SASL_SSL and
mTLS. Besides msg/s, the CPU each message costs the client process and the broker JVM (from /proc) is
reported: steadier than wall time on a shared machine. Run:
`python -m bench.raw_kafka [--messages N] [--repeat R] [--protocols ...]`.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import uuid
from collections.abc import Callable

from bench.common import BROKER_PIDS, Stopwatch, Table, cpu_seconds, median, private_broker, publish
from gamevault.kafka_access import PLATFORM, KafkaAccess

PROTOCOLS = ("PLAINTEXT", "SASL_PLAINTEXT", "SASL_SSL", "SSL")


def _topic(access: KafkaAccess) -> str:
    from kafka.admin import KafkaAdminClient, NewTopic

    name = f"bench-raw-{uuid.uuid4().hex[:8]}"
    admin = KafkaAdminClient(**access.kafka_python())
    admin.create_topics([NewTopic(name, 1, 1)])
    admin.close()
    return name


def kafka_python_produce(access: KafkaAccess, topic: str, payload: bytes, n: int) -> float:
    from kafka import KafkaProducer

    producer = KafkaProducer(**access.kafka_python(), acks="all", linger_ms=5, batch_size=256 * 1024,
                             max_in_flight_requests_per_connection=5)
    with Stopwatch() as sw:
        for _ in range(n):
            producer.send(topic, payload)
        producer.flush()
    producer.close()
    return sw.elapsed


def kafka_python_consume(access: KafkaAccess, topic: str, n: int) -> float:
    from kafka import KafkaConsumer, TopicPartition

    consumer = KafkaConsumer(**access.kafka_python(), enable_auto_commit=False,
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


async def aiokafka_produce(access: KafkaAccess, topic: str, payload: bytes, n: int) -> float:
    from aiokafka import AIOKafkaProducer

    producer = AIOKafkaProducer(**access.aiokafka(), acks="all", linger_ms=5, max_batch_size=256 * 1024)
    await producer.start()
    try:
        with Stopwatch() as sw:
            futures = [await producer.send(topic, payload) for _ in range(n)]
            await asyncio.gather(*futures)
    finally:
        await producer.stop()
    return sw.elapsed


async def aiokafka_consume(access: KafkaAccess, topic: str, n: int) -> float:
    from aiokafka import AIOKafkaConsumer, TopicPartition

    consumer = AIOKafkaConsumer(**access.aiokafka(), enable_auto_commit=False,
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


def _timed(run: Callable[[], float], broker_pid: int | None) -> tuple[float, float]:
    """(wall seconds, CPU seconds of this process plus the broker) of one run."""
    before = os.times()
    broker_before = cpu_seconds(broker_pid) if broker_pid else 0.0
    seconds = run()
    after = os.times()
    broker_cpu = (cpu_seconds(broker_pid) - broker_before) if broker_pid else 0.0
    return seconds, (after.user - before.user) + (after.system - before.system) + broker_cpu


def measure(access: KafkaAccess, size: int, n: int, repeat: int) -> dict[str, float]:
    """Median seconds per (client, direction) for n records of `size` bytes."""
    runs: dict[str, list[float]] = {}
    for _ in range(repeat):
        for name, (wall, _) in one_round(access, os.urandom(size), n).items():
            runs.setdefault(name, []).append(wall)
    return {name: median(times) for name, times in runs.items()}


def one_round(access: KafkaAccess, payload: bytes, n: int, pid: int | None = None) -> dict[str, tuple[float, float]]:
    """(wall, CPU) seconds of each client and direction once; `pid`: the broker's, to count its CPU too."""
    t1, t2 = _topic(access), _topic(access)
    return {
        "kafka-python produce": _timed(lambda: kafka_python_produce(access, t1, payload, n), pid),
        "kafka-python consume": _timed(lambda: kafka_python_consume(access, t1, n), pid),
        "aiokafka produce": _timed(lambda: asyncio.run(aiokafka_produce(access, t2, payload, n)), pid),
        "aiokafka consume": _timed(lambda: asyncio.run(aiokafka_consume(access, t2, n)), pid),
    }


def main(argv: list[str] | None = None) -> list[Table]:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--messages", type=int, default=200_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--protocols", nargs="+", default=list(PROTOCOLS), choices=PROTOCOLS)
    parser.add_argument("--no-record", action="store_true", help="print only; do not append to BENCHMARKS.md")
    args = parser.parse_args(argv)
    reference = Table("Raw Kafka reference: produce and consume through the local broker (SASL_PLAINTEXT, SCRAM)",
                      ["client", "direction", "record size", "messages", "msg/s (median)", "MB/s"])
    locks = Table("Raw Kafka reference: what each listener costs, as ratios to PLAINTEXT in the same run",
                  ["client", "direction", "record size", "protocol", "msg/s", "CPU µs/msg (client + broker)",
                   "msg/s vs PLAINTEXT", "CPU vs PLAINTEXT"])
    with private_broker(plaintext=True) as broker:
        pid = BROKER_PIDS[broker.bootstrap]
        access = {p: broker.access(PLATFORM, p) for p in args.protocols if p != "PLAINTEXT"}
        if "PLAINTEXT" in args.protocols:
            access["PLAINTEXT"] = KafkaAccess(f"127.0.0.1:{broker.plaintext_port}")
        for size in (200, 1024):
            n = args.messages if size == 200 else args.messages // 2
            payload = os.urandom(size)
            runs: dict[tuple[str, str], list[tuple[float, float]]] = {}
            for _ in range(args.repeat):  # alternated: every protocol once per repeat
                for protocol in args.protocols:
                    for name, values in one_round(access[protocol], payload, n, pid).items():
                        runs.setdefault((protocol, name), []).append(values)
            medians = {k: (median([w for w, _ in v]), median([c for _, c in v])) for k, v in runs.items()}
            for (protocol, name), (wall, cpu) in medians.items():
                client, direction = name.rsplit(" ", 1)
                rate = n / wall
                if protocol == "SASL_PLAINTEXT":
                    reference.add(client, direction, f"{size} B", n, rate, rate * size / 1e6)
                base = medians.get(("PLAINTEXT", name))
                locks.add(client, direction, f"{size} B", protocol, rate, cpu / n * 1e6,
                          f"{base[0] / wall:.0%}" if base else "-", f"{cpu / base[1]:.0%}" if base else "-")
    reference.notes.append(f"Median of {args.repeat} runs; one partition, acks=all, linger 5 ms; the broker is the "
                           "project's own Kafka 4.4.0 (KRaft, locked: SCRAM-SHA-512 and ACLs) on the same 2-core "
                           "machine as the client.")
    locks.notes.append(f"Median of {args.repeat} runs per protocol, the protocols alternated within each repeat. CPU "
                       "is this process's user+system time plus the broker JVM's over the run. PLAINTEXT is an "
                       "extra listener of this benchmark's broker only (GameVault's brokers have none).")
    tables = [reference, locks]
    publish(tables, "bench.raw_kafka", argv, args.no_record)
    return tables


if __name__ == "__main__":
    main()
