"""What buyers, sellers and operators do every day: cancel, fulfil, delist, find stuck sagas."""

from __future__ import annotations

import time
import uuid

import orjson

from tests.integration.support import wait_for
from tests.integration.test_users_api import problem
from tests.support.api import ADDRESS, admin, place, settle


def order_of(api, user, order_id):
    return api.http.get(f"/orders/{order_id}", headers=user.headers).json()


def test_a_buyer_cancels_until_the_shipment_exists_and_the_saga_compensates(stack, api):
    seller, buyer, stranger = api.register("seller"), api.register("buyer"), api.register("buyer")
    product = api.product(seller, stock=5)
    stack.chaos(delay_s=2)  # the wallet confirms after 2 s: the cancel lands while the payment is pending
    try:
        order = place(api, buyer, [(product["id"], 2)], payment="yape").json()
        wait_for(lambda: order_of(api, buyer, order["id"])["status"] == "payment_pending", timeout=20)
        problem(api.http.post(f"/orders/{order['id']}/cancel", headers=stranger.headers), 404)
        problem(api.http.post(f"/orders/{order['id']}/cancel", headers=seller.headers), 404)
        r = api.http.post(f"/orders/{order['id']}/cancel", headers=buyer.headers)
        assert r.status_code == 202, r.text
        final = settle(api, buyer, order["id"], timeout=30)
        assert (final["status"], final["cancel_reason"]) == ("cancelled", "buyer_cancelled")
        time.sleep(3)  # the wallet's confirmation arrives after the void: SP refunds it
        ledger = stack.ledger().get(order["id"], {})
        assert ledger.get("captures", 0) == ledger.get("refunds", 0)  # money consistent: nothing kept
        assert wait_for(lambda: api.http.get(f"/products/{product['id']}").json()["stock"] == 5)  # released
        problem(api.http.post(f"/orders/{order['id']}/cancel", headers=buyer.headers), 409)
    finally:
        stack.chaos(delay_s=0.05)
    done = place(api, buyer, [(product["id"], 1)], payment="plin").json()
    assert settle(api, buyer, done["id"])["status"] == "completed"
    problem(api.http.post(f"/orders/{done['id']}/cancel", headers=buyer.headers), 409)  # shipped already


def test_a_paid_order_is_refunded_then_cancelled(stack, api):
    seller, buyer = api.register("seller"), api.register("buyer")
    product = api.product(seller, stock=3)
    stack.chaos(delay_s=2)  # the carrier answers after 2 s: the order sits in paid meanwhile
    try:
        order = place(api, buyer, [(product["id"], 1)], payment="plin").json()
        wait_for(lambda: order_of(api, buyer, order["id"])["status"] in ("paid", "shipping"), timeout=20)
        r = api.http.post(f"/orders/{order['id']}/cancel", headers=buyer.headers)
        if r.status_code == 409:  # the shipment was created first: the race went the other way, rightly
            assert "shipment" in r.json()["detail"]
            return
        assert r.status_code == 202, r.text
        final = settle(api, buyer, order["id"], timeout=30)
        assert (final["status"], final["cancel_reason"]) == ("cancelled", "buyer_cancelled")
        assert final["payment"]["status"] == "refunded"
        assert wait_for(lambda: stack.ledger()[order["id"]].get("refunds") == 1)
    finally:
        stack.chaos(delay_s=0.05)


def test_admins_list_stuck_sagas_by_state_and_age_and_cancel_them(stack, api):
    seller, buyer = api.register("seller"), api.register("buyer")
    product = api.product(seller, stock=3)
    boss = admin(api)
    order = place(api, buyer, [(product["id"], 1)], payment="yape-never").json()  # the wallet never confirms
    wait_for(lambda: order_of(api, buyer, order["id"])["status"] == "payment_pending", timeout=20)
    problem(api.http.get("/admin/orders", headers=buyer.headers), 403)
    pending = api.http.get("/admin/orders", params={"status": "payment_pending", "limit": 100}, headers=boss).json()
    assert order["id"] in [o["id"] for o in pending["items"]]
    young = api.http.get("/admin/orders", params={"status": "payment_pending", "older_than_s": 3600},
                         headers=boss).json()
    assert order["id"] not in [o["id"] for o in young["items"]]
    r = api.http.post(f"/admin/orders/{order['id']}/cancel", headers=boss)
    assert r.status_code == 202, r.text
    final = settle(api, buyer, order["id"], timeout=30)
    assert (final["status"], final["cancel_reason"]) == ("cancelled", "admin_cancelled")
    problem(api.http.post(f"/admin/orders/{order['id']}/cancel", headers=boss), 409)


