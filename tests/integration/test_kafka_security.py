"""The Kafka door, locked: who may connect, write, read and change what, on the real broker and worker.

Each attack is shown failing and the same request shown succeeding for the principal who may make it.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import subprocess
import sys
import time
import uuid

import httpx
import orjson
import pytest
from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaError as AIOKafkaError
from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer, TopicPartition
from kafka.admin import NewTopic
from kafka.errors import GroupAuthorizationFailedError, KafkaError, TopicAuthorizationFailedError

from gamevault.kafka_access import KafkaAccess
from tests.integration.support import headers_of, read_topic, wait_for
from tests.support.api import Api, admin, place, purchase, settle

UPSERT, SET_STOCK, SUBMIT = ("gamevault.catalog.product.upsert", "gamevault.catalog.stock.set",
                             "gamevault.reviews.review.submit")
INTERNAL = ("gamevault.internal.catalog.commands", "gamevault.internal.users.commands",
            "gamevault.internal.payments.commands", "gamevault.internal.users.changelog")


def cli(stack, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    env = {**os.environ, "GAMEVAULT_HOME": str(stack.home), "GAMEVAULT_KAFKA_PORT": str(stack.broker.port)}
    result = subprocess.run([sys.executable, "-m", "gamevault", *args], env=env, capture_output=True, text=True,
                            timeout=120)
    if check:
        assert result.returncode == 0, result.stderr
    return result


def add_partner(stack, name: str, *flags: str) -> dict:
    return orjson.loads(cli(stack, "partners", "add", name, *flags).stdout)


def access_of(partner: dict) -> KafkaAccess:
    kafka = partner["kafka"]
    return KafkaAccess(",".join(kafka["bootstrap_servers"]), kafka["security_protocol"], kafka["sasl_mechanism"],
                       kafka["sasl_plain_username"], kafka["sasl_plain_password"])


def event(type_: str, data: dict) -> bytes:
    return orjson.dumps({"specversion": "1.0", "id": str(uuid.uuid4()), "source": "/partner/test",
                         "time": "2026-12-01T12:00:00Z", "type": type_, "data": data})


def listing(pid: str, seller_id: str, **extra) -> dict:
    return {"product_id": pid, "seller_id": seller_id, "title": "Hollow Knight", "platform": "pc",
            "genres": ["metroidvania"], "price": {"amount": "29.90", "currency": "PEN"}, "stock": 3, **extra}


def connects(access: KafkaAccess) -> bool:
    """Whether `access` authenticates: an aiokafka producer's start is a full SASL handshake."""
    async def attempt() -> bool:
        producer = AIOKafkaProducer(**access.aiokafka(), request_timeout_ms=5000)
        try:
            await producer.start()
            return True
        except AIOKafkaError:
            return False
        finally:
            await producer.stop()

    return asyncio.run(attempt())


def send(access: KafkaAccess, topic: str, key: str, value: bytes) -> None:
    producer = KafkaProducer(**access.kafka_python(), acks="all", max_block_ms=10_000)
    try:
        producer.send(topic, key=key.encode(), value=value).get(timeout=15)
    finally:
        producer.close()


def records_read(access: KafkaAccess, tps: list[TopicPartition]) -> int:
    """How many records `access` fetches from the start of `tps` (a refused fetch reads none)."""
    consumer = KafkaConsumer(**access.kafka_python(), group_id=None, request_timeout_ms=5000)
    try:
        consumer.assign(tps)
        consumer.seek_to_beginning(*tps)
        return sum(len(batch) for _ in range(5) for batch in consumer.poll(timeout_ms=500).values())
    except TopicAuthorizationFailedError:
        return 0
    finally:
        consumer.close()


def test_no_credentials_or_a_wrong_password_cannot_connect_the_right_one_can(stack):
    operator = stack.broker.access()
    assert connects(operator)
    assert not connects(operator.as_user("operator", "not-the-password"))
    assert not connects(operator.as_user("nobody", "whatever"))
    anonymous = KafkaAccess(stack.broker.bootstrap)  # PLAINTEXT on the SASL listener
    assert not connects(anonymous)
    with pytest.raises(KafkaError):
        KafkaConsumer(**anonymous.kafka_python(), request_timeout_ms=3000, api_version=(2, 0),
                      max_block_ms=3000).topics()


