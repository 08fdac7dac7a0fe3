"""The system suite's parts: a whole stack, mixed traffic through the public surfaces, the invariants.

Traffic behaves like careful clients: writes carry Idempotency-Keys and are retried on 503 and on
connection errors (a killed worker drops its connections), so "accepted" means a 2xx was seen once.
"""

from __future__ import annotations

import random
import threading
import time
import uuid
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import orjson
from kafka import KafkaConsumer, KafkaProducer, TopicPartition

from gamevault.domain import ratings
from gamevault.streams.topics import PUBLIC_EVENT_TOPICS
from tests.support.api import ADDRESS, FINAL, PAYMENTS, Api, User
from tests.support.stack import ADMIN, Stack, start_broker

MIX = ["paypal", "yape", "plin", "paypal", "yape", "plin", "yape-declined", "plin-declined", "yape-never"]
UNDELIVERABLE = {**ADDRESS, "postal_code": "00000"}  # the carrier simulator refuses it: refund, release, cancel
UNDELIVERABLE_SHARE = 0.1


def system_stack(home: Path, workers: int = 1, broker: Any = None, **env: str) -> Stack:
    """Simulators, workers and the sink on one broker (or on the cluster given as `broker`)."""
    if broker is not None:
        env = {**broker.client_env(), **env}
    stack = Stack(home, broker or start_broker(home), env=env)
    stack.start_simulators()
    for _ in range(workers):
        stack.start_worker(wait=False)
    stack.wait_ready(timeout=120)
    stack.start_process("sink", "warehouse", "sink", "--flush-seconds", "2", "--idle-seconds", "1")
    return stack


