"""bench.saga's load generator: orders placed through a gateway's REST API, closed or open loop.

GameVault and its peer (bench/peers/dbos_saga.py) take the same requests from the same generator.
"""

from __future__ import annotations

import asyncio
import time
import uuid

import httpx

from gamevault import http_clients

ADDRESS = {"recipient": "Bench", "line1": "Av. Benchmark 1", "city": "Lima", "postal_code": "15074"}
PAYMENTS = [{"provider": "paypal", "payer_email": "b@gamevault.test"},
            {"provider": "yape", "phone": "987654321", "approval_code": "123456"},
            {"provider": "plin", "phone": "987654321"}]


async def place_many(url: str, products: list[str], buyers: list[dict[str, str]], count: int, concurrency: int,
                     rate: float | None) -> dict[str, float]:
    """Place `count` orders (closed loop with `concurrency`, or open loop at `rate`); -> order id: placed at."""
    placed: dict[str, float] = {}
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    # the load generator's own CPU is part of the machine's budget: httpx over aiohttp (gamevault/http_clients.py)
    async with http_clients.async_client(base_url=url + "/api/v1", timeout=60, limits=limits) as client:
        sem = asyncio.Semaphore(concurrency)
        started = time.time()

        async def one(n: int) -> None:
            if rate:
                await asyncio.sleep(max(0.0, started + n / rate - time.time()))
            async with sem:
                at = time.time()
                headers = {**buyers[n % len(buyers)], "Idempotency-Key": uuid.uuid4().hex}
                r = await client.post("/orders", headers=headers,
                                      json={"items": [{"product_id": products[n % len(products)], "quantity": 1}],
                                            "payment": PAYMENTS[n % 3], "shipping_address": ADDRESS})
                if r.status_code == 202:
                    placed[r.json()["id"]] = at

        await asyncio.gather(*(one(n) for n in range(count)))
    return placed


def wait_ready(url: str, timeout: float = 120.0) -> None:
    """Until `url` answers (anything but a 5xx)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if httpx.get(url, timeout=2, headers={"Connection": "close"}).status_code < 500:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"{url} did not come up")