def test_a_partner_writes_its_own_topic_and_nothing_else(stack):
    partner = add_partner(stack, f"p-{uuid.uuid4().hex[:8]}", "--seller", "seller-x")
    access = access_of(partner)
    (own,) = partner["topics"]
    assert partner["kind"] == "seller" and partner["seller_id"] == "seller-x" and own.endswith(".catalog")
    send(access, own, "p1", event(SET_STOCK, {"product_id": "p1", "seller_id": "seller-x", "stock": 1}))
    for topic in (*INTERNAL, "gamevault.catalog.commands", "gamevault.reviews.commands"):
        with pytest.raises(TopicAuthorizationFailedError):
            send(access, topic, "p1", b"{}")
    readable = (*INTERNAL, "gamevault.deadletter", "gamevault.users.events")  # not even their metadata
    for who, expected in ((access, 29), (stack.broker.access(), 0)):  # 29: TOPIC_AUTHORIZATION_FAILED
        admin_client = KafkaAdminClient(**who.kafka_python(), request_timeout_ms=5000)
        try:
            assert {d["name"]: d["error_code"] for d in admin_client.describe_topics(list(readable))} == {
                topic: expected for topic in readable}
        finally:
            admin_client.close()
    users = [TopicPartition("gamevault.internal.users.changelog", p) for p in range(8)]
    for tps in (users, [TopicPartition(own, p) for p in range(2)]):  # its own topic is write-only too
        assert records_read(access, tps) == 0
        assert records_read(stack.broker.access(), tps) > 0  # the admin account; the record sent above
    with pytest.raises(GroupAuthorizationFailedError):
        list(KafkaConsumer(own, **access.kafka_python(), group_id="gamevault-ingress", consumer_timeout_ms=3000))
    admin_client = KafkaAdminClient(**access.kafka_python(), request_timeout_ms=5000)
    try:
        with pytest.raises(TopicAuthorizationFailedError):
            admin_client.create_topics([NewTopic(f"gamevault.partners.{partner['name']}.extra", 1, 1)])
    finally:
        admin_client.close()


def test_a_sellers_integration_changes_only_its_sellers_products(stack, api):
    seller_a, seller_b = api.register("seller"), api.register("seller")
    theirs = api.product(seller_b, title="Seller B's game")
    partner = add_partner(stack, f"a-{uuid.uuid4().hex[:8]}", "--seller", seller_a.id)
    access, (topic,) = access_of(partner), partner["topics"]
    mine = f"sec-{uuid.uuid4().hex[:8]}"
    send(access, topic, theirs["id"], event(UPSERT, listing(theirs["id"], seller_b.id, title="Pwned",
                                                            price={"amount": "0.01", "currency": "PEN"})))
    send(access, topic, theirs["id"], event(SET_STOCK, {"product_id": theirs["id"], "seller_id": seller_a.id,
                                                        "stock": 0}))
    send(access, topic, mine, event(UPSERT, listing(mine, seller_a.id)))

    found = wait_for(lambda: next((p for p in api.http.get("/products", params={"q": "Hollow Knight"})
                                   .json()["items"] if p["id"] == mine), None), timeout=40)
    assert found["seller_id"] == seller_a.id
    dead = read_topic(stack.broker.access(), "gamevault.deadletter",
                      lambda recs: sum(r.key == theirs["id"].encode() for r in recs) >= 2, timeout=40)
    reasons = [headers_of(r) for r in dead if r.key == theirs["id"].encode()]
    assert [h["dlq.reason"] for h in reasons] == ["unauthorized", "unauthorized"]
    assert {h["dlq.source.topic"] for h in reasons} == {topic}
    after = api.http.get(f"/products/{theirs['id']}").json()
    assert (after["title"], after["price"], after["stock"]) == (theirs["title"], theirs["price"], theirs["stock"])


