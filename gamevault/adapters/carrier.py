"""LE's carrier: create a shipment, ask where it is; delivery notices arrive as signed callbacks."""

from __future__ import annotations

from typing import Any

import httpx
import orjson

from gamevault.adapters.retry import PermanentError, classify, with_retries
from gamevault.adapters.signing import verify_hmac


class Carrier:
    name = "andes-express"

    def __init__(self, client: httpx.AsyncClient, base_url: str, api_key: str, webhook_secret: str) -> None:
        self.client = client
        self.base = base_url.rstrip("/")
        self.headers = {"Authorization": f"Bearer {api_key}"}
        self.webhook_secret = webhook_secret

    async def create(self, shipment_id: str, order_id: str, address: dict[str, Any],
                     items: list[dict[str, Any]]) -> dict[str, Any]:
        """-> {"ok": True, "tracking_number": ...} or {"ok": False, "reason": ...} (permanent refusal)."""
        async def call() -> dict[str, Any]:
            r = await self.client.post(f"{self.base}/v1/shipments", json={
                "reference": shipment_id, "order_id": order_id, "address": address, "parcels": items,
            }, headers={**self.headers, "Idempotency-Key": shipment_id})
            classify(r)
            return r.json()

        try:
            doc = await with_retries(call, what="carrier create")
        except PermanentError as exc:
            return {"ok": False, "reason": exc.reason}
        return {"ok": True, "tracking_number": doc["tracking_number"], "carrier_id": doc["id"]}

    async def track(self, carrier_id: str) -> str:
        async def call() -> dict[str, Any]:
            r = await self.client.get(f"{self.base}/v1/shipments/{carrier_id}", headers=self.headers)
            classify(r)
            return r.json()

        return (await with_retries(call, what="carrier track")).get("status", "unknown")

    def verify(self, headers: dict[str, str], body: bytes) -> dict[str, Any]:
        verify_hmac(self.webhook_secret, headers.get("x-carrier-signature"), body)
        return orjson.loads(body)