@dataclass
class Calls:
    """Every response the traffic saw: route template -> statuses and latencies."""

    statuses: dict[str, Counter] = field(default_factory=lambda: defaultdict(Counter))
    latencies: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    server_errors: list[tuple[str, int, str, float]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def record(self, route: str, response: httpx.Response | None, seconds: float) -> None:
        status = response.status_code if response is not None else 0
        with self.lock:
            self.statuses[route][status] += 1
            self.latencies[route].append(seconds)
            if status >= 500:
                retry_after = response.headers.get("retry-after") if response is not None else None
                problem = response.headers.get("content-type") == "application/problem+json" if response else False
                self.server_errors.append((route, status, f"retry-after={retry_after} problem={problem}",
                                           time.monotonic()))


class Traffic:
    """Mixed traffic in threads until stopped: searches, pages, carts, orders, reviews, partner records."""

    def __init__(self, stack: Stack, threads: int = 4, pace_s: float = 0.05, seed: int = 7) -> None:
        self.stack, self.threads, self.pace_s = stack, threads, pace_s
        self.writes = True  # False: searches and product pages only
        self.rng = random.Random(seed)
        self.api = Api(stack.url)
        self.calls = Calls()
        self.stop_event = threading.Event()
        self.orders: dict[str, tuple[User, list]] = {}
        self.accepted_at: list[float] = []  # monotonic time of each accepted order
        self.undeliverable: set[str] = set()  # orders sent to an address the carrier refuses
        self.approved: dict[str, dict[str, int]] = defaultdict(dict)  # product -> review -> stars
        self.invalid: dict[str, str] = {}  # dead-letter key -> expected reason (of the records the broker took)
        self.partner_refused: list[str] = []  # partner records the broker never acknowledged (why)
        self.lock = threading.Lock()
        self.workers: list[threading.Thread] = []
        self.seller = self.api.register("seller")
        self.stock = {self.api.product(self.seller, title=f"System {w} {n}", stock=100_000)["id"]: 100_000
                      for n, w in enumerate(["alpha", "beta", "gamma", "delta", "omega", "sigma"])}
        self.buyers = [self.api.register("buyer") for _ in range(8)]
        self.admin = {"Authorization": f"Bearer {self.api.login(*ADMIN)}"}
        self.partner = KafkaProducer(**stack.broker.access().kafka_python(), acks="all", retries=50)

    # ---- requests -------------------------------------------------------------------------
    def call(self, client: httpx.Client, route: str, method: str, url: str, retry: bool = False,
             **kw: Any) -> httpx.Response | None:
        for _ in range(240 if retry else 1):
            started = time.perf_counter()
            try:
                response = client.request(method, url, timeout=30, **kw)
            except httpx.HTTPError:
                response = None
            self.calls.record(route, response, time.perf_counter() - started)
            if response is not None and response.status_code not in (502, 503, 504):
                return response
            if not retry or (self.stop_event.is_set() and response is not None):
                return response
            time.sleep(0.5)
        return None

    def run(self) -> Traffic:
        for n in range(self.threads):
            thread = threading.Thread(target=self._loop, args=(n,), daemon=True)
            thread.start()
            self.workers.append(thread)
        return self

    def stop(self) -> None:
        self.stop_event.set()
        for thread in self.workers:
            thread.join(120)
        self.partner.flush()

    def _loop(self, n: int) -> None:
        rng = random.Random(n)
        with httpx.Client(base_url=self.stack.url + "/api/v1") as client:
            while not self.stop_event.is_set():
                roll = rng.random() if self.writes else rng.random() * 0.45
                pid = rng.choice(list(self.stock))
                buyer = rng.choice(self.buyers)
                if roll < 0.3:
                    self.call(client, "GET /products", "GET", "/products", params={"q": rng.choice(["system", "alp"])})
                elif roll < 0.45:
                    self.call(client, "GET /products/{id}/page", "GET", f"/products/{pid}/page")
                elif roll < 0.55:
                    self.call(client, "PUT /cart/items/{id}", "PUT", f"/cart/items/{pid}", retry=True,
                              json={"quantity": rng.randint(1, 3)}, headers=buyer.headers)
                elif roll < 0.85:
                    self._order(client, rng, buyer, pid)
                elif roll < 0.93:
                    self._review(client, rng)
                else:
                    self._partner(rng)
                time.sleep(self.pace_s)

    def _order(self, client: httpx.Client, rng: random.Random, buyer: User, pid: str) -> None:
        items = [{"product_id": pid, "quantity": rng.randint(1, 3)}]
        undeliverable = rng.random() < UNDELIVERABLE_SHARE
        body = {"items": items, "payment": PAYMENTS[rng.choice(MIX)],
                "shipping_address": UNDELIVERABLE if undeliverable else ADDRESS}
        r = self.call(client, "POST /orders", "POST", "/orders", retry=True, json=body,
                      headers={**buyer.headers, "Idempotency-Key": uuid.uuid4().hex})
        if r is not None and r.status_code == 202:
            with self.lock:
                self.orders[r.json()["id"]] = (buyer, items)
                self.accepted_at.append(time.monotonic())
                if undeliverable:
                    self.undeliverable.add(r.json()["id"])

    def _review(self, client: httpx.Client, rng: random.Random) -> None:
        with self.lock:
            candidates = list(self.orders.items())
        rng.shuffle(candidates)
        for oid, (buyer, items) in candidates[:5]:
            order = self.call(client, "GET /orders/{id}", "GET", f"/orders/{oid}", headers=buyer.headers)
            if order is None or order.status_code != 200 or order.json()["status"] != "completed":
                continue
            pid, stars = items[0]["product_id"], rng.randint(1, 5)
            r = self.call(client, "POST /products/{id}/reviews", "POST", f"/products/{pid}/reviews", retry=True,
                          headers=buyer.headers, json={"rating": stars, "title": "System run",
                                                       "body": "Reviewed during the system test."})
            if r is None or r.status_code != 202:
                continue  # 409: this buyer reviewed this product already
            m = self.call(client, "POST /reviews/{id}/moderation", "POST", f"/reviews/{r.json()['id']}/moderation",
                          retry=True, json={"decision": "approve"}, headers=self.admin)
            if m is not None and m.status_code == 200:
                with self.lock:
                    self.approved[pid][r.json()["id"]] = stars
            return

    def _partner(self, rng: random.Random) -> None:
        key = f"sys-bad-{uuid.uuid4().hex[:10]}"
        bad = rng.choice([(b"{not json", "not_json"), (b"[1]", "not_cloudevent"),
                          (orjson.dumps({"specversion": "1.0", "id": "x", "source": "/p",
                                         "time": "2026-11-28T00:00:00Z",
                                         "type": "gamevault.catalog.product.teleport", "data": {}}), "unknown_type")])
        sent = self.partner.send("gamevault.catalog.commands", key=key.encode(), value=bad[0])
        sent.add_callback(self._written, key, bad[1])  # a partner counts what the broker acknowledged
        sent.add_errback(lambda exc: self.partner_refused.append(repr(exc)))

    def _written(self, key: str, reason: str, _metadata: Any) -> None:
        with self.lock:
            self.invalid[key] = reason


# ---- invariants ---------------------------------------------------------------------------------
def settle_orders(traffic: Traffic, timeout: float = 240) -> dict[str, dict]:
    finals: dict[str, dict] = {}
    deadline = time.monotonic() + timeout
    with httpx.Client(base_url=traffic.stack.url + "/api/v1", timeout=30) as client:
        while len(finals) < len(traffic.orders) and time.monotonic() < deadline:
            for oid, (buyer, _) in list(traffic.orders.items()):
                if oid in finals:
                    continue
                try:
                    r = client.get(f"/orders/{oid}", headers=buyer.headers)
                except httpx.HTTPError:
                    continue
                if r.status_code == 200 and r.json()["status"] in FINAL:
                    finals[oid] = r.json()
            time.sleep(1)
    stuck = set(traffic.orders) - set(finals)
    assert not stuck, f"{len(stuck)} accepted orders never reached a final state: {sorted(stuck)[:5]}"
    return finals


def check_orders(traffic: Traffic, finals: dict[str, dict]) -> dict[str, int]:
    ledger = traffic.stack.ledger()
    refunds = 0
    for oid, order in finals.items():
        entry = ledger.get(oid, {"captures": 0, "refunds": 0})
        assert entry["captures"] <= 1, (oid, entry)
        if order["status"] == "completed":  # money was really taken: a forged notification cannot complete one
            assert entry["captures"] == 1, (oid, entry)
        expected_refunds = 1 if entry["captures"] == 1 and order["status"] == "cancelled" else 0
        assert entry["refunds"] == expected_refunds, (oid, order["status"], entry)
        refunds += entry["refunds"]
        if oid in traffic.undeliverable:
            assert order["status"] == "cancelled", (oid, order["status"])
        timeline = [e["status"] for e in traffic.api.http.get(f"/orders/{oid}/timeline",
                                                              headers=traffic.orders[oid][0].headers).json()]
        assert len(timeline) == len(set(timeline)), (oid, timeline)
    sold = Counter()
    for order in finals.values():
        if order["status"] == "completed":
            for item in order["items"]:
                sold[item["product_id"]] += item["quantity"]
    for pid, initial in traffic.stock.items():
        remaining = traffic.api.http.get(f"/products/{pid}").json()["stock"]
        assert initial == remaining + sold[pid], (pid, initial, remaining, sold[pid])
    captured_undeliverable = [oid for oid in traffic.undeliverable if ledger.get(oid, {}).get("captures")]
    assert len(finals) < 50 or captured_undeliverable, "no paid order met a shipment failure: refunds unexercised"
    return {"orders": len(finals), "completed": sum(o["status"] == "completed" for o in finals.values()),
            "refunds": refunds}


def approved_reviews(traffic: Traffic, pid: str) -> dict[str, int]:
    """review id -> stars of every approved review the platform lists for a product (all pages)."""
    out: dict[str, int] = {}
    cursor = None
    while True:
        page = traffic.api.http.get(f"/products/{pid}/reviews",
                                    params={"limit": 100, **({"cursor": cursor} if cursor else {})}).json()
        out.update({r["id"]: r["rating"] for r in page["items"]})
        cursor = page["next_cursor"]
        if not cursor:
            return out


def check_ratings(traffic: Traffic, timeout: float = 60) -> int:
    """Every approval the clients saw is listed, and the rating is a recomputation of the listed ones.

    The listing is the truth: an approval whose answer was lost (a 503 while the broker was away, then a
    409 "already decided" on the retry) is approved all the same, and must be counted once too.
    """
    deadline = time.monotonic() + timeout
    counted = 0
    for pid, seen in traffic.approved.items():
        while True:
            listed = approved_reviews(traffic, pid)
            want = ratings.recompute(pid, listed.values())
            got = traffic.api.http.get(f"/products/{pid}").json()["rating"]
            complete = all(listed.get(rid) == stars for rid, stars in seen.items())
            if complete and got["count"] == want["count"] and got["histogram"] == want["histogram"]:
                break
            assert time.monotonic() < deadline, (pid, got, want, seen, listed)
            time.sleep(0.5)
        counted += len(listed)
    return counted


def check_deadletters(traffic: Traffic, timeout: float = 60) -> int:
    consumer = KafkaConsumer(**traffic.stack.broker.access().kafka_python(), enable_auto_commit=False,
                             consumer_timeout_ms=1000)
    tps = [TopicPartition("gamevault.deadletter", p) for p in range(4)]
    consumer.assign(tps)
    consumer.seek_to_beginning(*tps)
    reasons: dict[str, str] = {}
    deadline = time.monotonic() + timeout
    while set(traffic.invalid) - set(reasons) and time.monotonic() < deadline:
        for records in consumer.poll(timeout_ms=500).values():
            for rec in records:
                if rec.key and rec.key.decode(errors="replace") in traffic.invalid:
                    reasons[rec.key.decode()] = dict(rec.headers)["dlq.reason"].decode()
    consumer.close()
    assert reasons == traffic.invalid
    return len(reasons)


def check_lake(stack: Stack, timeout: float = 90) -> int:
    """Every record of every public topic is in the lake exactly once (by topic, partition and offset)."""
    import duckdb

    consumer = KafkaConsumer(**stack.broker.access().kafka_python())
    tps = [TopicPartition(t.name, p) for t in PUBLIC_EVENT_TOPICS for p in range(t.partitions)]
    ends = consumer.end_offsets(tps)
    consumer.close()
    expected = sum(ends.values())
    lake = stack.home / "lake" / "events"
    deadline = time.monotonic() + timeout
    while True:
        rows, distinct = duckdb.sql(
            f"SELECT count(*), count(DISTINCT (kafka_topic, kafka_partition, kafka_offset)) FROM read_parquet("
            f"'{lake}/**/*.parquet', hive_partitioning=true, union_by_name=true)").fetchall()[0]
        if distinct >= expected or time.monotonic() > deadline:
            break
        time.sleep(1)
    assert (rows, distinct) == (expected, expected), (rows, distinct, expected)
    # CloudEvents identity: no two distinct events share an id (a replay re-emits one event, same id, same data)
    ids, pairs = duckdb.sql(
        f"SELECT count(DISTINCT event_id), count(DISTINCT (event_id, event_type, event_subject, data)) FROM "
        f"read_parquet('{lake}/**/*.parquet', hive_partitioning=true, union_by_name=true)").fetchall()[0]
    assert ids == pairs, f"{pairs - ids} distinct events share an id with another"
    return expected


def check_no_server_errors(traffic: Traffic, allowed_window: tuple[float, float] | None = None) -> None:
    """No 5xx at all, except 503 + Retry-After as problem+json inside the fault window (documented)."""
    for route, status, detail, at in traffic.calls.server_errors:
        documented = status == 503 and "retry-after=None" not in detail and "problem=True" in detail
        inside = allowed_window is not None and allowed_window[0] <= at <= allowed_window[1]
        assert documented and inside, (route, status, detail)


def check_everything(stack: Stack, traffic: Traffic, window: tuple[float, float] | None,
                     figure: Any = None) -> dict[str, int]:
    """Every invariant of the suite; the counts behind them go to `figure` (the run's summary)."""
    finals = settle_orders(traffic)
    summary = check_orders(traffic, finals)
    assert summary["completed"] > 0
    summary["reviews"] = check_ratings(traffic)
    summary["dead letters"] = check_deadletters(traffic)
    assert window is not None or not traffic.partner_refused, traffic.partner_refused[:3]  # only under a fault
    if traffic.partner_refused:
        summary["partner records the broker refused (during the fault)"] = len(traffic.partner_refused)
    summary["lake events"] = check_lake(stack)
    check_no_server_errors(traffic, window)
    summary["requests"] = sum(sum(c.values()) for c in traffic.calls.statuses.values())
    if figure is not None:
        figure("invariants held over " + ", ".join(f"{v:,} {k}" for k, v in summary.items()))
    return summary