def test_a_review_channel_submits_as_itself_and_cannot_take_over_others_reviews(stack, api):
    seller, buyer = api.register("seller"), api.register("buyer")
    pid = api.product(seller)["id"]
    purchase(api, buyer, [pid])
    r = api.http.post(f"/products/{pid}/reviews", headers=buyer.headers,
                      json={"rating": 5, "title": "Mine", "body": "My own words about it."})
    assert r.status_code == 202, r.text
    buyers_review = r.json()["id"]
    channel = add_partner(stack, f"mag-{uuid.uuid4().hex[:6]}", "--reviews")
    access, (topic,) = access_of(channel), channel["topics"]
    base = {"product_id": pid, "rating": 1, "title": "Terrible", "body": "Written by the channel's reader."}
    send(access, topic, pid, event(SUBMIT, {**base, "review_id": buyers_review}))  # overwrite the buyer's
    send(access, topic, pid, event(SUBMIT, {**base, "buyer_id": buyer.id}))  # speak as the buyer
    send(access, topic, pid, event(SUBMIT, {**base, "external_id": "mag-1", "rating": 4}))  # its own
    boss = admin(api)

    def channel_review():
        items = api.http.get("/reviews/pending", headers=boss).json()["items"]
        return next((x for x in items if x.get("channel") == channel["name"]), None)

    own = wait_for(channel_review, timeout=40)
    assert own["rating"] == 4 and own["id"] != buyers_review
    assert own["author_id"].startswith(f"partner:{channel['name']}:") and own["author"] is None
    dead = read_topic(stack.broker.access(), "gamevault.deadletter",
                      lambda recs: sum(headers_of(r).get("dlq.source.topic") == topic for r in recs) >= 2, timeout=40)
    assert sorted(headers_of(r)["dlq.reason"] for r in dead if headers_of(r).get("dlq.source.topic") == topic) == [
        "unauthorized", "unauthorized"]
    mine = api.http.get("/reviews/pending", headers=boss).json()["items"]
    original = next(x for x in mine if x["id"] == buyers_review)
    assert (original["rating"], original["title"]) == (5, "Mine")


def test_produce_as_a_partner_publishes_on_its_own_topic(stack, api, tmp_path):
    seller = api.register("seller")
    name = f"cli-{uuid.uuid4().hex[:6]}"
    add_partner(stack, name, "--seller", seller.id)
    pid = f"cli-{uuid.uuid4().hex[:8]}"
    lines = [{"type": UPSERT, "data": listing(pid, seller.id)},
             {"type": UPSERT, "data": listing(f"{pid}-x", "someone-else")}]
    path = tmp_path / "listings.jsonl"
    path.write_bytes(b"\n".join(orjson.dumps(line) for line in lines) + b"\n")
    result = cli(stack, "produce", "gamevault.catalog.commands", "--file", str(path), "--complete",
                 "--partner", name, "--format", "json")
    sent = orjson.loads(result.stdout)
    assert all(r["ok"] for r in sent)  # valid records; the platform decides the scope, not the CLI
    assert wait_for(lambda: api.http.get(f"/products/{pid}").status_code == 200, timeout=40)
    dead = read_topic(stack.broker.access(), "gamevault.deadletter",
                      lambda recs: any(r.key == f"{pid}-x".encode() for r in recs), timeout=40)
    (refused,) = [r for r in dead if r.key == f"{pid}-x".encode()]
    assert headers_of(refused)["dlq.reason"] == "unauthorized"
    assert headers_of(refused)["dlq.source.topic"] == f"gamevault.partners.{name}.catalog"


def test_a_removed_partner_cannot_connect_again(stack):
    name = f"gone-{uuid.uuid4().hex[:6]}"
    access = access_of(add_partner(stack, name, "--reviews"))
    assert connects(access)
    assert name in cli(stack, "partners", "list").stdout
    cli(stack, "partners", "remove", name)
    assert not connects(access)
    assert name not in cli(stack, "partners", "list").stdout
    assert cli(stack, "partners", "remove", name, check=False).returncode != 0


def test_client_config_prints_working_settings_for_every_format(stack, tmp_path):
    as_json = orjson.loads(cli(stack, "kafka", "client-config", "--format", "json").stdout)
    consumer = KafkaConsumer(**as_json, request_timeout_ms=5000)
    try:
        assert "gamevault.catalog.commands" in consumer.topics()
    finally:
        consumer.close()
    properties = cli(stack, "kafka", "client-config", "--format", "properties").stdout
    assert "sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule" in properties
    kcat = cli(stack, "kafka", "client-config", "--format", "kcat").stdout.split()  # kcat $(...) -L, as is
    listed = subprocess.run(["kcat", *kcat, "-L", "-t", "gamevault.deadletter"], capture_output=True, text=True,
                            timeout=30)
    assert listed.returncode == 0 and "gamevault.deadletter" in listed.stdout, listed.stderr
    anonymous = subprocess.run(["kcat", "-b", f"127.0.0.1:{stack.broker.ports.mtls}", "-X", "security.protocol=ssl",
                                "-X", f"ssl.ca.location={stack.home / 'kafka' / 'tls' / 'ca.pem'}", "-L", "-m", "3"],
                               capture_output=True, text=True, timeout=30)
    assert anonymous.returncode != 0  # no client certificate, no metadata


