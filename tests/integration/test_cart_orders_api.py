"""CCP routes: cart, placing orders (idempotent), reading them, timelines, and their error paths."""

import uuid

from tests.integration.test_users_api import problem
from tests.support.api import ADDRESS, PAYMENTS, place, settle


def test_cart_routes(api):
    buyer, seller = api.register("buyer"), api.register("seller")
    a, b = api.product(seller, price={"amount": "10.00"}), api.product(seller, price={"amount": "2.50"})
    assert api.http.get("/cart", headers=buyer.headers).json() == {
        "buyer_id": buyer.id, "items": [], "total": {"amount": "0.00", "currency": "PEN"}, "totals": []}
    r = api.http.put(f"/cart/items/{a['id']}", json={"quantity": 2}, headers=buyer.headers)
    assert r.status_code == 200, r.text
    api.http.put(f"/cart/items/{b['id']}", json={"quantity": 4}, headers=buyer.headers)
    cart = api.http.get("/cart", headers=buyer.headers).json()
    assert {(i["product_id"], i["quantity"]) for i in cart["items"]} == {(a["id"], 2), (b["id"], 4)}
    assert cart["total"] == {"amount": "30.00", "currency": "PEN"}
    assert api.http.delete(f"/cart/items/{b['id']}", headers=buyer.headers).status_code == 204
    assert [i["product_id"] for i in api.http.get("/cart", headers=buyer.headers).json()["items"]] == [a["id"]]
    problem(api.http.delete(f"/cart/items/{b['id']}", headers=buyer.headers), 404)
    problem(api.http.put(f"/cart/items/{uuid.uuid4()}", json={"quantity": 1}, headers=buyer.headers), 404)
    problem(api.http.put(f"/cart/items/{a['id']}", json={"quantity": 0}, headers=buyer.headers), 422)
    problem(api.http.get("/cart"), 401)
    problem(api.http.get("/cart", headers=seller.headers), 403)


def test_ordering_the_cart_empties_it(api):
    buyer, seller = api.register("buyer"), api.register("seller")
    product = api.product(seller, stock=5)
    api.http.put(f"/cart/items/{product['id']}", json={"quantity": 2}, headers=buyer.headers)
    r = place(api, buyer, None)
    assert r.status_code == 202, r.text
    order = r.json()
    assert order["items"][0]["quantity"] == 2 and order["status"] == "pending"
    assert settle(api, buyer, order["id"])["status"] == "completed"
    assert api.http.get("/cart", headers=buyer.headers).json()["items"] == []
    problem(place(api, buyer, None), 422)  # the cart is empty now


def test_placement_is_idempotent_by_key(api):
    buyer, seller = api.register("buyer"), api.register("seller")
    product = api.product(seller, stock=5)
    key = uuid.uuid4().hex
    first = place(api, buyer, [(product["id"], 1)], key=key)
    second = place(api, buyer, [(product["id"], 1)], key=key)
    assert first.status_code == second.status_code == 202
    assert first.json()["id"] == second.json()["id"]
    assert first.headers["location"] == f"/api/v1/orders/{first.json()['id']}"
    problem(place(api, buyer, [(product["id"], 2)], key=key), 409)  # same key, another order
    settle(api, buyer, first.json()["id"])
    assert api.http.get(f"/products/{product['id']}").json()["stock"] == 4  # charged and shipped once


def test_order_reads_are_the_callers_own(api):
    buyer, other, seller = api.register("buyer"), api.register("buyer"), api.register("seller")
    product = api.product(seller)
    order = place(api, buyer, [(product["id"], 1)], payment="plin").json()
    final = settle(api, buyer, order["id"])
    assert final["status"] == "completed"
    assert final["payment"]["provider"] == "plin" and final["payment"]["status"] == "captured"
    assert final["shipment"]["status"] == "delivered" and final["shipment"]["tracking_number"]
    assert "approval_code" not in str(final) and "phone" not in final["payment"]
    problem(api.http.get(f"/orders/{order['id']}", headers=other.headers), 404)
    problem(api.http.get(f"/orders/{order['id']}/timeline", headers=other.headers), 404)
    problem(api.http.get(f"/orders/{order['id']}"), 401)
    mine = api.http.get("/orders", headers=buyer.headers).json()
    assert [o["id"] for o in mine["items"]] == [order["id"]] and mine["next_cursor"] is None
    assert api.http.get("/orders", headers=other.headers).json()["items"] == []
    timeline = api.http.get(f"/orders/{order['id']}/timeline", headers=buyer.headers).json()
    assert [e["status"] for e in timeline] == ["pending", "stock_reserved", "payment_pending", "paid", "shipping",
                                               "completed"]
    assert [e["at"] for e in timeline] == sorted(e["at"] for e in timeline)


