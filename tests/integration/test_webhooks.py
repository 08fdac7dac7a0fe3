"""Payment webhooks: only genuine, fresh notifications are accepted, stored before any 2xx, deduplicated;
a storm of duplicated, reordered notifications leaves every order right."""

import time
import uuid

import httpx
import orjson
from cryptography.hazmat.primitives.asymmetric import rsa

from gamevault.adapters.signing import hmac_header, paypal_message, paypal_sign
from tests.integration.support import headers_of, read_topic, wait_for
from tests.integration.test_users_api import problem
from tests.support.api import Api, place, settle


def secret(stack, name):
    return (stack.home / "secrets" / name).read_text().strip()


def yape_event(order_id, outcome="charge.succeeded", event_id=None):
    return orjson.dumps({"id": event_id or f"evt_{uuid.uuid4().hex}", "type": outcome, "created": int(time.time()),
                         "data": {"id": "ch_x", "status": "succeeded", "metadata": {"order_id": order_id}}})


def post(api, provider, body, headers):
    return api.http.post(f"/payments/webhooks/{provider}", content=body,
                         headers={"content-type": "application/json", **headers})


def test_forged_and_stale_notifications_are_refused(stack, api):
    body = yape_event(str(uuid.uuid4()))
    problem(post(api, "yape", body, {"Yape-Signature": hmac_header("not-the-secret", body)}), 401)
    problem(post(api, "yape", body, {}), 401)
    good = hmac_header(secret(stack, "yape-webhook-secret"), body)
    problem(post(api, "yape", body + b" ", {"Yape-Signature": good}), 401)  # altered body
    stale = hmac_header(secret(stack, "yape-webhook-secret"), body, timestamp=int(time.time()) - 600)
    assert "outside" in problem(post(api, "yape", body, {"Yape-Signature": stale}), 400)["detail"]
    problem(post(api, "plin", body, {"X-Plin-Signature": good}), 401)  # Yape's secret is not Plin's
    problem(post(api, "bitcoin", body, {}), 404)


def test_paypal_signatures_are_checked_against_the_gateway_certificate(stack, api):
    body = orjson.dumps({"id": "WH-1", "event_type": "PAYMENT.CAPTURE.COMPLETED",
                         "resource": {"id": "P", "purchase_units": [{"reference_id": "o"}]}})
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    sig = paypal_sign(key, paypal_message("t1", now, secret(stack, "paypal-webhook-id"), body))
    genuine_cert = f"{stack.sim_url}/paypal/v1/notifications/certs/CERT-gamevault-sim-1.pem"
    headers = {"PAYPAL-TRANSMISSION-ID": "t1", "PAYPAL-TRANSMISSION-TIME": now, "PAYPAL-TRANSMISSION-SIG": sig,
               "PAYPAL-AUTH-ALGO": "SHA256withRSA", "PAYPAL-CERT-URL": genuine_cert}
    problem(post(api, "paypal", body, headers), 401)  # signed with a key that is not the gateway's
    foreign = {**headers, "PAYPAL-CERT-URL": "http://evil.example/cert.pem"}
    assert "not the gateway's" in problem(post(api, "paypal", body, foreign), 401)["detail"]


def test_a_notification_for_an_unknown_payment_is_stored_then_dead_lettered(stack, api):
    order_id = f"unknown-{uuid.uuid4().hex[:8]}"
    event_id = f"evt_{uuid.uuid4().hex}"
    body = yape_event(order_id, event_id=event_id)
    r = post(api, "yape", body, {"Yape-Signature": hmac_header(secret(stack, "yape-webhook-secret"), body)})
    assert r.status_code == 200 and r.json() == {"status": "stored", "event_id": event_id}
    dead = read_topic(stack.broker.access(), "gamevault.deadletter",
                      lambda recs: any(x.key == order_id.encode() for x in recs))
    [record] = [x for x in dead if x.key == order_id.encode()]
    assert headers_of(record)["dlq.reason"] == "rejected" and "unknown payment" in headers_of(record)["dlq.detail"]