def test_a_seller_creates_and_revokes_its_own_integration_through_the_api(stack, api):
    seller, other, buyer = api.register("seller"), api.register("seller"), api.register("buyer")
    name = f"api-{uuid.uuid4().hex[:8]}"
    assert api.http.post("/seller/integrations", json={"name": name}, headers=buyer.headers).status_code == 403
    created = api.http.post("/seller/integrations", json={"name": name}, headers=seller.headers)
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["seller_id"] == seller.id and body["topics"] == [f"gamevault.partners.{name}.catalog"]
    assert created.headers["cache-control"] == "no-store"
    again = api.http.post("/seller/integrations", json={"name": name}, headers=other.headers)
    assert again.status_code == 409 and again.headers["content-type"].startswith("application/problem+json")
    access = access_of(body)
    pid = f"int-{uuid.uuid4().hex[:8]}"
    send(access, body["topics"][0], pid, event(UPSERT, listing(pid, seller.id)))
    assert wait_for(lambda: api.http.get(f"/products/{pid}").status_code == 200, timeout=40)
    listed = api.http.get("/seller/integrations", headers=seller.headers).json()["items"]
    assert [i["name"] for i in listed] == [name] and "kafka" not in listed[0]
    assert api.http.get("/seller/integrations", headers=other.headers).json()["items"] == []
    assert api.http.delete(f"/seller/integrations/{name}", headers=other.headers).status_code == 404
    assert connects(access)
    assert api.http.delete(f"/seller/integrations/{name}", headers=seller.headers).status_code == 204
    assert not connects(access)


def kafka_ports_of(pid: int) -> set[int]:
    """The remote ports of `pid`'s established TCP connections (ss, from iproute2)."""
    out = subprocess.run(["ss", "-Htnp", "state", "established"], capture_output=True, text=True).stdout
    return {int(line.split()[3].rsplit(":", 1)[1]) for line in out.splitlines() if f"pid={pid}," in line}


def test_the_platform_runs_over_tls_and_survives_reauthentication(isolated):
    """A broker whose sessions expire every 10 s, and a worker on its SASL_SSL listener only: the saga
    still completes after every connection has outlived its session, and a partner removed meanwhile
    loses the connection it had open (its re-authentication fails)."""
    stack = isolated(reauth_ms=10_000, GAMEVAULT_KAFKA_SECURITY_PROTOCOL="SASL_SSL")
    stack.start_simulators()
    worker = stack.start_worker()
    api = Api(stack.url)
    partner = add_partner(stack, "short-lived", "--reviews")
    open_producer = KafkaProducer(**access_of(partner).kafka_python(), acks="all", max_block_ms=5000,
                                  request_timeout_ms=5000, retries=0)
    try:
        open_producer.send(partner["topics"][0], b"{}").get(timeout=10)  # connected and allowed
        cli(stack, "partners", "remove", "short-lived")
        seller, buyer = api.register("seller"), api.register("buyer")
        product = api.product(seller, stock=2)
        ports = kafka_ports_of(worker.proc.pid) & set(vars(stack.broker.ports).values())
        assert ports == {stack.broker.ports.tls}, ports  # TLS only: never the plaintext SASL listener
        time.sleep(11)  # past the re-authentication deadline of every connection opened so far
        with pytest.raises(KafkaError):
            open_producer.send(partner["topics"][0], b"{}").get(timeout=15)
        order = settle(api, buyer, place(api, buyer, [(product["id"], 1)]).json()["id"], timeout=60)
        assert order["status"] == "completed"
        assert httpx.get(f"{stack.url}/readyz").json()["ready"]
    finally:
        with contextlib.suppress(KafkaError):  # its last record can never be delivered: do not wait for it
            open_producer.close(timeout=0)
        api.close()