def test_sellers_see_their_own_lines_and_a_summary(api):
    mine, theirs, buyer = api.register("seller"), api.register("seller"), api.register("buyer")
    a = api.product(mine, price={"amount": "10.00", "currency": "PEN"}, stock=10)
    b = api.product(theirs, price={"amount": "99.00", "currency": "PEN"}, stock=10)
    order = place(api, buyer, [(a["id"], 2), (b["id"], 1)], payment="plin").json()
    assert settle(api, buyer, order["id"])["status"] == "completed"
    problem(api.http.get("/seller/orders", headers=buyer.headers), 403)
    listed = api.http.get("/seller/orders", headers=mine.headers).json()["items"]
    (seen,) = [o for o in listed if o["id"] == order["id"]]
    assert [line["product_id"] for line in seen["lines"]] == [a["id"]]  # only the caller's line
    assert seen["shipping_city"] == ADDRESS["city"] and "buyer_id" not in seen and "shipping_address" not in seen
    assert "email" not in str(seen) and ADDRESS["line1"] not in str(seen)
    completed = api.http.get("/seller/orders", params={"status": "completed"}, headers=mine.headers).json()
    assert order["id"] in [o["id"] for o in completed["items"]]
    assert api.http.get("/seller/orders", params={"status": "cancelled"}, headers=mine.headers).json()["items"] == []
    summary = api.http.get("/seller/summary", headers=mine.headers).json()
    assert summary["units_sold"] == 2 and summary["orders_completed"] == 1 and summary["products"] == 1
    assert summary["revenue"] == [{"amount": "20.00", "currency": "PEN"}]


def test_a_delisted_product_leaves_search_and_cannot_be_ordered(api):
    seller, other, buyer = api.register("seller"), api.register("seller"), api.register("buyer")
    word = f"delist{uuid.uuid4().hex[:6]}"
    product = api.product(seller, title=f"Game {word}")
    assert wait_for(lambda: [p["id"] for p in api.http.get("/products", params={"q": word}).json()["items"]])
    problem(api.http.patch(f"/products/{product['id']}", json={"listed": False}, headers=other.headers), 403)
    r = api.http.patch(f"/products/{product['id']}", json={"listed": False}, headers=seller.headers)
    assert r.status_code == 200 and r.json()["listed"] is False
    assert api.http.get("/products", params={"q": word}).json()["items"] == []
    assert api.http.get(f"/products/{product['id']}").json()["listed"] is False  # its page still reads
    refused = place(api, buyer, [(product["id"], 1)])
    assert refused.status_code == 422 and "delisted" in refused.json()["detail"]
    problem(api.http.put(f"/cart/items/{product['id']}", json={"quantity": 1}, headers=buyer.headers), 422)
    r = api.http.patch(f"/products/{product['id']}", json={"listed": True}, headers=seller.headers)
    assert r.status_code == 200 and r.json()["listed"] is True
    assert [p["id"] for p in api.http.get("/products", params={"q": word}).json()["items"]] == [product["id"]]
    assert place(api, buyer, [(product["id"], 1)]).status_code == 202


def test_dead_letters_are_listed_with_their_origin_and_replayed_once(stack, api):
    """A stock update refused because its product did not exist yet goes through once the product does."""
    from tests.integration.support import producer
    from tests.integration.test_kafka_security import SET_STOCK, UPSERT, cli, event, listing

    seller = api.register("seller")
    pid = f"dl-{uuid.uuid4().hex[:8]}"
    kp = producer(stack.broker.access())
    early = kp.send("gamevault.catalog.commands", key=pid.encode(),
                    value=event(SET_STOCK, {"product_id": pid, "seller_id": seller.id, "stock": 9})).get(10)
    kp.flush()

    def refused():
        letters = orjson.loads(cli(stack, "deadletter", "list", "--topic", "gamevault.catalog.commands",
                                   "--limit", "100000", "--format", "json").stdout)
        return next((d for d in letters if d["key"] == pid), None)

    letter = wait_for(refused, timeout=40)
    assert letter["reason"] == "rejected" and "does not exist" in letter["detail"]
    assert letter["source"] == {"topic": "gamevault.catalog.commands", "partition": early.partition,
                                "offset": early.offset}
    kp.send("gamevault.catalog.commands", key=pid.encode(), value=event(UPSERT, {**listing(pid, seller.id),
                                                                               "stock": 1})).get(10)
    kp.close()
    assert wait_for(lambda: api.http.get(f"/products/{pid}").status_code == 200, timeout=40)
    coordinates = f"gamevault.catalog.commands/{early.partition}/{early.offset}"
    first = cli(stack, "deadletter", "replay", "--offset", coordinates).stdout
    assert "sent back to gamevault.catalog.commands" in first
    again = cli(stack, "deadletter", "replay", "--offset", coordinates).stdout
    assert "already replayed" in again
    assert wait_for(lambda: api.http.get(f"/products/{pid}").json()["stock"] == 9, timeout=40)
    assert cli(stack, "deadletter", "replay", check=False).returncode != 0  # a replay names what it sends


