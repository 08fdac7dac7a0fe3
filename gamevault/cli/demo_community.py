"""What `gamevault up --demo` adds so every feature shows on the first page: reviewed games with ratings,
comments and helpful votes, a delisted game, and an order its buyer cancelled.

Through the public REST API only, deterministic and idempotent (fixed Idempotency-Keys; a review or a
vote given twice changes nothing). Moderation needs the admin account: `up --demo` provides one.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import httpx

ADDRESS = {"recipient": "Demo Buyer", "line1": "Av. Demo 123", "city": "Lima", "postal_code": "15074"}
OPINIONS = [(5, "A masterpiece", "Played it for weeks and still find new corners."),
            (4, "Very good", "Great pacing, a couple of rough edges in the last act."),
            (3, "Fine", "Fun with friends, thin when played alone."),
            (5, "Best of the year", "The soundtrack alone is worth it.")]


def _auth(account: dict[str, Any]) -> dict[str, str]:
    return {"Authorization": f"Bearer {account['token']}"}


def _settled(http: httpx.Client, buyer: dict[str, Any], order_id: str, timeout_s: float = 60) -> dict[str, Any]:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        order = http.get(f"/orders/{order_id}", headers=_auth(buyer)).json()
        if order["status"] in ("completed", "cancelled"):
            return order
        time.sleep(0.3)
    return order


def seed_community(http: httpx.Client, sellers: list[dict], buyers: list[dict], boss: dict[str, str] | None,
                   echo: Callable[[str], None]) -> None:
    products = http.get("/products", params={"sort": "newest", "limit": 100}).json()["items"]
    if len(products) < 8 or len(buyers) < 6:
        return
    reviewed = products[:4]
    for n, product in enumerate(reviewed):  # a purchase, a review, its approval, a comment, votes
        author = buyers[n]
        order = http.post("/orders", headers={**_auth(author), "Idempotency-Key": f"demo-review-{n}"}, json={
            "items": [{"product_id": product["id"], "quantity": 1}],
            "payment": {"provider": "plin", "phone": "912345678"}, "shipping_address": ADDRESS}).json()
        if _settled(http, author, order["id"])["status"] != "completed":
            continue
        rating, title, body = OPINIONS[n % len(OPINIONS)]
        r = http.post(f"/products/{product['id']}/reviews", headers=_auth(author),
                      json={"rating": rating, "title": title, "body": body})
        if r.status_code != 202 or boss is None:
            continue  # reviewed on an earlier run already
        review_id = r.json()["id"]
        http.post(f"/reviews/{review_id}/moderation", headers=boss, json={"decision": "approve"})
        comment = http.post(f"/reviews/{review_id}/comments", headers=_auth(buyers[n + 1]),
                            json={"body": "Agreed: this one is worth every sol."})
        if comment.status_code == 202:
            http.post(f"/comments/{comment.json()['id']}/moderation", headers=boss, json={"decision": "approve"})
        for voter in buyers[n + 1:n + 4]:
            http.post(f"/reviews/{review_id}/votes", headers=_auth(voter), json={"helpful": True})
    delisted = products[-1]  # its seller takes it out of the shop: its page still reads
    owner = next((s for s in sellers if s["id"] == delisted["seller_id"]), None)
    if owner is not None:
        http.patch(f"/products/{delisted['id']}", headers=_auth(owner), json={"listed": False})
    buyer = buyers[5]  # an order its buyer cancels while the wallet has not confirmed it
    order = http.post("/orders", headers={**_auth(buyer), "Idempotency-Key": "demo-cancelled"}, json={
        "items": [{"product_id": products[5]["id"], "quantity": 1}],
        "payment": {"provider": "yape", "phone": "987654321", "approval_code": "999999"},
        "shipping_address": ADDRESS}).json()
    http.post(f"/orders/{order['id']}/cancel", headers=_auth(buyer))
    echo(f"demo community: {len(reviewed)} reviewed games with comments and votes, '{delisted['title']}' delisted, "
         "one order cancelled by its buyer" + ("" if boss else " (no admin account: reviews left pending)"))
