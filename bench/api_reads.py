"""Catalog reads over 100,000 products, beside a bare FastAPI endpoint measured in the same run.

1. max throughput (closed loop, same client, same connections): bare endpoint, GET /products/{id},
   GET /products?q=... ; the figure is product GET throughput as a share of the bare endpoint's;
2. latency at a fixed offered load (open loop): p50/p99 of product GET and of search at 200 req/s;
3. freshness: a product update published on the ingress topic -> visible in search, p50/p99.

Run: `python -m bench.api_reads [--products 100000] [--seconds 10] [--repeat 3]`.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import httpx
import orjson

from bench import loadgen
from bench.common import REPO, Table, median, percentile, private_broker, publish
from gamevault.broker.local import LocalKafka, free_port
from gamevault.kafka_access import PLATFORM, KafkaAccess

WORDS = [w for w in (  # noqa: SIM905 (a sentence of words reads better than a list)
    "shadow crystal neon iron silent eternal crimson golden lost frozen savage cosmic hidden wild ancient "
    "electric inca andean pacific stellar quest legends odyssey chronicles frontier kingdom rally tactics "
    "empire dungeon horizon arena saga outpost citadel voyage dragon knight ninja samurai pirate robot alien "
    "zombie wizard hero ranger hunter titan phantom storm thunder blaze frost ember tide echo nova vortex "
    "galaxy planet orbit rocket star moon sun comet nebula quasar pulsar meteor atlas apex zenith summit "
    "canyon river forest desert ocean island jungle tundra valley mountain volcano glacier harbor castle "
    "tower temple ruins vault bastion fortress garden meadow marsh swamp cavern abyss rift portal gate "
    "bridge road path trail journey rise fall dawn dusk night day dream nightmare legacy origins reborn "
    "unleashed forgotten awakening revenge redemption destiny fate honor glory valor courage spirit soul "
    "heart mind blade sword shield arrow bow spear hammer axe staff wand rune sigil crown throne relic"
).split()]
PLATFORMS = ["pc", "ps5", "ps4", "xbox-series", "xbox-one", "switch", "switch-2", "mobile"]
GENRES = ["action", "adventure", "rpg", "strategy", "sports", "racing", "puzzle", "platformer", "shooter",
          "simulation", "horror", "fighting", "roguelike", "indie"]


def start_worker(broker: LocalKafka, home: Path, api_port: int) -> subprocess.Popen:
    env = {**os.environ, "GAMEVAULT_HOME": str(home), **broker.client_env(),
           "GAMEVAULT_RATE_LIMIT_PER_MINUTE": "1000000000"}
    env.pop("GAMEVAULT_KAFKA_BOOTSTRAP", None)
    log = open(home / "worker.log", "ab")  # noqa: SIM115 (the child holds it)
    return subprocess.Popen([sys.executable, "-m", "gamevault", "worker", "--api-port", str(api_port)],
                            env=env, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)


def wait_ready(url: str, timeout: float = 120) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            r = httpx.get(url + "/readyz", timeout=2)
            if r.status_code == 200:
                return r.json()
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    raise RuntimeError(f"{url} not ready")


def product_event(n: int, seller_id: str, rng: random.Random) -> tuple[str, bytes]:
    pid = f"bench-{n:06d}"
    title = " ".join(rng.sample(WORDS, 3)) + (" of the " + rng.choice(WORDS) if rng.random() < 0.2 else "")
    data = {"product_id": pid, "seller_id": seller_id, "title": title.title(),
            "description": f"A {rng.choice(GENRES)} game about {' and '.join(rng.sample(WORDS, 2))}.",
            "platform": rng.choice(PLATFORMS), "genres": rng.sample(GENRES, rng.randint(1, 3)),
            "price": {"amount": f"{rng.randint(5, 300)}.{rng.choice(['00', '50', '90'])}", "currency": "PEN"},
            "stock": rng.randint(0, 500)}
    event = {"specversion": "1.0", "id": str(uuid.uuid4()), "source": "/bench/seller-sync",
             "time": "2026-11-28T00:00:00Z", "type": "gamevault.catalog.product.upsert", "data": data}
    return pid, orjson.dumps(event)


async def load_catalog(access: KafkaAccess, seller_id: str, count: int) -> list[str]:
    from aiokafka import AIOKafkaProducer

    rng = random.Random(7)
    producer = AIOKafkaProducer(**access.aiokafka(), acks="all", linger_ms=10)
    await producer.start()
    ids = []
    try:
        futures = []
        for n in range(count):
            pid, value = product_event(n, seller_id, rng)
            ids.append(pid)
            futures.append(await producer.send("gamevault.catalog.commands", value, key=pid.encode()))
        await asyncio.gather(*futures)
    finally:
        await producer.stop()
    return ids


def search_paths(rng: random.Random, n: int = 2000) -> list[str]:
    paths = []
    for _ in range(n):
        roll = rng.random()
        if roll < 0.6:
            q = rng.choice(WORDS)
            paths.append(f"/api/v1/products?q={q}")
        elif roll < 0.8:
            paths.append(f"/api/v1/products?q={rng.choice(WORDS)}+{rng.choice(WORDS)[:3]}")
        elif roll < 0.9:
            paths.append(f"/api/v1/products?q={rng.choice(WORDS)}&platform={rng.choice(PLATFORMS)}&sort=price_asc")
        else:
            paths.append(f"/api/v1/products?genre={rng.choice(GENRES)}&max_price=100&sort=rating_desc")
    return paths


def freshness(access: KafkaAccess, url: str, seller_id: str, samples: int) -> list[float]:
    """ms from the ingress record's broker ack to its new title being found by search."""
    from kafka import KafkaProducer

    producer = KafkaProducer(**access.kafka_python(), acks="all", linger_ms=0)
    rng = random.Random(11)
    lags = []
    with httpx.Client(base_url=url, timeout=5) as http:
        for _ in range(samples):
            token = f"fresh{uuid.uuid4().hex[:10]}"
            pid, value = product_event(rng.randrange(1000), seller_id, rng)
            doc = orjson.loads(value)
            doc["data"]["title"] = f"{token} edition"
            producer.send("gamevault.catalog.commands", orjson.dumps(doc), key=pid.encode()).get(10)
            acked = time.perf_counter()
            while True:
                items = http.get("/api/v1/products", params={"q": token}).json()["items"]
                if items:
                    lags.append((time.perf_counter() - acked) * 1000)
                    break
                if time.perf_counter() - acked > 10:
                    raise RuntimeError("update never became visible")
                time.sleep(0.001)
    producer.close()
    return lags