def approved_review(api):
    from tests.support.api import purchase

    seller, author = api.register("seller"), api.register("buyer")
    product = api.product(seller)
    purchase(api, author, [product["id"]])
    review = api.http.post(f"/products/{product['id']}/reviews", headers=author.headers,
                           json={"rating": 5, "title": "Loved it", "body": "Finished it twice already."}).json()
    r = api.http.post(f"/reviews/{review['id']}/moderation", json={"decision": "approve"}, headers=admin(api))
    assert r.status_code == 200, r.text
    return product, author, review


def test_comments_on_reviews_are_moderated_and_listed_oldest_first(stack, api):
    from tests.integration.support import read_topic

    product, author, review = approved_review(api)
    commenter, boss = api.register("buyer"), admin(api)
    problem(api.http.post(f"/reviews/{review['id']}/comments", json={"body": "Agreed!"}), 401)
    posted = []
    for body in ("Agreed, the ending is great.", "Same here, twice as well.", "Cheap keys at www.scam.com"):
        r = api.http.post(f"/reviews/{review['id']}/comments", json={"body": body}, headers=commenter.headers)
        assert r.status_code == 202, r.text
        posted.append(r.json())
    assert [p["status"] for p in posted] == ["pending", "pending", "rejected"]  # the reviews' own rules
    problem(api.http.get("/comments/pending", headers=commenter.headers), 403)
    queue = [c["id"] for c in api.http.get("/comments/pending", headers=boss).json()["items"]]
    assert posted[0]["id"] in queue and posted[1]["id"] in queue and posted[2]["id"] not in queue
    problem(api.http.post(f"/comments/{posted[0]['id']}/moderation", json={"decision": "approve"},
                          headers=commenter.headers), 403)
    for c in posted[1::-1]:  # approve the second first: the listing is by when they were written
        r = api.http.post(f"/comments/{c['id']}/moderation", json={"decision": "approve"}, headers=boss)
        assert r.status_code == 200 and r.json()["status"] == "approved", r.text
    listed = api.http.get(f"/reviews/{review['id']}/comments").json()["items"]
    assert [c["id"] for c in listed] == [posted[0]["id"], posted[1]["id"]]
    assert api.http.get(f"/products/{product['id']}").json()["rating"]["count"] == 1  # comments never rate

    def told(records) -> list:  # the review's author learns of each approved comment from an event
        return [e for r in records if (e := orjson.loads(r.value))["type"] == "gamevault.reviews.comment.approved"
                and e["data"]["review_id"] == review["id"] and e["data"]["review_author_id"] == author.id]

    assert len(told(read_topic(stack.broker.access(), "gamevault.reviews.events", lambda recs: len(told(recs)) >= 2,
                               timeout=20))) == 2


def test_helpful_votes_are_one_per_user_changeable_and_sort_the_reviews(api):
    product, author, review = approved_review(api)
    voters = [api.register("buyer") for _ in range(3)]
    problem(api.http.post(f"/reviews/{review['id']}/votes", json={"helpful": True}, headers=author.headers), 403)
    for voter in voters:
        r = api.http.post(f"/reviews/{review['id']}/votes", json={"helpful": True}, headers=voter.headers)
        assert r.status_code == 200, r.text
    again = api.http.post(f"/reviews/{review['id']}/votes", json={"helpful": True}, headers=voters[0].headers)
    assert again.json()["helpful_count"] == 3  # one vote per user
    changed = api.http.post(f"/reviews/{review['id']}/votes", json={"helpful": False}, headers=voters[0].headers)
    assert (changed.json()["helpful_count"], changed.json()["unhelpful_count"]) == (2, 1)
    ranked = api.http.get(f"/products/{product['id']}/reviews", params={"sort": "helpful"}).json()["items"]
    assert ranked[0]["id"] == review["id"] and ranked[0]["helpful_count"] == 2
