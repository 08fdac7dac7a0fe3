"""Orders through the whole saga (stock -> payment -> shipment -> completed), simulators answering at once.

For 1 worker and for 2 workers (each on a fresh broker):
1. throughput: N orders placed as fast as C clients can, completed orders per second;
2. latency from placement to completed, p50/p95/p99, at fixed offered rates (open loop);
beside the raw produce/consume reference measured in the same run.
Completion is observed on gamevault.orders.events, not by polling the API.

Run: `python -m bench.saga [--orders 1000] [--rates 10,25,50,100] [--seconds 20]`.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

import httpx
import orjson

from bench.common import BROKER_PIDS, Table, cpu_seconds, median, percentile, private_broker, publish
from bench.levers import LEVERS, gamevault_argv
from bench.peers.harness import peer_scenario, peer_table
from bench.raw_kafka import measure as raw_measure
from bench.saga_orders import place_many
from gamevault.broker.local import LocalKafka, free_port
from gamevault.kafka_access import PLATFORM, KafkaAccess

CPU_PARTS = ["workers", "simulators", "broker", "bench client"]


class Completions:
    """Reads gamevault.orders.events: when each order completed (or was cancelled)."""

    def __init__(self, access: KafkaAccess) -> None:
        from kafka import KafkaConsumer

        self.consumer = KafkaConsumer("gamevault.orders.events", **access.kafka_python(),
                                      auto_offset_reset="latest", enable_auto_commit=False, group_id=None)
        self.done: dict[str, tuple[float, str]] = {}
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.consumer.poll(timeout_ms=1000)  # join the partitions before the run starts
        self.thread.start()

    def _run(self) -> None:
        while not self.stop.is_set():
            for records in self.consumer.poll(timeout_ms=200).values():
                for rec in records:
                    event = orjson.loads(rec.value)
                    kind = event["type"].rsplit(".", 1)[-1]
                    if kind in ("completed", "cancelled"):
                        self.done.setdefault(event["data"]["order_id"], (rec.timestamp / 1000, kind))

    def close(self) -> None:
        self.stop.set()
        self.thread.join()
        self.consumer.close()


def kafka_requests(url: str) -> dict[str, float]:
    """The worker's Kafka requests so far, by API (Produce, Fetch, ...), from its /metrics."""
    text = httpx.get(url + "/metrics", timeout=10).text
    found = re.findall(r'^bench_kafka_requests_total\{api="(\w+)"\} ([0-9.e+]+)$', text, re.M)
    return {api: float(n) for api, n in found}


def start_stack(broker: LocalKafka, home: Path, workers: int, flipped: dict[str, bool] | None = None
                ) -> tuple[str, list[subprocess.Popen]]:
    flipped = flipped or {}
    api_port, sim_port = free_port(), free_port()
    env = {**os.environ, "GAMEVAULT_HOME": str(home), **broker.client_env(),
           "GAMEVAULT_API_PORT": str(api_port), "GAMEVAULT_SIMULATOR_PORT": str(sim_port),
           "GAMEVAULT_RATE_LIMIT_PER_MINUTE": "1000000000", "GAMEVAULT_API_URL": f"http://127.0.0.1:{api_port}"}
    env.pop("GAMEVAULT_KAFKA_BOOTSTRAP", None)
    procs = [subprocess.Popen([sys.executable, *gamevault_argv("simulators", flipped)], env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)]
    for n in range(workers):
        with open(home / f"worker-{n}.log", "ab") as log:
            procs.append(subprocess.Popen([sys.executable, *gamevault_argv("worker", flipped)], env=env, stdout=log,
                                          stderr=subprocess.STDOUT))
    url = f"http://127.0.0.1:{api_port}"
    seen: set[str] = set()
    deadline = time.monotonic() + 180
    while len(seen) < workers and time.monotonic() < deadline:
        try:
            r = httpx.get(url + "/readyz", timeout=2, headers={"Connection": "close"})
            if r.status_code == 200:
                seen.add(r.json()["worker"])
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    httpx.post(f"http://127.0.0.1:{sim_port}/_sim/config", json={"delay_s": 0})  # answer at once
    return url, procs


def prepare(url: str) -> tuple[list[str], list[dict[str, str]]]:
    with httpx.Client(base_url=url + "/api/v1", timeout=60) as http:
        def account(role: str) -> dict[str, str]:
            email = f"{role}-{uuid.uuid4().hex[:8]}@gamevault.test"
            http.post("/users", json={"email": email, "password": "bench-pass-1", "display_name": role, "role": role})
            login = {"username": email, "password": "bench-pass-1"}
            token = http.post("/auth/token", data=login).json()["access_token"]
            return {"Authorization": f"Bearer {token}"}

        seller = account("seller")
        products = [http.post("/products", headers=seller, json={
            "title": f"Bench game {n}", "platform": "pc", "genres": ["action"], "price": {"amount": "49.90"},
            "stock": 1_000_000}).json()["id"] for n in range(16)]
        buyers = [account("buyer") for _ in range(16)]
    return products, buyers


