"""CR through the gateway and the partner channel, and the product rating it feeds."""

import time
import uuid

import orjson

from tests.integration.support import headers_of, producer, read_topic, wait_for
from tests.integration.test_users_api import problem
from tests.support.api import admin, purchase

REVIEW = {"rating": 4, "title": "Solid game", "body": "Fun campaign and a fair price."}


def rating_of(api, pid):
    return api.http.get(f"/products/{pid}").json()["rating"]


def test_review_moderation_rating_flow(api):
    seller, buyer, other = api.register("seller"), api.register("buyer"), api.register("buyer")
    product = api.product(seller)
    pid = product["id"]
    problem(api.http.post(f"/products/{pid}/reviews", json=REVIEW, headers=buyer.headers), 403)  # no purchase yet
    purchase(api, buyer, [pid])
    r = api.http.post(f"/products/{pid}/reviews", json=REVIEW, headers=buyer.headers)
    assert r.status_code == 202 and r.json()["status"] == "pending", r.text
    rid = r.json()["id"]
    problem(api.http.post(f"/products/{pid}/reviews", json=REVIEW, headers=buyer.headers), 409)
    problem(api.http.post(f"/products/{pid}/reviews", json=REVIEW, headers=other.headers), 403)
    problem(api.http.post(f"/products/{pid}/reviews", json=REVIEW, headers=seller.headers), 403)
    problem(api.http.post(f"/products/{pid}/reviews", json=REVIEW), 401)
    problem(api.http.post(f"/products/{uuid.uuid4()}/reviews", json=REVIEW, headers=buyer.headers), 404)
    assert api.http.get(f"/products/{pid}/reviews").json()["items"] == []  # not approved yet

    boss = admin(api)
    assert rid in [x["id"] for x in api.http.get("/reviews/pending", headers=boss).json()["items"]]
    problem(api.http.post(f"/reviews/{rid}/moderation", json={"decision": "approve"}, headers=buyer.headers), 403)
    problem(api.http.post(f"/reviews/{uuid.uuid4()}/moderation", json={"decision": "approve"}, headers=boss), 404)
    problem(api.http.post(f"/reviews/{rid}/moderation", json={"decision": "maybe"}, headers=boss), 422)
    approved = api.http.post(f"/reviews/{rid}/moderation", json={"decision": "approve", "reason": "ok"}, headers=boss)
    assert approved.status_code == 200 and approved.json()["status"] == "approved"
    problem(api.http.post(f"/reviews/{rid}/moderation", json={"decision": "reject"}, headers=boss), 409)
    wait_for(lambda: rating_of(api, pid)["count"] == 1)
    assert rating_of(api, pid) == {"average": 4.0, "count": 1, "histogram": {"1": 0, "2": 0, "3": 0, "4": 1, "5": 0}}
    listed = api.http.get(f"/products/{pid}/reviews").json()["items"]
    assert [(x["id"], x["rating"], x["author"]["id"]) for x in listed] == [(rid, 4, buyer.id)]
    assert "email" not in str(listed)

    # an edit is moderated again; once approved the review moves from its old stars to the new
    edited = api.http.patch(f"/reviews/{rid}", json={"rating": 2, "body": "The last patch broke my saves."},
                            headers=buyer.headers)
    assert edited.status_code == 202 and edited.json()["status"] == "pending"
    problem(api.http.patch(f"/reviews/{rid}", json={"rating": 1}, headers=other.headers), 404)
    assert api.http.get(f"/products/{pid}/reviews").json()["items"][0]["rating"] == 4  # the approved version shows
    api.http.post(f"/reviews/{rid}/moderation", json={"decision": "approve"}, headers=boss)
    wait_for(lambda: rating_of(api, pid)["histogram"]["2"] == 1)
    assert rating_of(api, pid)["count"] == 1 and rating_of(api, pid)["average"] == 2.0
    # a retraction removes it from the rating
    problem(api.http.delete(f"/reviews/{rid}", headers=other.headers), 404)
    assert api.http.delete(f"/reviews/{rid}", headers=buyer.headers).status_code == 204
    wait_for(lambda: rating_of(api, pid)["count"] == 0)
    assert api.http.get(f"/products/{pid}/reviews").json()["items"] == []


