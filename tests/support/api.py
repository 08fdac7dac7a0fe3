"""A small client for the gateway, used by the integration tests."""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass
from typing import Any

import httpx


@dataclass
class User:
    id: str
    email: str
    password: str
    role: str
    token: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


class Api:
    def __init__(self, base_url: str) -> None:
        self.http = httpx.Client(base_url=base_url + "/api/v1", timeout=30.0)

    def close(self) -> None:
        self.http.close()

    def register(self, role: str = "buyer", email: str | None = None, password: str = "password-123",
                 name: str | None = None) -> User:
        email = email or f"{role}-{uuid.uuid4().hex[:10]}@gamevault.test"
        r = self.http.post("/users", json={"email": email, "password": password, "role": role,
                                           "display_name": name or email.split("@")[0]})
        assert r.status_code == 201, r.text
        return User(r.json()["id"], email, password, role, self.login(email, password))

    def login(self, email: str, password: str) -> str:
        """A careful client: a 429 from the token endpoint (its per-IP failed-login throttle, which a
        fuzzing test run just before may have tripped from the same address) is waited out."""
        for _ in range(30):
            r = self.http.post("/auth/token", data={"username": email, "password": password})
            if r.status_code != 429:
                break
            time.sleep(float(r.headers.get("retry-after", "1")))
        assert r.status_code == 200, r.text
        return r.json()["access_token"]

    def product(self, seller: User, **fields: Any) -> dict[str, Any]:
        body = {"title": f"Game {uuid.uuid4().hex[:6]}", "platform": "pc", "genres": ["action"],
                "price": {"amount": "49.90", "currency": "PEN"}, "stock": 10, **fields}
        r = self.http.post("/products", json=body, headers=seller.headers)
        assert r.status_code == 201, r.text
        return r.json()


ADDRESS = {"recipient": "Ana Quispe", "line1": "Av. Larco 345", "city": "Lima", "postal_code": "15074"}
PAYMENTS = {
    "paypal": {"provider": "paypal", "payer_email": "ana@gamevault.test"},
    "yape": {"provider": "yape", "phone": "987654321", "approval_code": "123456"},
    "plin": {"provider": "plin", "phone": "987654321"},
    "paypal-declined": {"provider": "paypal", "payer_email": "declined-card@gamevault.test"},
    "yape-declined": {"provider": "yape", "phone": "987654321", "approval_code": "000000"},
    "yape-never": {"provider": "yape", "phone": "987654321", "approval_code": "999999"},
    "plin-declined": {"provider": "plin", "phone": "987650000"},
}
FINAL = ("completed", "cancelled")


def place(api: Api, buyer: User, items: list[tuple[str, int]] | None, payment: str = "yape",
          key: str | None = None, address: dict | None = None) -> httpx.Response:
    body: dict[str, Any] = {"payment": PAYMENTS[payment], "shipping_address": address or ADDRESS}
    if items is not None:
        body["items"] = [{"product_id": pid, "quantity": qty} for pid, qty in items]
    return api.http.post("/orders", json=body, headers={**buyer.headers, "Idempotency-Key": key or uuid.uuid4().hex})


def settle(api: Api, buyer: User, order_id: str, timeout: float = 30.0) -> dict[str, Any]:
    """Poll until the order reaches a final state."""
    import time

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        order = api.http.get(f"/orders/{order_id}", headers=buyer.headers).json()
        if order["status"] in FINAL:
            return order
        time.sleep(0.05)
    raise AssertionError(f"order {order_id} not final after {timeout}s: {order}")


def purchase(api: Api, buyer: User, product_ids: list[str]) -> dict[str, Any]:
    """A completed order of one unit of each product (what a review needs)."""
    order = place(api, buyer, [(pid, 1) for pid in product_ids], payment="plin").json()
    final = settle(api, buyer, order["id"])
    assert final["status"] == "completed", final
    return final


def admin(api: Api) -> dict[str, str]:
    from tests.support.stack import ADMIN

    return {"Authorization": f"Bearer {api.login(*ADMIN)}"}
