"""The rating stream table: aggregation throughput, and the lag from an approval to the product page.

1. N review events (approvals, edits, retractions over many products) on gamevault.reviews.events, read by:
   a raw aiokafka consumer (bytes only), the same consumer doing the same aggregation in memory
   (decode + apply, no changelog), a raw kafka-python consumer, a bare Faust agent that only counts, and
   GameVault's rating agent (a worker running only it: batches, the Faust table, its changelog).
2. Through the REST API: an admin approves a review -> its product's rating shows the new count:
   p50/p95/p99.

Run: `python -m bench.ratings [--events 1000000] [--samples 100]`.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import re
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import httpx
import orjson

from bench.common import Stopwatch, Table, median, percentile, private_broker, publish
from bench.levers import gamevault_argv
from gamevault.broker.local import LocalKafka, free_port
from gamevault.domain import ratings
from gamevault.kafka_access import PLATFORM, KafkaAccess

TOPIC = "gamevault.reviews.events"


def events(n: int, products: int = 20_000, seed: int = 5) -> list[tuple[bytes, bytes]]:
    rng = random.Random(seed)
    out, reviews, versions = [], [], {}
    for i in range(n):
        roll = rng.random()
        if reviews and roll < 0.1:  # a retraction
            pid, rid = reviews[rng.randrange(len(reviews))]
            kind, stars = ratings.RETRACTED, None
        elif reviews and roll < 0.2:  # an approved edit: new stars
            pid, rid = reviews[rng.randrange(len(reviews))]
            kind, stars = ratings.APPROVED, rng.randint(1, 5)
        else:
            pid, rid = f"bp-{int(rng.paretovariate(1.2)) % products}", f"br-{i}"
            reviews.append((pid, rid))
            kind, stars = ratings.APPROVED, rng.randint(1, 5)
        versions[rid] = versions.get(rid, 0) + 1
        data = {"review_id": rid, "product_id": pid, "buyer_id": f"bb-{i % 5000}", "review_version": versions[rid],
                "at": "2026-11-28T00:00:00Z"}
        if stars:
            data.update(rating=stars, moderator="auto")
        doc = {"specversion": "1.0", "id": f"be-{i}", "source": "/gamevault/reviews", "type": kind,
               "time": "2026-11-28T00:00:00Z", "subject": rid, "datacontenttype": "application/json", "data": data}
        out.append((pid.encode(), orjson.dumps(doc)))
    return out


async def produce(access: KafkaAccess, records: list[tuple[bytes, bytes]]) -> None:
    from aiokafka import AIOKafkaProducer

    producer = AIOKafkaProducer(**access.aiokafka(), acks="all", linger_ms=20, max_batch_size=512 * 1024)
    await producer.start()
    try:
        futures = [await producer.send(TOPIC, value, key=key) for key, value in records]
        await asyncio.gather(*futures)
    finally:
        await producer.stop()


async def aiokafka_read(access: KafkaAccess, n: int, aggregate: bool) -> float:
    from aiokafka import AIOKafkaConsumer, TopicPartition

    consumer = AIOKafkaConsumer(**access.aiokafka(), enable_auto_commit=False,
                                max_partition_fetch_bytes=8 * 1024 * 1024)
    await consumer.start()
    tps = [TopicPartition(TOPIC, p) for p in range(8)]
    consumer.assign(tps)
    await consumer.seek_to_beginning(*tps)
    table: dict[str, object] = {}
    seen = 0
    try:
        with Stopwatch() as sw:
            while seen < n:
                for records in (await consumer.getmany(timeout_ms=1000, max_records=50_000)).values():
                    seen += len(records)
                    if aggregate:  # the agent's fold, into a plain dict
                        batch = []
                        for rec in records:
                            doc = orjson.loads(rec.value)
                            data = doc["data"]
                            batch.append((data["product_id"], data["review_id"], doc["type"], data.get("rating"),
                                          data["review_version"], rec.offset))
                        aggregates, votes = ratings.fold(batch, table.get)
                        table.update(aggregates)
                        table.update(votes)
    finally:
        await consumer.stop()
    return n / sw.elapsed


def kafka_python_read(access: KafkaAccess, n: int) -> float:
    from kafka import KafkaConsumer, TopicPartition

    consumer = KafkaConsumer(**access.kafka_python(), enable_auto_commit=False,
                             max_partition_fetch_bytes=8 * 1024 * 1024)
    tps = [TopicPartition(TOPIC, p) for p in range(8)]
    consumer.assign(tps)
    consumer.seek_to_beginning(*tps)
    seen = 0
    with Stopwatch() as sw:
        while seen < n:
            for records in consumer.poll(timeout_ms=1000, max_records=50_000).values():
                seen += len(records)
    consumer.close()
    return n / sw.elapsed


BARE_FAUST = """
import os, time, faust, uvloop, asyncio
from gamevault.agents import faust_patches
from gamevault.kafka_access import KafkaAccess
faust_patches.shorten_fetch_wait()
faust_patches.drain_safely()
N = int(os.environ["N"])
access = KafkaAccess(os.environ["B"], "SASL_PLAINTEXT", "SCRAM-SHA-512", os.environ["KU"], os.environ["KP"])
app = faust.App("bench-bare-" + os.environ["RUN"], **access.faust(), store="memory://",
                datadir=os.environ["DATADIR"],
                web_enabled=False, topic_partitions=8, consumer_auto_offset_reset="earliest")
