"""The trickle of demo traffic behind `gamevault up --demo`: buyers browse, fill carts and order over
all three providers (a few payments are declined and a few orders cancelled, as in life), so the store,
its events and the lake are alive for whoever opens them."""

from __future__ import annotations

import random
import time
import uuid
from collections.abc import Callable
from typing import Any

import httpx

from gamevault.config import Settings

PAYMENTS = [
    {"provider": "paypal", "payer_email": "buyer@demo.gamevault.test"},
    {"provider": "yape", "phone": "987654321", "approval_code": "428913"},
    {"provider": "plin", "phone": "912345678"},
    {"provider": "paypal", "payer_email": "declined@demo.gamevault.test"},
    {"provider": "yape", "phone": "987654321", "approval_code": "000000"},
]
CITIES = ["Lima", "Arequipa", "Cusco", "Trujillo", "Piura", "Chiclayo", "Iquitos"]


def run_traffic(settings: Settings, state: dict[str, Any], echo: Callable[[str], None],
                interval_s: float = 3.0, stop: Callable[[], bool] = lambda: False) -> None:
    rng = random.Random()
    buyers = state["buyers"]
    with httpx.Client(base_url=settings.api_url + "/api/v1", timeout=30.0) as http:
        placed = 0
        while not stop():
            time.sleep(interval_s * rng.uniform(0.5, 1.5))
            try:
                products = http.get("/products", params={"sort": rng.choice(["newest", "price_asc", "rating_desc"]),
                                                         "limit": 50}).json()["items"]
                if not products:
                    continue
                buyer = rng.choice(buyers)
                headers = {"Authorization": f"Bearer {buyer['token']}"}
                chosen = rng.sample(products, k=min(len(products), rng.randint(1, 3)))
                for product in chosen:
                    http.put(f"/cart/items/{product['id']}", json={"quantity": rng.randint(1, 2)}, headers=headers)
                if rng.random() < 0.2:  # some carts are abandoned (the funnel shows it)
                    continue
                body = {"payment": rng.choices(PAYMENTS, weights=[30, 30, 30, 5, 5])[0],
                        "shipping_address": {"recipient": buyer["email"].split("@")[0], "line1": "Av. Demo 123",
                                             "city": rng.choice(CITIES), "postal_code": "15074"}}
                r = http.post("/orders", json=body, headers={**headers, "Idempotency-Key": uuid.uuid4().hex})
                if r.status_code == 401:  # the demo token expired: log in again
                    login = {"username": buyer["email"], "password": "demo-password-1"}
                    buyer["token"] = http.post("/auth/token", data=login).json()["access_token"]
                placed += r.status_code == 202
                if r.status_code == 202 and rng.random() < 0.05:  # a buyer changes their mind
                    http.post(f"/orders/{r.json()['id']}/cancel", headers=headers)
                if placed and placed % 20 == 0:
                    echo(f"demo traffic: {placed} orders placed")
            except (httpx.HTTPError, KeyError, ValueError):
                time.sleep(5)  # the platform is restarting or busy; the demo just waits
