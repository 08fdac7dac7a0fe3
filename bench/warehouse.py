"""The lake: sink throughput, freshness, and report speed at scale.

1. N public events (default 2,000,000) on the event topics: `gamevault warehouse sink` (typed columns,
   manifest, fsync) beside a raw aiokafka consumer that writes the same records with pyarrow (zstd,
   no decoding), in the same run;
2. freshness: an event produced -> visible through `gamevault sql` (the sandbox, fresh snapshot), p95;
3. gmv_daily and order_latency over a lake of ~10,000,000 events (written with the lake's own writer,
   generated column-wise), median of 3 runs each.

Run: `python -m bench.warehouse [--events 2000000] [--repeat 3] [--lake-events 10000000] [--reports-only]`.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import orjson
import pyarrow as pa
import pyarrow.parquet as pq

from bench.common import Stopwatch, Table, median, percentile, private_broker, publish
from gamevault.broker.local import LocalKafka
from gamevault.kafka_access import PLATFORM, KafkaAccess
from gamevault.streams.topics import PUBLIC_EVENT_TOPICS


def make_events(n: int) -> list[tuple[str, bytes, bytes]]:
    from tests.support.events import generate

    out, seed = [], 0
    while len(out) < n:
        for topic, key, event in generate(2000, seed=seed):
            out.append((topic, key, orjson.dumps(event)))
        seed += 1
    return out[:n]


async def produce(access: KafkaAccess, events: list[tuple[str, bytes, bytes]]) -> None:
    from aiokafka import AIOKafkaProducer

    producer = AIOKafkaProducer(**access.aiokafka(), acks="all", linger_ms=20, max_batch_size=512 * 1024)
    await producer.start()
    try:
        futures = [await producer.send(topic, value, key=key) for topic, key, value in events]
        await asyncio.gather(*futures)
    finally:
        await producer.stop()


async def raw_consume_and_write(access: KafkaAccess, n: int, out: Path) -> float:
    from aiokafka import AIOKafkaConsumer, TopicPartition

    consumer = AIOKafkaConsumer(**access.aiokafka(), enable_auto_commit=False,
                                max_partition_fetch_bytes=8 * 1024 * 1024)
    await consumer.start()
    tps = [TopicPartition(t.name, p) for t in PUBLIC_EVENT_TOPICS for p in range(t.partitions)]
    consumer.assign(tps)
    await consumer.seek_to_beginning(*tps)
    out.mkdir(parents=True, exist_ok=True)  # noqa: ASYNC240 - once, before the timed loop
    seen, chunk, files = 0, [], 0
    try:
        with Stopwatch() as sw:
            while seen < n:
                for records in (await consumer.getmany(timeout_ms=1000, max_records=50_000)).values():
                    chunk.extend(records)
                    seen += len(records)
                if len(chunk) >= 50_000 or (seen >= n and chunk):
                    table = pa.table({"topic": [r.topic for r in chunk], "partition": [r.partition for r in chunk],
                                      "offset": [r.offset for r in chunk], "key": [r.key for r in chunk],
                                      "value": [r.value for r in chunk]})
                    pq.write_table(table, out / f"raw-{files}.parquet", compression="zstd")
                    files += 1
                    chunk = []
    finally:
        await consumer.stop()
    return n / sw.elapsed


def sink_throughput(broker: LocalKafka, n: int, home: Path) -> float:
    from gamevault.warehouse.lake import Lake

    env = {**os.environ, "GAMEVAULT_HOME": str(home), **broker.client_env()}
    env.pop("GAMEVAULT_KAFKA_BOOTSTRAP", None)
    home.mkdir(parents=True, exist_ok=True)
    lake = Lake(home / "lake")
    with open(home / "sink.log", "ab") as log:
        proc = subprocess.Popen([sys.executable, "-m", "gamevault", "warehouse", "sink"], env=env, stdout=log,
                                stderr=subprocess.STDOUT)
    try:
        start = None
        while True:
            time.sleep(0.2)
            snap = lake.snapshot()
            rows = sum(info["rows"] for info in snap.files.values())
            if rows and start is None:
                start = (time.perf_counter(), rows)
            if rows >= n:
                return (rows - start[1]) / (time.perf_counter() - start[0])
    finally:
        proc.terminate()
        proc.wait(30)


def freshness(broker: LocalKafka, home: Path, samples: int) -> list[float]:
    from kafka import KafkaProducer

    from gamevault.warehouse.sandbox import Sandbox

    env = {**os.environ, "GAMEVAULT_HOME": str(home), **broker.client_env()}
    env.pop("GAMEVAULT_KAFKA_BOOTSTRAP", None)
    with open(home / "sink2.log", "ab") as log:
        proc = subprocess.Popen([sys.executable, "-m", "gamevault", "warehouse", "sink"], env=env, stdout=log,
                                stderr=subprocess.STDOUT)
    producer = KafkaProducer(**broker.access(PLATFORM).kafka_python(), acks="all")
    box = Sandbox(home / "lake")
    lags = []
    try:
        time.sleep(5)
        for _ in range(samples):
            marker = f"fresh-{uuid.uuid4().hex[:10]}"
            now = datetime.now(UTC)
            event = {"specversion": "1.0", "id": marker, "source": "/bench", "type": "gamevault.users.user.registered",
                     "time": now.isoformat().replace("+00:00", "Z"), "subject": marker,
                     "data": {"user_id": marker, "email": f"{marker}@x.test", "display_name": "f", "role": "buyer",
                              "registered_at": now.isoformat().replace("+00:00", "Z")}}
            producer.send("gamevault.users.events", key=marker.encode(), value=orjson.dumps(event)).get(10)
            sent = time.perf_counter()
            while True:
                box.refresh()
                if box.query(f"SELECT count(*) FROM users WHERE user_id = '{marker}'").rows[0][0]:
                    lags.append(time.perf_counter() - sent)
                    break
                time.sleep(0.1)
            time.sleep(np.random.uniform(0.5, 3.0))  # arrivals at random moments of the flush cycle
    finally:
        producer.close()
        proc.terminate()
        proc.wait(30)
    return lags


def big_lake(root: Path, target_events: int, prefix: str = "bo-") -> int:
    """~target_events order, payment and shipment events written with the lake's writer (columns built
    vectorized; the same schema the sink writes), for orders `prefix`0, `prefix`1, ..."""
    from gamevault.warehouse.lake import Lake
    from gamevault.warehouse.schema import arrow_schema

    lake = Lake(root).ensure()
    orders = int(target_events / 8.5) + 1  # ~8.6 events an order (cancellations cut some sagas short)
    rng = np.random.default_rng(7)
    base = datetime(2026, 1, 1, tzinfo=UTC)
    offsets = rng.integers(0, 300 * 86_400, orders)
    placed = np.array([base + timedelta(seconds=int(s)) for s in offsets], dtype="datetime64[us]")
    ids = np.array([f"{prefix}{i}" for i in range(orders)])
    amounts = np.round(rng.uniform(10, 500, orders), 2)
    written = 0

    def write(event_type: str, when: np.ndarray, columns: dict[str, pa.Array], mask: np.ndarray) -> None:
        nonlocal written
        schema = arrow_schema(event_type)
        n = int(mask.sum())
        keep = pa.array(mask)
        columns = {name: array.filter(keep) for name, array in columns.items()}
        ts = pa.array(when[mask], pa.timestamp("us", tz="UTC"))
        base_cols = {"event_id": pa.array([f"{prefix}{event_type}-{i}" for i in range(n)]),
                     "event_type": pa.array([event_type] * n), "event_source": pa.array(["/bench"] * n),
                     "event_subject": pa.array(ids[mask]), "event_time": ts, "kafka_topic": pa.array(["bench"] * n),
                     "kafka_partition": pa.array(np.zeros(n, dtype=np.int32)), "kafka_offset": pa.array(np.arange(n)),
                     "ingested_at": ts, "data": pa.array(["{}"] * n)}
        cols = {f.name: (base_cols.get(f.name) if f.name in base_cols else columns.get(f.name, pa.nulls(n, f.type)))
                for f in schema}
        table = pa.table([cols[f.name].cast(f.type) if not isinstance(cols[f.name], pa.ChunkedArray) else cols[f.name]
                          for f in schema], schema=schema)
        for start in range(0, n, 1_000_000):
            part = table.slice(start, 1_000_000)
            rel = f"events/type={event_type}/date=2026/bench-{uuid.uuid4().hex}.parquet"
            size = lake.write_file(rel, part)
            lake.commit({f"bench+{event_type}": 0}, {rel: {"rows": part.num_rows, "bytes": size}})
        written += n

    everyone = np.ones(orders, dtype=bool)
    write("gamevault.orders.order.placed", placed, {
        "order_id": pa.array(ids), "buyer_id": pa.array(np.char.add("bb-", (np.arange(orders) % 50_000).astype(str))),
        "items": pa.array(['[{"product_id":"p","seller_id":"s","title":"t","quantity":1,'
                           '"unit_price":{"amount":"1.00","currency":"PEN"}}]'] * orders),
        "total_amount": pa.array([f"{a:.2f}" for a in amounts]).cast(pa.decimal128(12, 2)),
        "total_currency": pa.array(["PEN"] * orders), "provider": pa.array(np.array(["paypal", "yape", "plin"])[
            np.arange(orders) % 3]), "placed_at": pa.array(placed, pa.timestamp("us", tz="UTC"))}, everyone)
    t = placed.copy()
    alive = everyone.copy()
    for status, cancel_share in (("stock_reserved", 0.02), ("payment_pending", 0.03), ("paid", 0.05),
                                 ("shipping", 0.0), ("completed", 0.02)):
        t = t + (rng.uniform(0.2, 60, orders) * 1e6).astype("timedelta64[us]")
        write(f"gamevault.orders.order.{status}", t, {"order_id": pa.array(ids), "buyer_id": pa.array(ids),
                                                       "previous_status": pa.array(["x"] * orders),
                                                       "at": pa.array(t, pa.timestamp("us", tz="UTC"))}, alive)
        write("gamevault.payments.payment.started" if status == "payment_pending" else
              "gamevault.logistics.shipment.created" if status == "shipping" else "gamevault.payments.payment.captured"
              if status == "paid" else "gamevault.orders.order.cancelled",
              t, {"order_id": pa.array(ids), "at": pa.array(t, pa.timestamp("us", tz="UTC")),
                  "reason": pa.array(["x"] * orders)}, alive if status in ("payment_pending", "shipping", "paid")
              else alive & (rng.random(orders) < cancel_share))
        alive = alive & (rng.random(orders) >= cancel_share)
    return written


REPORTS = ("gmv_daily", "order_latency")


def report_times(root: Path) -> dict[str, float]:
    """Median of 5 runs of each report through a fresh sandbox over the lake's current snapshot."""
    from gamevault.warehouse.reports import REPORTS_SQL
    from gamevault.warehouse.sandbox import Sandbox

    box = Sandbox(root)
    out = {}
    for name in REPORTS:
        runs = []
        for _ in range(5):
            with Stopwatch() as sw:
                box.query(REPORTS_SQL[name])
            runs.append(sw.elapsed)
        out[name] = median(runs)
    return out


