"""CP through the gateway: listing, changing, reading and searching products; the product page."""

import uuid

from tests.integration.test_users_api import problem


def test_seller_lists_and_changes_a_product(api):
    seller = api.register("seller")
    product = api.product(seller, title="Hollow Knight", platform="switch", genres=["metroidvania"],
                          price={"amount": "54.90", "currency": "PEN"}, stock=3)
    assert product["seller_id"] == seller.id and product["version"] == 1
    assert product["rating"] == {"average": None, "count": 0, "histogram": {str(i): 0 for i in range(1, 6)}}
    r = api.http.patch(f"/products/{product['id']}", json={"price": {"amount": "44.90"}, "stock": 0},
                       headers=seller.headers)
    assert r.status_code == 200, r.text
    changed = r.json()
    assert changed["price"] == {"amount": "44.90", "currency": "PEN"} and changed["stock"] == 0
    assert changed["version"] == 2
    assert api.http.get(f"/products/{product['id']}").json() == changed


def test_object_level_authorization_on_products(api):
    owner, intruder, buyer = api.register("seller"), api.register("seller"), api.register("buyer")
    product = api.product(owner)
    problem(api.http.patch(f"/products/{product['id']}", json={"title": "Stolen"}, headers=intruder.headers), 403)
    problem(api.http.patch(f"/products/{product['id']}", json={"title": "Mine"}, headers=buyer.headers), 403)
    problem(api.http.post("/products", json={"title": "X", "platform": "pc", "genres": ["action"],
                                             "price": {"amount": "1.00"}}, headers=buyer.headers), 403)
    problem(api.http.patch(f"/products/{product['id']}", json={"title": "Anon"}), 401)
    assert api.http.get(f"/products/{product['id']}").json()["title"] == product["title"]


def test_admin_may_change_any_product(api):
    from tests.support.stack import ADMIN

    product = api.product(api.register("seller"))
    admin = {"Authorization": f"Bearer {api.login(*ADMIN)}"}
    r = api.http.patch(f"/products/{product['id']}", json={"title": "Moderated title"}, headers=admin)
    assert r.status_code == 200 and r.json()["title"] == "Moderated title"


def test_product_validation_and_missing(api):
    seller = api.register("seller")
    base = {"title": "Ok", "platform": "pc", "genres": ["action"], "price": {"amount": "10.00"}}
    for bad in ({**base, "price": {"amount": 10.5}}, {**base, "platform": "atari"}, {**base, "genres": []},
                {**base, "stock": -1}, {**base, "seller_id": "someone"}, {**base, "price": {"amount": "1.999"}}):
        problem(api.http.post("/products", json=bad, headers=seller.headers), 422)
    problem(api.http.get(f"/products/{uuid.uuid4()}"), 404)
    problem(api.http.get(f"/products/{uuid.uuid4()}/page"), 404)
    problem(api.http.patch(f"/products/{uuid.uuid4()}", json={"title": "x"}, headers=seller.headers), 404)


def test_idempotency_key_gives_the_same_product(api):
    seller = api.register("seller")
    body = {"title": "Stardew", "platform": "pc", "genres": ["simulation"], "price": {"amount": "29.90"}}
    headers = {**seller.headers, "Idempotency-Key": uuid.uuid4().hex}
    first = api.http.post("/products", json=body, headers=headers)
    second = api.http.post("/products", json=body, headers=headers)
    assert first.status_code == 201 and second.status_code == 200
    assert first.json()["id"] == second.json()["id"]


def test_search_filters_sorts_and_pages(api):
    seller = api.register("seller")
    tag = uuid.uuid4().hex[:8]
    made = [api.product(seller, title=f"Zorblax {tag} {n}", platform=("ps5" if n % 2 else "pc"),
                        genres=["strategy" if n < 3 else "puzzle"], price={"amount": f"{10 + n}.00"})
            for n in range(6)]
    r = api.http.get("/products", params={"q": f"zorblax {tag}"})
    assert r.status_code == 200 and {p["id"] for p in r.json()["items"]} == {p["id"] for p in made}
    ps5 = api.http.get("/products", params={"q": tag, "platform": "ps5"}).json()["items"]
    assert {p["platform"] for p in ps5} == {"ps5"} and len(ps5) == 3
    puzzle = api.http.get("/products", params={"q": tag, "genre": "puzzle", "max_price": "14.00"}).json()["items"]
    assert [p["price"]["amount"] for p in puzzle] == ["13.00", "14.00"] or \
        sorted(p["price"]["amount"] for p in puzzle) == ["13.00", "14.00"]
    cheap_first = api.http.get("/products", params={"q": tag, "sort": "price_asc"}).json()["items"]
    assert [p["price"]["amount"] for p in cheap_first] == [f"{10 + n}.00" for n in range(6)]
    pages, cursor = [], None
    while True:
        params = {"q": tag, "sort": "price_desc", "limit": 4, **({"cursor": cursor} if cursor else {})}
        body = api.http.get("/products", params=params).json()
        pages.append([p["id"] for p in body["items"]])
        cursor = body["next_cursor"]
        if cursor is None:
            break
    assert [len(p) for p in pages] == [4, 2]
    assert [pid for page in pages for pid in page] == [p["id"] for p in reversed(made)]
    problem(api.http.get("/products", params={"limit": 1000}), 422)
    problem(api.http.get("/products", params={"sort": "random"}), 422)
    problem(api.http.get("/products", params={"cursor": "bogus"}), 400)
    problem(api.http.get("/products", params={"min_price": "-3"}), 422)


def test_product_page_composes_product_seller_rating_reviews(api):
    seller = api.register("seller", name="Composer Store")
    product = api.product(seller)
    page = api.http.get(f"/products/{product['id']}/page").json()
    assert page["product"]["id"] == product["id"]
    assert page["seller"] == {"id": seller.id, "display_name": "Composer Store", "role": "seller",
                              "registered_at": page["seller"]["registered_at"]}
    assert "email" not in page["seller"]
    assert page["rating"]["count"] == 0 and page["reviews"] == [] and page["degraded"] == []


def test_a_product_read_from_the_gateway_cache_is_a_full_gateway_response(stack, api):
    """The gateway answers a cached product GET itself: same body, same headers, same metrics as the route."""
    product = api.product(api.register("seller"))
    trace_id = uuid.uuid4().hex
    path = f"/products/{product['id']}"
    reads = [api.http.get(path, headers={"X-Request-ID": f"read-{n}", "traceparent": f"00-{trace_id}-{'2' * 16}-01"})
             for n in range(3)]  # the first may fill the cache, the others are served from it
    for n, r in enumerate(reads):
        assert r.status_code == 200 and r.headers["content-type"] == "application/json"
        assert r.json() == product
        assert r.headers["x-request-id"] == f"read-{n}" and r.headers["ratelimit-policy"].startswith('"anonymous"')
        assert r.headers["traceparent"].split("-")[1] == trace_id
    problem(api.http.get(f"/products/{uuid.uuid4()}"), 404)  # a miss still reaches the route
    metrics = api.http.get(stack.url + "/metrics").text
    assert 'route="/api/v1/products/{product_id}",status="200"' in metrics