def test_webhook_storm_three_copies_out_of_order(stack, api):
    stack.chaos(webhook_copies=3, shuffle=True)
    try:
        seller = api.register("seller")
        product = api.product(seller, stock=30)
        buyers = [api.register("buyer") for _ in range(3)]
        orders = [(b, place(api, b, [(product["id"], 1)], payment=p).json())
                  for b in buyers for p in ("paypal", "yape", "plin", "plin-declined")]
        finals = [settle(api, b, o["id"], timeout=60) for b, o in orders]
    finally:
        stack.chaos(webhook_copies=1, shuffle=False)
    ledger = stack.ledger()
    for buyer, order in zip((b for b, _ in orders), finals, strict=True):
        declined = order["payment"]["provider"] == "plin" and order["status"] == "cancelled"
        expected = "cancelled" if declined else "completed"
        assert order["status"] == expected
        assert ledger[order["id"]]["captures"] <= 1 and ledger[order["id"]]["refunds"] == 0
        timeline = [e["status"] for e in api.http.get(f"/orders/{order['id']}/timeline", headers=buyer.headers).json()]
        assert len(timeline) == len(set(timeline)), timeline
    assert sum(o["status"] == "completed" for o in finals) == 9
    # the declined orders' releases are catalog commands of their own: the stock settles a moment later
    wait_for(lambda: api.http.get(f"/products/{product['id']}").json()["stock"] == 21, timeout=15)


def test_no_2xx_while_kafka_is_down(isolated):
    stack = isolated()
    stack.start_simulators()
    stack.start_worker()
    api = Api(stack.url)
    body = yape_event(str(uuid.uuid4()))
    sign = lambda: {"Yape-Signature": hmac_header(secret(stack, "yape-webhook-secret"), body)}  # noqa: E731
    assert post(api, "yape", body, sign()).status_code == 200
    stack.broker.stop()
    try:
        started = time.monotonic()
        r = post(api, "yape", body, sign())
        assert r.status_code == 503, r.text
        assert int(r.headers["retry-after"]) >= 1 and r.headers["content-type"] == "application/problem+json"
        assert time.monotonic() - started < 15
    finally:
        stack.broker.start(echo=lambda m: None)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:  # the gateway's retry succeeds once Kafka is back
        try:
            if post(api, "yape", body, sign()).status_code == 200:
                break
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    else:
        raise AssertionError("the webhook was never accepted after Kafka came back")
    api.close()


def test_a_signed_notification_cannot_settle_another_providers_order(stack, api):
    """Plin's genuine signature on a body naming a Yape order (and one with the right provider but a wrong
    amount) are stored, then refused against the payment and dead-lettered; the order is not paid on them."""
    stack.chaos(delay_s=3)  # the wallet confirms after 3 s: the forgeries arrive first
    try:
        seller, buyer = api.register("seller"), api.register("buyer")
        product = api.product(seller, stock=5)
        order = place(api, buyer, [(product["id"], 1)], payment="yape").json()
        wait_for(lambda: api.http.get(f"/orders/{order['id']}", headers=buyer.headers).json()["status"]
                 == "payment_pending", timeout=20)
        forged = []
        for provider, header, amount in (("plin", "X-Plin-Signature", 4990), ("yape", "Yape-Signature", 1)):
            event_id = f"evt_{uuid.uuid4().hex}"
            body = orjson.dumps({"id": event_id, "type": "charge.succeeded" if provider == "yape" else
                                 "payment_request.paid", "created": int(time.time()),
                                 "data": {"id": "any", "status": "succeeded", "amount": amount, "currency": "PEN",
                                          "metadata": {"order_id": order["id"]}}})
            r = post(api, provider, body, {header: hmac_header(secret(stack, f"{provider}-webhook-secret"), body)})
            assert r.status_code == 200, r.text
            forged.append(event_id)
        dead = read_topic(stack.broker.access(), "gamevault.deadletter",
                          lambda recs: sum(x.key == order["id"].encode() for x in recs) >= 2)
        details = [headers_of(x)["dlq.detail"] for x in dead if x.key == order["id"].encode()]
        assert any("plin notification for a yape payment" in d for d in details), details
        assert any("is not this payment's" in d for d in details), details
        assert api.http.get(f"/orders/{order['id']}", headers=buyer.headers).json()["status"] == "payment_pending"
        final = settle(api, buyer, order["id"], timeout=30)  # the genuine confirmation still completes it
        assert final["status"] == "completed"
    finally:
        stack.chaos(delay_s=0.05)