topic = app.topic("gamevault.reviews.events", key_serializer="raw", value_serializer="raw", partitions=8)
seen = [0, 0.0]
@app.agent(topic)
async def count(stream):
    async for batch in stream.take_events(2000, within=0.05):
        if not seen[0]:
            seen[1] = time.perf_counter() - 0.05
        seen[0] += len(batch)
        if seen[0] >= N:
            open(os.environ["OUT"], "w").write(str(N / (time.perf_counter() - seen[1])))
from faust.worker import Worker
asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())
worker = Worker(app, loglevel="warn", quiet=True, redirect_stdouts=False)
worker.spinner = None
worker.execute_from_commandline()
"""


def bare_faust(access: KafkaAccess, n: int, tmp: Path) -> float:
    out = tmp / f"bare-{uuid.uuid4().hex[:6]}.out"
    run = uuid.uuid4().hex[:6]
    env = {**os.environ, "N": str(n), "B": access.bootstrap,
           "KU": access.username or "", "KP": access.password or "", "OUT": str(out), "RUN": run,
           "DATADIR": str(tmp / f"bare-faust-{run}")}
    proc = subprocess.Popen([sys.executable, "-c", BARE_FAUST], env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    try:
        while not out.exists():
            time.sleep(0.2)
            if proc.poll() is not None:
                raise RuntimeError("bare Faust agent died")
        return float(out.read_text())
    finally:
        proc.terminate()
        proc.wait(30)


def processed(url: str) -> float:
    text = httpx.get(url + "/metrics", timeout=5).text
    match = re.search(r'gamevault_records_processed_total\{agent="ratings",type="batch"\} ([0-9.e+]+)', text)
    return float(match.group(1)) if match else 0.0


def gamevault_agent(broker: LocalKafka, n: int, tmp: Path, flipped: dict[str, bool]) -> float:
    """The rating agent alone in a worker of its own (its own app id: it reads the topic from the start),
    with the levers in `flipped` (bench/levers.py) turned off or on."""
    port, run = free_port(), uuid.uuid4().hex[:6]
    env = {**os.environ, "GAMEVAULT_HOME": str(tmp / f"home-{run}"), **broker.client_env(),
           "GAMEVAULT_AGENTS": "ratings", "GAMEVAULT_API_PORT": str(port), "GAMEVAULT_APP_ID": f"gamevault-{run}"}
    env.pop("GAMEVAULT_KAFKA_BOOTSTRAP", None)
    argv = gamevault_argv("worker", flipped, count_requests=False)
    with open(tmp / "worker.log", "ab") as log:
        proc = subprocess.Popen([sys.executable, *argv], env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        start = None
        while True:
            time.sleep(0.1 if start is None else 0.5)  # each /metrics scrape costs the worker ~5 ms
            try:
                count = processed(url)
            except httpx.HTTPError:
                continue
            if count and start is None:
                start = (time.perf_counter(), count)
            if count >= n:
                return (count - start[1]) / (time.perf_counter() - start[0])
    finally:
        proc.terminate()
        proc.wait(30)


def approval_lag(samples: int, broker: LocalKafka, tmp: Path) -> list[float]:
    """Admin approval (REST) -> the product's rating count moves (REST), through the whole stack."""
    from tests.support.api import ADDRESS, Api
    from tests.support.stack import ADMIN, Stack

    stack = Stack(tmp / "lag", broker)
    stack.env.update(broker.client_env())
    stack.start_simulators()
    stack.start_worker()
    api = Api(stack.url)
    try:
        seller = api.register("seller")
        products = [api.product(seller, stock=10_000)["id"] for _ in range(5)]
        boss = {"Authorization": f"Bearer {api.login(*ADMIN)}"}
        httpx.post(stack.sim_url + "/_sim/config", json={"delay_s": 0})
        lags = []
        while len(lags) < samples:
            buyer = api.register("buyer")
            order = api.http.post("/orders", headers={**buyer.headers, "Idempotency-Key": uuid.uuid4().hex}, json={
                "items": [{"product_id": p, "quantity": 1} for p in products],
                "payment": {"provider": "plin", "phone": "987654321"}, "shipping_address": ADDRESS}).json()
            while api.http.get(f"/orders/{order['id']}", headers=buyer.headers).json()["status"] != "completed":
                time.sleep(0.02)
            for pid in products:
                before = api.http.get(f"/products/{pid}").json()["rating"]["count"]
                rid = api.http.post(f"/products/{pid}/reviews", headers=buyer.headers, json={
                    "rating": 4, "title": "Benchmarked", "body": "Measured, then enjoyed."}).json()["id"]
                t0 = time.perf_counter()
                api.http.post(f"/reviews/{rid}/moderation", json={"decision": "approve"}, headers=boss)
                while api.http.get(f"/products/{pid}").json()["rating"]["count"] == before:
                    time.sleep(0.002)
                lags.append((time.perf_counter() - t0) * 1000)
        return lags[:samples]
    finally:
        api.close()
        stack.stop()


