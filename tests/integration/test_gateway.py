"""Gateway behaviour that needs its own stack: rate limits, degraded composition, trace propagation."""

import uuid

import httpx
import orjson

from tests.integration.support import read_topic
from tests.integration.test_users_api import problem
from tests.support.api import Api


def test_rate_limits_answer_429_with_ietf_headers(isolated):
    stack = isolated(GAMEVAULT_RATE_LIMIT_PER_MINUTE="30", GAMEVAULT_WEBHOOK_RATE_LIMIT_PER_MINUTE="20")
    stack.start_worker()
    api = Api(stack.url)
    user = api.register()
    with httpx.Client(base_url=stack.url + "/api/v1") as http:
        anonymous = [http.get("/products") for _ in range(35)]
        assert {r.status_code for r in anonymous[:25]} == {200}
        refused = [r for r in anonymous if r.status_code == 429]
        assert refused, "the anonymous budget of 30/min was never enforced"
        r = refused[0]
        body = problem(r, 429)
        assert int(r.headers["retry-after"]) >= 1 and "rate limit" in body["detail"]
        assert r.headers["ratelimit-policy"] == '"anonymous";q=30;w=60'
        assert r.headers["ratelimit"].startswith('"anonymous";r=0;t=')
        ok = anonymous[0]
        assert ok.headers["ratelimit-policy"] == '"anonymous";q=30;w=60'
        # an authenticated user has a bucket of its own (twice the anonymous budget)
        mine = http.get("/products", headers=user.headers)
        assert mine.status_code == 200 and mine.headers["ratelimit-policy"] == '"user";q=60;w=60'
        # operations endpoints are never limited
        assert {http.get(stack.url + "/readyz").status_code for _ in range(40)} == {200}
        # the gateways' callbacks have a budget of their own per source: a flood of forged PayPal notices,
        # each naming another certificate URL, is refused without a single certificate fetch
        flood = [http.post("/payments/webhooks/paypal", content=b"{}", headers={
            "PAYPAL-TRANSMISSION-ID": str(n), "PAYPAL-TRANSMISSION-TIME": "2026-12-01T00:00:00Z",
            "PAYPAL-TRANSMISSION-SIG": "c2ln", "PAYPAL-CERT-URL": f"http://127.0.0.1:1/certs/x.pem?n={n}"}).status_code
            for n in range(30)]
        assert set(flood[:15]) <= {400, 401} and flood[-1] == 429, flood
    api.close()


def test_degraded_parts_are_named_and_the_page_still_answers(isolated):
    stack = isolated(GAMEVAULT_CHAOS="reviews,rating")
    stack.start_worker()
    api = Api(stack.url)
    product = api.product(api.register("seller"))
    r = api.http.get(f"/products/{product['id']}/page")
    assert r.status_code == 200
    page = r.json()
    assert sorted(page["degraded"]) == ["rating", "reviews"]
    assert page["product"]["id"] == product["id"] and page["seller"]["id"] == product["seller_id"]
    assert page["rating"] is None and page["reviews"] == []
    api.close()


def test_traceparent_reaches_the_events_a_request_causes(stack, api):
    seller = api.register("seller")
    trace_id = uuid.uuid4().hex
    r = api.http.post("/products", headers={**seller.headers, "traceparent": f"00-{trace_id}-{'1' * 16}-01"},
                      json={"title": "Traced", "platform": "pc", "genres": ["action"], "price": {"amount": "5.00"}})
    pid = r.json()["id"]
    records = read_topic(stack.broker.access(), "gamevault.catalog.events",
                         lambda recs: any(x.key == pid.encode() for x in recs))
    [created] = [x for x in records if x.key == pid.encode()]
    headers = dict(created.headers)
    assert headers["traceparent"].decode().split("-")[1] == trace_id
    event = orjson.loads(created.value)
    assert event["type"] == "gamevault.catalog.product.created" and event["subject"] == pid
    assert event["specversion"] == "1.0" and event["data"]["title"] == "Traced"
