"""The rating stream table under the faults the seed names: the catalog side down while reviews keep
coming, duplicated deliveries, and a worker killed mid-aggregation."""

import random
import time
from collections import defaultdict

import orjson
from kafka import KafkaAdminClient, KafkaConsumer, TopicPartition
from kafka.errors import KafkaError

from gamevault.domain import ratings
from gamevault.kafka_access import KafkaAccess
from tests.integration.support import producer, read_topic, wait_for
from tests.support.api import Api, admin, purchase


def group_lag(access: KafkaAccess, topic: str, group: str = "gamevault") -> int:
    admin_client = KafkaAdminClient(**access.kafka_python())
    consumer = KafkaConsumer(**access.kafka_python())
    try:
        tps = [TopicPartition(topic, p) for p in range(8)]
        try:
            committed = admin_client.list_group_offsets(group)[group]  # kafka-python 3 API
        except KafkaError:  # no coordinator yet: the group has not committed anything
            committed = {}
        ends = consumer.end_offsets(tps)
        return sum(ends[tp] - (committed[tp].offset if tp in committed else 0) for tp in tps)
    finally:
        admin_client.close()
        consumer.close()


def table_contents(access: KafkaAccess, topic: str) -> dict:
    latest = {}
    for record in read_topic(access, topic, lambda recs: False, timeout=3):
        latest[orjson.loads(record.key)] = orjson.loads(record.value) if record.value else None
    return latest


def test_reviews_keep_being_accepted_while_the_catalog_side_is_down(isolated):
    stack = isolated()
    stack.start_simulators()
    stack.start_worker(GAMEVAULT_AGENTS="-ratings")
    catalog_side = stack.start_worker(GAMEVAULT_AGENTS="ratings")
    api = Api(stack.url)
    seller = api.register("seller")
    products = [api.product(seller, stock=100)["id"] for _ in range(10)]
    buyers = [api.register("buyer") for _ in range(20)]
    for buyer in buyers:
        purchase(api, buyer, products)

    catalog_side.stop()  # the rating agent's worker is gone
    rng, expected, boss = random.Random(7), defaultdict(list), admin(api)
    for buyer in buyers:
        for pid in products:
            stars = rng.randint(1, 5)
            r = api.http.post(f"/products/{pid}/reviews", headers=buyer.headers,
                              json={"rating": stars, "title": "Worth it", "body": "Played it all weekend long."})
            assert r.status_code == 202, r.text
            m = api.http.post(f"/reviews/{r.json()['id']}/moderation", json={"decision": "approve"}, headers=boss)
            assert m.status_code == 200, m.text
            expected[pid].append(stars)
    time.sleep(2)
    assert all(api.http.get(f"/products/{pid}").json()["rating"]["count"] == 0 for pid in products)

    stack.start_worker(GAMEVAULT_AGENTS="ratings")  # the catalog side is back: it catches up from Kafka
    for pid in products:
        wait_for(lambda pid=pid: api.http.get(f"/products/{pid}").json()["rating"]["count"] == 20, timeout=60)
        want = ratings.public(ratings.recompute(pid, expected[pid]))
        got = api.http.get(f"/products/{pid}").json()["rating"]
        assert got == {"average": want["average"], "count": 20, "histogram": want["histogram"]}
    api.close()


def synthetic_events(n: int, products: int, seed: int = 11) -> tuple[list[tuple[bytes, bytes]], dict]:
    """Approvals, edits (re-approvals with new stars) and retractions; with the truth they imply."""
    rng = random.Random(seed)
    truth: dict[str, dict[str, int]] = defaultdict(dict)
    versions: dict[str, int] = defaultdict(int)
    records = []
    for i in range(n):
        pid = f"kp-{rng.randrange(products)}"
        known = list(truth[pid])
        if known and rng.random() < 0.15:
            rid, kind, stars = rng.choice(known), ratings.RETRACTED, None
            truth[pid].pop(rid)
        else:
            rid = rng.choice(known) if known and rng.random() < 0.2 else f"kr-{i}"
            kind, stars = ratings.APPROVED, rng.randint(1, 5)
            truth[pid][rid] = stars
        versions[rid] += 1
        data = {"review_id": rid, "product_id": pid, "buyer_id": "b", "review_version": versions[rid],
                "at": "2026-11-28T00:00:00Z"}
        if stars:
            data.update(rating=stars, moderator="auto")
        event = {"specversion": "1.0", "id": f"evt-{i}", "source": "/test", "type": kind,
                 "time": "2026-11-28T00:00:00Z", "subject": rid, "data": data}
        records.append((pid.encode(), orjson.dumps(event)))
    return records, truth


def test_duplicates_and_a_sigkill_mid_aggregation_leave_the_table_exact(isolated):
    stack = isolated()
    records, truth = synthetic_events(10_000, 100)
    kp = producer(stack.broker.access())
    for key, value in records:
        kp.send("gamevault.reviews.events", key=key, value=value)
    for key, value in records[:500]:  # the same events delivered again
        kp.send("gamevault.reviews.events", key=key, value=value)
    kp.flush()
    kp.close()
    victim = stack.start_worker(wait=False, GAMEVAULT_AGENTS="ratings")
    wait_for(lambda: group_lag(stack.broker.access(), "gamevault.reviews.events") < 9_000, timeout=120,
             interval=0.05)
    victim.kill()  # SIGKILL while aggregating: no flush, no commit
    stack.start_worker(GAMEVAULT_AGENTS="ratings")

    def exact() -> bool:
        try:
            check_table_against(stack.broker.access(), truth)
        except (AssertionError, KeyError):
            return False
        return True

    # The changelogs are the table: poll them until they equal the recomputation (Faust's committed
    # offsets trail the processing by a minute or more after a restart: the group lag is no signal).
    wait_for(exact, timeout=180, interval=1.0)
    time.sleep(3)  # and it stays so: nothing left to apply moves it
    check_table_against(stack.broker.access(), truth)


def check_table_against(access: KafkaAccess, truth: dict[str, dict[str, int]]) -> None:
    table = table_contents(access, "gamevault.internal.ratings.changelog")
    totals = table_contents(access, "gamevault.internal.rating-totals.changelog")
    votes: dict[str, dict] = defaultdict(dict)
    for key, vote in table.items():
        if ratings.is_vote(key):
            votes[ratings.product_of(key)][key] = vote
    for pid, want_votes in truth.items():
        want = ratings.recompute(pid, want_votes.values())
        got = table[pid]
        assert (got["count"], got["sum"], got["histogram"]) == (want["count"], want["sum"], want["histogram"]), pid
        assert ratings.counted(votes[pid]) == want_votes, pid  # every review counted once, at its last stars
        shown = totals[pid]  # what the read side serves equals the table
        assert (shown["count"], shown["sum"], shown["histogram"]) == (want["count"], want["sum"], want["histogram"])