def wait_done(done: Completions, placed: dict[str, float], timeout: float = 300) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and any(oid not in done.done for oid in placed):
        time.sleep(0.2)


def scenario(workers: int, args: argparse.Namespace, flipped: dict[str, bool] | None = None) -> dict:
    with private_broker() as broker, tempfile.TemporaryDirectory(prefix="gv-bench-saga-") as tmp:
        url, procs = start_stack(broker, Path(tmp), workers, flipped)
        try:
            products, buyers = prepare(url)
            done = Completions(broker.access(PLATFORM))
            asyncio.run(place_many(url, products, buyers, 60, 20, None))  # warm-up
            time.sleep(3)
            parts = {"workers": [p.pid for p in procs[1:]], "simulators": [procs[0].pid],
                     "broker": [BROKER_PIDS[broker.bootstrap]]}
            cpu0 = {name: sum(map(cpu_seconds, pids)) for name, pids in parts.items()}
            requests0 = kafka_requests(url) if workers == 1 else {}
            client0 = time.process_time()
            t0 = time.time()
            placed = asyncio.run(place_many(url, products, buyers, args.orders, args.concurrency, None))
            wait_done(done, placed)
            cpu = {name: sum(map(cpu_seconds, pids)) - cpu0[name] for name, pids in parts.items()}
            cpu["bench client"] = time.process_time() - client0
            requests = {api: n - requests0.get(api, 0) for api, n in kafka_requests(url).items()} if workers == 1 \
                else {}
            last = max(done.done[o][0] for o in placed if o in done.done)
            completed = sum(done.done.get(o, (0, ""))[1] == "completed" for o in placed)
            throughput = completed / (last - t0)
            latency = {}
            for rate in args.rates:
                time.sleep(2)
                run = asyncio.run(place_many(url, products, buyers, int(rate * args.seconds), 200, rate))
                wait_done(done, run)
                lat = [(done.done[o][0] - at) * 1000 for o, at in run.items()
                       if done.done.get(o, (0, ""))[1] == "completed"]
                latency[rate] = (len(run), len(lat), lat)
            done.close()
            return {"throughput": throughput, "completed": completed, "placed": len(placed), "latency": latency,
                    "cpu_ms": {name: seconds * 1000 / max(completed, 1) for name, seconds in cpu.items()},
                    "requests": {api: n / max(completed, 1) for api, n in requests.items()}}
        finally:
            for p in procs:
                p.terminate()
            for p in procs:
                p.wait(30)


