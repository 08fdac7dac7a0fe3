"""Delivering notifications like a real gateway: retried with backoff until the receiver answers 2xx
(a notification is never dropped because the receiver or its Kafka was briefly down)."""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Callable

import httpx

from gamevault import http_clients
from gamevault.simulators.state import SimState

log = logging.getLogger(__name__)
Signer = Callable[[bytes], dict[str, str]]


class Deliverer:
    def __init__(self, state: SimState, api_url: str) -> None:
        self.state = state
        self.api_url = api_url.rstrip("/")
        self.client = http_clients.async_client(timeout=10.0)
        self.tasks: set[asyncio.Task] = set()

    def later(self, coro) -> None:
        """Run `coro` in the background, keeping a reference (an unreferenced task may be collected)."""
        task = asyncio.ensure_future(coro)
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    def send(self, path: str, body: bytes, signer: Signer, delay_s: float = 0.0) -> None:
        chaos = self.state.chaos
        for copy in range(max(1, chaos.webhook_copies)):
            jitter = random.uniform(0, 0.3) if chaos.shuffle else 0.0
            self.later(self._deliver(path, body, signer, delay_s + jitter + copy * 0.01))

    async def _deliver(self, path: str, body: bytes, signer: Signer, delay_s: float) -> None:
        if delay_s:
            await asyncio.sleep(delay_s)
        backoff = 0.2
        for _ in range(400):  # ~30 minutes of retries at most
            try:
                # signed at each attempt: a retry carries a fresh timestamp, as real gateways do
                r = await self.client.post(self.api_url + path, content=body,
                                           headers={"Content-Type": "application/json", **signer(body)})
                if r.status_code < 300:
                    self.state.delivered_webhooks += 1
                    return
                if r.status_code in (400, 401, 403, 404, 413, 422):
                    log.warning("webhook %s refused with %s: %s", path, r.status_code, r.text[:200])
                    return
            except httpx.HTTPError as exc:
                log.info("webhook %s not delivered (%r); retrying", path, exc)
            await asyncio.sleep(backoff)
            backoff = min(5.0, backoff * 2)
        log.error("webhook %s given up", path)

    async def aclose(self) -> None:
        for task in list(self.tasks):
            task.cancel()
        await self.client.aclose()