FAUST_VARIANTS = {  # name -> (which reader, the worker's levers, bench/levers.py)
    "bare Faust agent (take_events, counts only), Faust's delivery": ("bare", {}),
    "GameVault rating agent (Faust table + changelog), as shipped: whole fetched batches": ("gamevault", {}),
    "GameVault rating agent, its own Faust stream (take_events; lever 'batches' off)": ("gamevault",
                                                                                       {"batches": False}),
}


def main(argv: list[str] | None = None) -> list[Table]:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--samples", type=int, default=100)
    parser.add_argument("--repeat", type=int, default=2, help="alternated runs of each Faust variant (median)")
    parser.add_argument("--no-record", action="store_true")
    args = parser.parse_args(argv)
    n = args.events
    with private_broker() as broker, tempfile.TemporaryDirectory(prefix="gv-bench-ratings-") as tmp_:
        tmp, access = Path(tmp_), broker.access(PLATFORM)
        data = events(n)
        asyncio.run(produce(access, data))
        del data
        rates = {
            "raw aiokafka consumer (bytes)": asyncio.run(aiokafka_read(access, n, aggregate=False)),
            "raw aiokafka consumer + same aggregation in memory": asyncio.run(aiokafka_read(access, n, True)),
            "raw kafka-python consumer (bytes)": kafka_python_read(access, n),
        }
        variants: dict[str, list[float]] = {name: [] for name in FAUST_VARIANTS}
        for _ in range(args.repeat):  # alternated: the machine's noise falls on every variant alike
            for name, (kind, flipped) in FAUST_VARIANTS.items():
                rate = bare_faust(access, n, tmp) if kind == "bare" else \
                    gamevault_agent(broker, n, tmp, flipped)
                variants[name].append(rate)
        rates.update({name: median(runs) for name, runs in variants.items()})
    # the lag on a broker of its own: a worker there does not first recover a million votes
    with private_broker() as broker, tempfile.TemporaryDirectory(prefix="gv-bench-ratings-") as tmp_:
        lags = approval_lag(args.samples, broker, Path(tmp_))
    reference = rates["raw aiokafka consumer + same aggregation in memory"]
    raw = rates["raw aiokafka consumer (bytes)"]
    t1 = Table(f"Rating stream table: aggregation of {n:,} review events, one worker",
               ["reader", "events/s", "share of raw aiokafka (bytes)", "share of raw aiokafka + aggregation"])
    for name, rate in rates.items():
        t1.add(name, rate, f"{rate / raw:.0%}", f"{rate / reference:.0%}")
    t1.notes.append("All readers consume the same 8-partition topic in the same run. Events: approvals (80%), "
                    "approved edits (10%), retractions (10%) over 20,000 products (Pareto-skewed). Goal: the rating "
                    "agent >= 30,000 events/s per worker (issue 17). Faust variants: median of --repeat alternated "
                    "runs. 'Whole fetched batches': the consumer hands the agent each fetch of its topic "
                    "(agents/batch_routes.py) instead of one event at a time through its stream.")
    t2 = Table("Rating freshness: admin approves a review -> the product's rating shows it (REST to REST)",
               ["samples", "p50 ms", "p95 ms", "p99 ms", "max ms"])
    t2.add(len(lags), percentile(lags, 50), percentile(lags, 95), percentile(lags, 99), max(lags))
    t2.notes.append("Path: moderation command -> CR agent -> ReviewApproved on gamevault.reviews.events -> rating "
                    "agent batch (one fetch) -> ratings changelog -> the worker's replica. Goal: p99 under 500 ms.")
    tables = [t1, t2]
    publish(tables, "bench.ratings", argv, args.no_record)
    return tables


if __name__ == "__main__":
    main()