def main(argv: list[str] | None = None) -> list[Table]:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--orders", type=int, default=1000)
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--rates", type=lambda s: [float(x) for x in s.split(",")], default=[10.0, 25.0, 50.0, 100.0])
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--workers", type=lambda s: [int(x) for x in s.split(",")], default=[1, 2])
    parser.add_argument("--no-record", action="store_true")
    parser.add_argument("--lever", choices=sorted(LEVERS), help="measure one lever alone: 1 worker, throughput "
                        "runs with it on and off, alternated --repeat times")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--peer", action=argparse.BooleanOptionalAction, default=True,
                        help="run the DBOS peer too (needs `make bench-deps`)")
    parser.add_argument("--peer-only", action="store_true", help="only GameVault's 1-worker throughput run and "
                        "the peer's, one after the other")
    args = parser.parse_args(argv)
    if args.lever:
        return lever(args, argv)
    if args.peer_only:
        args.rates = []
        tables = [peer_table(scenario(1, args), peer_scenario(args), args)]
        publish(tables, "bench.saga", argv, args.no_record)
        return tables
    results = {w: scenario(w, args) for w in args.workers}
    peer = peer_scenario(args) if args.peer else None
    with private_broker() as broker:
        raw = raw_measure(broker.access(PLATFORM), 1024, 50_000, 1)
    t1 = Table("Order saga: throughput through the whole saga (simulators answering at once)",
               ["workers", "orders placed", "completed", "completed orders/s"])
    for w, res in results.items():
        t1.add(w, res["placed"], res["completed"], res["throughput"])
    ref = ", ".join(f"{k} {50_000 / v:,.0f} msg/s" for k, v in raw.items())
    t1.notes.append(f"{args.orders} orders, {args.concurrency} concurrent clients, 1 item each, providers in turn; "
                    f"a fresh broker per scenario; the simulators, the broker, the client and the workers share 2 "
                    f"cores. Raw Kafka reference in the same run (1 KB records): {ref}. Goal: >= 300 orders/s.")
    t2 = Table("Order saga: latency from placement to completed, at a fixed offered rate (open loop)",
               ["workers", "offered orders/s", "orders", "completed", "p50 ms", "p95 ms", "p99 ms"])
    for w, res in results.items():
        for rate, (placed, completed, lat) in res["latency"].items():
            t2.add(w, rate, placed, completed, percentile(lat, 50), percentile(lat, 95), percentile(lat, 99))
    t2.notes.append("Each order crosses ~12 Kafka hops (commands, replies, webhooks stored in Kafka) and 3-4 HTTP "
                    "calls to the gateway and carrier simulators. Goal: p99 under 500 ms at 100 orders/s.")
    cores = os.cpu_count() or 1
    t3 = Table("Order saga: CPU per completed order, by process (throughput run)",
               ["workers", *(f"{name} ms" for name in CPU_PARTS), "all ms",
                f"ceiling on {cores} cores, orders/s", "ceiling with a free worker, orders/s",
                "worker's Kafka requests per order (produce, fetch, all)"])
    for w, res in results.items():
        ms = res["cpu_ms"]
        total = sum(ms.values())
        t3.add(w, *(ms[name] for name in CPU_PARTS), total, cores * 1000 / total,
               cores * 1000 / (total - ms["workers"]), requests_cell(res["requests"]))
    t3.notes.append("CPU seconds (user + system, /proc) each process used from the first placement to the last "
                    "completion, divided by the orders completed. Everything shares the machine's cores, so "
                    "cores / (CPU per order) bounds the throughput; the last column is that bound if the "
                    "workers cost nothing: the simulators, the broker and the load generator alone. Kafka requests: "
                    "what the worker's clients sent (counted in aiokafka's connection; 1 worker only).")
    tables = [t1, t2, t3]
    if peer is not None:
        tables.append(peer_table(results[min(results)], peer, args))
    publish(tables, "bench.saga", argv, args.no_record)
    return tables


def requests_cell(requests: dict[str, float]) -> str:
    if not requests:
        return "-"
    return f"{requests.get('Produce', 0):.1f}, {requests.get('Fetch', 0):.1f}, {sum(requests.values()):.1f}"


def lever(args: argparse.Namespace, argv: list[str] | None) -> list[Table]:
    """One lever alone: the same 1-worker throughput run with it off and on, alternated."""
    args.rates = []
    runs: dict[bool, list[dict]] = {False: [], True: []}
    for _ in range(args.repeat):
        for on in (False, True):
            runs[on].append(scenario(1, args, {args.lever: on}))
    table = Table(f"Order saga, one lever alone ({args.lever}): CPU per completed order, 1 worker, medians of "
                  f"{args.repeat} alternated runs",
                  ["variant", "completed orders/s", *(f"{name} ms" for name in CPU_PARTS), "all ms",
                   "worker's Kafka requests per order (produce, fetch, all)"])
    for on, label in ((False, "off"), (True, "on")):
        cpu = {name: median([r["cpu_ms"][name] for r in runs[on]]) for name in CPU_PARTS}
        apis = {api for r in runs[on] for api in r["requests"]}
        requests = {api: median([r["requests"].get(api, 0.0) for r in runs[on]]) for api in apis}
        table.add(label, median([r["throughput"] for r in runs[on]]), *(cpu[n] for n in CPU_PARTS),
                  sum(cpu.values()), requests_cell(requests))
    table.notes.append(f"{args.orders} orders, {args.concurrency} concurrent clients per run, a fresh broker per run. "
                       "Levers: 'delivery' = bench/faust_delivery.py (each fetched record's hand-off stepped in place "
                       "instead of four tasks; not shipped: it breaks the kill test); "
                       "'http' = gamevault/http_clients.py (httpx over aiohttp, in the worker's "
                       "adapters and the simulators' webhooks; off: httpx's own transport); 'linger' = Faust's "
                       "producer linger 10 ms instead of 2; 'rebalance' = agents/faust_patches.py's drain loop "
                       "(off: Faust's own); 'batches' = the command and rating agents handed whole fetches "
                       "(agents/command_batches.py, agents/batch_routes.py; off: each agent's Faust stream).")
    publish([table], "bench.saga", argv, args.no_record)
    return [table]


if __name__ == "__main__":
    main()
