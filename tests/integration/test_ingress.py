"""Outside producers: a valid record is accepted, each kind of invalid one is dead-lettered with its
reason, and the worker keeps answering /readyz throughout."""

import threading
import time
import uuid

import httpx
import orjson

from tests.integration.support import headers_of, producer, read_topic, wait_for


def cloudevent(type_, data, **attrs):
    return {"specversion": "1.0", "id": str(uuid.uuid4()), "source": "/partner/test",
            "time": "2026-11-28T12:00:00Z", "type": type_, "data": data, **attrs}


def listing(product_id, seller_id, **extra):
    return {"product_id": product_id, "seller_id": seller_id, "title": "Celeste", "platform": "pc",
            "genres": ["platformer"], "price": {"amount": "19.90", "currency": "PEN"}, "stock": 7, **extra}


def test_valid_is_accepted_invalid_are_deadlettered(stack, api):
    seller = api.register("seller")
    run = uuid.uuid4().hex[:8]
    good_id = f"ingress-{run}-ok"
    upsert = "gamevault.catalog.product.upsert"
    bad = {  # key -> (value, expected reason)
        "not-json": (b"{{{ definitely not json", "not_json"),
        "empty": (b"", "not_json"),
        "array": (b"[1,2,3]", "not_cloudevent"),
        "no-specversion": (orjson.dumps({k: v for k, v in cloudevent(upsert, {}).items() if k != "specversion"}),
                           "not_cloudevent"),
        "bad-time": (orjson.dumps(cloudevent(upsert, listing("x", seller.id), time="noon")), "not_cloudevent"),
        "unknown-type": (orjson.dumps(cloudevent("gamevault.catalog.product.teleport", {})), "unknown_type"),
        "wrong-topic": (orjson.dumps(cloudevent("gamevault.reviews.review.submit", {})), "wrong_topic"),
        "float-price": (orjson.dumps(cloudevent(upsert, listing("k1", seller.id, price={"amount": 19.9}))),
                        "schema_violation"),
        "extra-field": (orjson.dumps(cloudevent(upsert, listing("k2", seller.id, discount=10))), "schema_violation"),
        "key-mismatch": (orjson.dumps(cloudevent(upsert, listing("other-id", seller.id))), "key_mismatch"),
        "unknown-seller": (orjson.dumps(cloudevent(upsert, listing(f"ingress-{run}-nos", "no-such-seller"))),
                           "rejected"),
    }
    keys = {name: f"{run}-{name}" for name in bad}
    # the two records whose key must be their aggregate id
    keys["unknown-seller"] = f"ingress-{run}-nos"

    readiness: list[int] = []
    stop = threading.Event()

    def probe():
        with httpx.Client(base_url=stack.url, timeout=5) as client:
            while not stop.is_set():
                readiness.append(client.get("/readyz").status_code)
                time.sleep(0.05)

    prober = threading.Thread(target=probe)
    prober.start()
    try:
        kp = producer(stack.broker.access())
        for name, (value, _) in bad.items():
            kp.send("gamevault.catalog.commands", key=keys[name].encode(), value=value)
        kp.send("gamevault.catalog.commands", key=good_id.encode(),
                value=orjson.dumps(cloudevent(upsert, listing(good_id, seller.id))))
        kp.flush()
        kp.close()

        product = wait_for(lambda: (r := api.http.get(f"/products/{good_id}")).status_code == 200 and r.json())
        assert product["title"] == "Celeste" and product["stock"] == 7 and product["seller_id"] == seller.id

        wanted = set(keys.values())
        dead = read_topic(stack.broker.access(), "gamevault.deadletter",
                          lambda recs: wanted <= {r.key.decode() for r in recs if r.key})
    finally:
        stop.set()
        prober.join()

    by_key = {r.key.decode(): r for r in dead if r.key and r.key.decode() in wanted}
    for name, (value, reason) in bad.items():
        record = by_key[keys[name]]
        headers = headers_of(record)
        assert headers["dlq.reason"] == reason, (name, headers)
        assert headers["dlq.detail"]
        assert record.value == value or name == "unknown-seller"  # the original record, unchanged
        assert headers["dlq.source.topic"] == "gamevault.catalog.commands"
        assert int(headers["dlq.source.offset"]) >= 0
        assert 0 <= int(headers["dlq.source.partition"]) < 8
    assert good_id not in by_key
    assert readiness and set(readiness) == {200}, readiness


def test_routing_headers_a_producer_sends_are_not_believed(stack):
    """A forged reply-to/correlation-id pair must not route a refusal to the replies topic, and a forged
    ingress-offset must not fake the dead letter's coordinates: only traceparent is carried over."""
    run = uuid.uuid4().hex[:8]
    refused, malformed = f"hdr-{run}-refused", f"hdr-{run}-malformed"
    forged = [("reply-to", b"0"), ("correlation-id", f"forged-{run}".encode()),
              ("ingress-offset", b"gamevault.users.events/0/0"),
              ("traceparent", b"00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01")]
    kp = producer(stack.broker.access())
    sent = {
        refused: kp.send("gamevault.catalog.commands", key=refused.encode(), headers=forged, value=orjson.dumps(
            cloudevent("gamevault.catalog.product.upsert", listing(refused, "no-such-seller")))).get(10),
        malformed: kp.send("gamevault.catalog.commands", key=malformed.encode(), headers=forged,
                           value=b"{not json").get(10),
    }
    kp.close()
    dead = read_topic(stack.broker.access(), "gamevault.deadletter",
                      lambda recs: set(sent) <= {r.key.decode() for r in recs if r.key})
    for key, meta in sent.items():
        (record,) = [r for r in dead if r.key == key.encode()]
        headers = headers_of(record)
        assert (headers["dlq.source.topic"], headers["dlq.source.offset"]) == (meta.topic, str(meta.offset))
        assert "reply-to" not in headers and "correlation-id" not in headers and "ingress-offset" not in headers
        assert headers["traceparent"].startswith("00-0af7651916cd43dd8448eb211c80319c-")
    assert headers_of(next(r for r in dead if r.key == refused.encode()))["dlq.reason"] == "rejected"
    replies = read_topic(stack.broker.access(), "gamevault.internal.replies",
                         lambda recs: False, timeout=3)
    assert not [r for r in replies if r.key == f"forged-{run}".encode()]