def main(argv: list[str] | None = None) -> list[Table]:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--products", type=int, default=100_000)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--get-rate", type=float, default=1000.0)
    parser.add_argument("--search-rate", type=float, default=200.0)
    parser.add_argument("--no-record", action="store_true")
    args = parser.parse_args(argv)
    rng = random.Random(3)
    with private_broker() as broker, tempfile.TemporaryDirectory(prefix="gv-bench-api-") as tmp:
        home = Path(tmp)
        api_port, bare_port = free_port(), free_port()
        worker = start_worker(broker, home, api_port)
        bare = subprocess.Popen([sys.executable, "-m", "bench.bare_api", str(bare_port)], cwd=REPO)
        url = f"http://127.0.0.1:{api_port}"
        try:
            wait_ready(url)
            with httpx.Client(base_url=url + "/api/v1", timeout=30) as http:
                http.post("/users", json={"email": "bench-seller@gamevault.test", "password": "bench-pass-1",
                                          "display_name": "Bench", "role": "seller"})
                token = http.post("/auth/token", data={"username": "bench-seller@gamevault.test",
                                                       "password": "bench-pass-1"}).json()["access_token"]
                seller_id = http.get("/users/me", headers={"Authorization": f"Bearer {token}"}).json()["id"]
            t0 = time.perf_counter()
            ids = asyncio.run(load_catalog(broker.access(PLATFORM), seller_id, args.products))
            while wait_ready(url)["read_models"]["products"] < args.products:
                time.sleep(0.5)
            load_s = time.perf_counter() - t0
            print(f"{args.products} products loaded through ingress in {load_s:.1f}s", file=sys.stderr)
            sample = rng.sample(ids, min(5000, len(ids)))
            get_paths = [f"/api/v1/products/{pid}" for pid in sample]
            searches = search_paths(rng)
            bare_paths = [f"/bare/{pid}" for pid in sample]
            targets = {"bare FastAPI endpoint": (bare_port, bare_paths),
                       "GET /products/{id}": (api_port, get_paths),
                       "GET /products?q=...": (api_port, searches)}
            for port, paths in targets.values():  # warm-up
                loadgen.run(loadgen.closed_loop("127.0.0.1", port, paths, 8, 2.0))
            throughput: dict[str, list[float]] = {name: [] for name in targets}
            for _ in range(args.repeat):
                for name, (port, paths) in targets.items():
                    res = loadgen.run(loadgen.closed_loop("127.0.0.1", port, paths, args.connections, args.seconds))
                    assert not res.errors and set(res.statuses) == {200}, (name, res.statuses, res.errors)
                    throughput[name].append(res.rps)
            fixed = {
                "bare FastAPI endpoint": loadgen.run(loadgen.open_loop("127.0.0.1", bare_port, bare_paths,
                                                                       args.get_rate, args.seconds)),
                "GET /products/{id}": loadgen.run(loadgen.open_loop("127.0.0.1", api_port, get_paths,
                                                                    args.get_rate, args.seconds)),
                "GET /products?q=...": loadgen.run(loadgen.open_loop("127.0.0.1", api_port, searches,
                                                                     args.search_rate, args.seconds)),
            }
            lags = freshness(broker.access(PLATFORM), url, seller_id, 200)
        finally:
            worker.terminate()
            bare.terminate()
            worker.wait(30)
            bare.wait(30)

    base = median(throughput["bare FastAPI endpoint"])
    t1 = Table(f"Catalog reads: {args.products:,} products, max throughput (closed loop, "
               f"{args.connections} connections)", ["endpoint", "req/s (median)", "share of bare"])
    for name, runs in throughput.items():
        t1.add(name, median(runs), f"{median(runs) / base:.0%}")
    t1.notes.append(f"Median of {args.repeat} runs of {args.seconds:.0f}s each, endpoints interleaved; one worker "
                    "process (agents + API on one loop) vs the bare endpoint in its own uvicorn process; goal: "
                    "product GET >= 60% of bare.")
    t2 = Table("Catalog reads: latency at a fixed offered load (open loop, from the scheduled send time)",
               ["endpoint", "offered req/s", "achieved req/s", "p50 ms", "p99 ms", "errors"])
    for name, res in fixed.items():
        rate = args.search_rate if "q=" in name else args.get_rate
        t2.add(name, rate, res.rps, res.p(50), res.p(99), res.errors)
    t2.notes.append("Goal: search p99 under 30 ms at 200 req/s.")
    t3 = Table("Catalog freshness: product update on the ingress topic -> visible in search",
               ["samples", "p50 ms", "p95 ms", "p99 ms", "max ms"])
    t3.add(len(lags), percentile(lags, 50), percentile(lags, 95), percentile(lags, 99), max(lags))
    t3.notes.append(f"From the broker's ack of the ingress record to the first search that finds the new title "
                    f"(polling every 1 ms); the path is ingress validation -> catalog agent -> changelog -> every "
                    f"worker's replica and index. Goal: p99 under 200 ms. Catalog load: {load_s:.0f}s for "
                    f"{args.products:,} products through ingress ({args.products / load_s:,.0f}/s).")
    tables = [t1, t2, t3]
    publish(tables, "bench.api_reads", argv, args.no_record)
    return tables


if __name__ == "__main__":
    main()