def test_list_of_orders_pages_newest_first(api):
    buyer, seller = api.register("buyer"), api.register("seller")
    product = api.product(seller, stock=20)
    ids = [place(api, buyer, [(product["id"], 1)]).json()["id"] for _ in range(5)]
    seen, cursor = [], None
    while True:
        page = api.http.get("/orders", params={"limit": 2, **({"cursor": cursor} if cursor else {})},
                            headers=buyer.headers).json()
        seen += [o["id"] for o in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == list(reversed(ids))


def test_order_validation(api):
    buyer, seller = api.register("buyer"), api.register("seller")
    product = api.product(seller)
    item = [{"product_id": product["id"], "quantity": 1}]
    bad_payments = [{"provider": "yape", "phone": "12345", "approval_code": "123456"},
                    {"provider": "yape", "phone": "987654321", "approval_code": "12ab56"},
                    {"provider": "paypal", "payer_email": "nope"}, {"provider": "bitcoin"},
                    {"provider": "plin", "phone": "987654321", "extra": 1}]
    for payment in bad_payments:
        problem(api.http.post("/orders", json={"items": item, "payment": payment, "shipping_address": ADDRESS},
                              headers=buyer.headers), 422)
    problem(api.http.post("/orders", json={"items": item, "payment": PAYMENTS["yape"],
                                           "shipping_address": {"city": "Lima"}}, headers=buyer.headers), 422)
    problem(api.http.post("/orders", json={"items": [{"product_id": "nope", "quantity": 1}],
                                           "payment": PAYMENTS["yape"],
                                           "shipping_address": ADDRESS}, headers=buyer.headers), 422)
    problem(api.http.post("/orders", json={"items": item, "payment": PAYMENTS["yape"], "shipping_address": ADDRESS},
                          headers=seller.headers), 403)


def test_one_currency_per_order_and_a_price_keeps_its_currency(api):
    seller, buyer = api.register("seller"), api.register("buyer")
    soles = api.product(seller, price={"amount": "50.00", "currency": "PEN"})
    dollars = api.product(seller, price={"amount": "20.00", "currency": "USD"})
    mixed = place(api, buyer, [(soles["id"], 1), (dollars["id"], 1)])
    assert mixed.status_code == 422 and "one currency" in mixed.json()["detail"], mixed.text
    assert mixed.headers["content-type"].startswith("application/problem+json")
    for pid in (soles["id"], dollars["id"]):
        assert api.http.put(f"/cart/items/{pid}", json={"quantity": 1}, headers=buyer.headers).status_code == 200
    cart = api.http.get("/cart", headers=buyer.headers).json()
    assert cart["total"] is None and cart["totals"] == [{"amount": "50.00", "currency": "PEN"},
                                                        {"amount": "20.00", "currency": "USD"}]
    assert place(api, buyer, None).status_code == 422  # the cart as it is cannot be one order
    alone = place(api, buyer, [(dollars["id"], 2)])
    assert alone.status_code == 202 and alone.json()["total"] == {"amount": "40.00", "currency": "USD"}
    r = api.http.patch(f"/products/{dollars['id']}", json={"price": {"amount": "25.00"}}, headers=seller.headers)
    assert r.status_code == 200 and r.json()["price"] == {"amount": "25.00", "currency": "USD"}


def test_a_cart_holds_at_most_fifty_products(api):
    seller, buyer = api.register("seller"), api.register("buyer")
    for n in range(51):
        pid = api.product(seller, title=f"Cart filler {n}")["id"]
        r = api.http.put(f"/cart/items/{pid}", json={"quantity": 1}, headers=buyer.headers)
        assert r.status_code == (200 if n < 50 else 422), (n, r.text)
    assert len(api.http.get("/cart", headers=buyer.headers).json()["items"]) == 50