def test_automatic_rules_and_validation(api):
    seller, buyer = api.register("seller"), api.register("buyer")
    pid = api.product(seller)["id"]
    purchase(api, buyer, [pid])
    for bad in ({**REVIEW, "rating": 6}, {**REVIEW, "rating": 0}, {**REVIEW, "body": "short"},
                {**REVIEW, "title": ""}, {**REVIEW, "extra": 1}):
        problem(api.http.post(f"/products/{pid}/reviews", json=bad, headers=buyer.headers), 422)
    r = api.http.post(f"/products/{pid}/reviews", headers=buyer.headers,
                      json={**REVIEW, "body": "Get it cheaper at http://keys.example now"})
    assert r.status_code == 202 and r.json() == {"id": r.json()["id"], "status": "rejected",
                                                 "reason": "links are not allowed in reviews"}


def test_reviews_list_newest_first_with_pages(api):
    seller = api.register("seller")
    pid = api.product(seller, stock=50)["id"]
    boss = admin(api)
    ids = []
    for n in range(5):
        buyer = api.register("buyer")
        purchase(api, buyer, [pid])
        rid = api.http.post(f"/products/{pid}/reviews", headers=buyer.headers,
                            json={**REVIEW, "title": f"Review number {n}"}).json()["id"]
        api.http.post(f"/reviews/{rid}/moderation", json={"decision": "approve"}, headers=boss)
        ids.append(rid)
        time.sleep(0.01)
    seen, cursor = [], None
    while True:
        page = api.http.get(f"/products/{pid}/reviews", params={"limit": 2, **({"cursor": cursor} if cursor else {})})
        seen += [x["id"] for x in page.json()["items"]]
        cursor = page.json()["next_cursor"]
        if cursor is None:
            break
    assert seen == list(reversed(ids))
    wait_for(lambda: rating_of(api, pid)["count"] == 5)  # the rating follows asynchronously
    page = api.http.get(f"/products/{pid}/page").json()
    assert [x["id"] for x in page["reviews"]] == list(reversed(ids)) and page["rating"]["count"] == 5


def test_partner_channel_gets_the_same_checks(stack, api):
    seller, buyer, stranger = api.register("seller"), api.register("buyer"), api.register("buyer")
    pid = api.product(seller)["id"]
    purchase(api, buyer, [pid])

    def submit(buyer_id, review_id, **data):
        body = {"review_id": review_id, "product_id": pid, "buyer_id": buyer_id, "rating": 5, "title": "From partner",
                "body": "Reviewed on our partner store.", "channel": "partner-store", **data}
        return {"specversion": "1.0", "id": str(uuid.uuid4()), "source": "/partner/store",
                "time": "2026-11-28T12:00:00Z",
                "type": "gamevault.reviews.review.submit", "data": body}

    good, unverified, broken = f"pr-{uuid.uuid4().hex[:8]}", f"pr-{uuid.uuid4().hex[:8]}", f"pr-{uuid.uuid4().hex[:8]}"
    kp = producer(stack.broker.access())
    kp.send("gamevault.reviews.commands", key=pid.encode(), value=orjson.dumps(submit(buyer.id, good)))
    kp.send("gamevault.reviews.commands", key=pid.encode(), value=orjson.dumps(submit(buyer.id, good)))  # duplicate
    kp.send("gamevault.reviews.commands", key=pid.encode(), value=orjson.dumps(submit(stranger.id, unverified)))
    kp.send("gamevault.reviews.commands", key=pid.encode(), value=orjson.dumps(submit(buyer.id, broken, rating=9)))
    kp.flush()
    kp.close()
    boss = admin(api)
    wait_for(lambda: any(x["id"] == good for x in api.http.get("/reviews/pending", headers=boss).json()["items"]))
    def review_id(record) -> str | None:  # the topic also holds other tests' deliberately broken records
        try:
            return orjson.loads(record.value).get("data", {}).get("review_id")
        except (orjson.JSONDecodeError, AttributeError, TypeError):
            return None

    dead = read_topic(stack.broker.access(), "gamevault.deadletter",
                      lambda recs: {unverified, broken} <= {review_id(r) for r in recs})
    reasons = {review_id(r): headers_of(r)["dlq.reason"] for r in dead if review_id(r) in (unverified, broken)}
    assert reasons == {unverified: "rejected", broken: "schema_violation"}
    pending = [x for x in api.http.get("/reviews/pending", headers=boss).json()["items"] if x["id"] == good]
    assert len(pending) == 1  # the duplicate changed nothing