def report_tables(lake_events: int) -> Table:
    """The reports with every event folded at query time, then over the rollup compaction keeps: current,
    and with 1% of the events newer than it (as between two compactions)."""
    from gamevault.warehouse.rollups import refresh

    with tempfile.TemporaryDirectory(prefix="gv-bench-biglake-") as big_:
        big = Path(big_)
        written = big_lake(big, lake_events - lake_events // 100)
        folded = report_times(big)
        with Stopwatch() as full:
            refresh(big)
        current = report_times(big)
        written += big_lake(big, lake_events // 100, prefix="bn-")
        newer = report_times(big)
        with Stopwatch() as incremental:
            refresh(big)
    table = Table(f"Lake: reports over {written:,} events", ["report", "every event folded (s)", "rollup (s)",
                                                              "rollup + 1% newer events (s)"])
    for name in REPORTS:
        table.add(name, folded[name], current[name], newer[name])
    table.notes.append("Medians of 5 runs through the sandboxed `gamevault sql` connection (2 threads, 2 GB). "
                       "The rollup is the `orders` snapshot folded into one Parquet row per order by "
                       f"compaction (built in {full.elapsed:.1f} s here; refreshing it over the newer 1% took "
                       f"{incremental.elapsed:.1f} s); the view folds in only the events newer than it. "
                       "Goal: under 1 s each.")
    return table


def main(argv: list[str] | None = None) -> list[Table]:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=int, default=2_000_000)
    parser.add_argument("--lake-events", type=int, default=10_000_000)
    parser.add_argument("--samples", type=int, default=40)
    parser.add_argument("--repeat", type=int, default=3, help="sink and raw runs (interleaved; medians)")
    parser.add_argument("--no-record", action="store_true")
    parser.add_argument("--reports-only", action="store_true", help="only the reports over the generated lake")
    args = parser.parse_args(argv)
    tables = [] if args.reports_only else sink_tables(args.events, args.samples, args.repeat)
    tables.append(report_tables(args.lake_events))
    publish(tables, "bench.warehouse", argv, args.no_record)
    return tables


def sink_tables(n: int, samples: int, repeat: int) -> list[Table]:
    with private_broker() as broker, tempfile.TemporaryDirectory(prefix="gv-bench-lake-") as tmp_:
        tmp = Path(tmp_)
        events = make_events(n)
        asyncio.run(produce(broker.access(PLATFORM), events))
        del events
        raws, sinks = [], []
        for run in range(repeat):  # interleaved, each into an empty lake (the sink re-reads from the start)
            raws.append(asyncio.run(raw_consume_and_write(broker.access(PLATFORM), n, tmp / f"raw-{run}")))
            sinks.append(sink_throughput(broker, n, tmp / f"home-{run}"))
        lags = freshness(broker, tmp / f"home-{repeat - 1}", samples)
    raw, sink = median(raws), median(sinks)
    t1 = Table(f"Lake: sink throughput for {n:,} events", ["path", "events/s (median)", "share of raw"])
    t1.add("raw aiokafka consume + pyarrow write (bytes, zstd)", raw, "100%")
    t1.add("gamevault warehouse sink (typed columns, manifest, fsync)", sink, f"{sink / raw:.0%}")
    t1.notes.append(f"Median of {repeat} interleaved runs (raw: {', '.join(f'{r:,.0f}' for r in raws)}; sink: "
                    f"{', '.join(f'{r:,.0f}' for r in sinks)} events/s). Same topics and events in the same run; "
                    "goal: >= 50% of the raw path and >= 50,000 events/s.")
    t2 = Table("Lake: freshness, event produced -> visible in `gamevault sql` (default settings)",
               ["samples", "p50 s", "p95 s", "max s"])
    t2.add(len(lags), percentile(lags, 50), percentile(lags, 95), max(lags))
    t2.notes.append("Default flush: 50,000 rows or 5 s, or 1 s of idleness; arrivals at random moments. "
                    "Goal: p95 < 10 s.")
    return [t1, t2]


if __name__ == "__main__":
    main()
