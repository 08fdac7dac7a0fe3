"""Peruvian wallets: Yape (phone + 6-digit approval code from the app) and Plin (the buyer confirms in
the wallet app). Both take amounts in cents, an Idempotency-Key on every write, and sign webhooks
with HMAC-SHA256 over timestamp and body."""

from __future__ import annotations

from typing import Any

import httpx
import orjson

from gamevault.adapters.payments.base import Notification, StartResult
from gamevault.adapters.retry import classify, with_retries
from gamevault.adapters.signing import verify_hmac
from gamevault.money import cents, from_cents


class _Wallet:
    provider = ""
    resource = ""  # "charges" | "payment-requests"
    signature_header = ""
    outcomes: dict[str, str] = {}

    def __init__(self, client: httpx.AsyncClient, base_url: str, api_key: str, webhook_secret: str) -> None:
        self.client = client
        self.base = base_url.rstrip("/")
        self.headers = {"Authorization": f"Bearer {api_key}"}
        self.webhook_secret = webhook_secret

    async def _call(self, method: str, path: str, what: str, body: dict[str, Any] | None = None,
                    key: str | None = None) -> dict[str, Any]:
        headers = {**self.headers, **({"Idempotency-Key": key} if key else {})}

        async def call() -> dict[str, Any]:
            r = await self.client.request(method, f"{self.base}{path}", json=body, headers=headers)
            classify(r)
            return r.json()

        return await with_retries(call, what=f"{self.provider} {what}")

    def _start_body(self, payment: dict[str, Any]) -> dict[str, Any]:
        raise NotImplementedError

    async def start(self, payment: dict[str, Any]) -> StartResult:
        doc = await self._call("POST", f"/v1/{self.resource}", "start", self._start_body(payment),
                               key=payment["payment_id"])
        return StartResult(doc["id"])

    async def capture(self, payment: dict[str, Any]) -> str:
        return await self.status(payment)  # wallets capture when the buyer confirms

    async def refund(self, payment: dict[str, Any]) -> None:
        await self._call("POST", f"/v1/{self.resource}/{payment['reference']}/refunds", "refund",
                         {"amount": cents(payment["amount"]["amount"])}, key=payment["payment_id"] + "-refund")

    async def void(self, payment: dict[str, Any]) -> None:
        if payment.get("reference"):
            await self._call("POST", f"/v1/{self.resource}/{payment['reference']}/void", "void", {},
                             key=payment["payment_id"] + "-void")

    async def status(self, payment: dict[str, Any]) -> str:
        if not payment.get("reference"):
            return "unknown"
        doc = await self._call("GET", f"/v1/{self.resource}/{payment['reference']}", "status")
        return {"succeeded": "captured", "paid": "captured", "failed": "failed", "rejected": "failed",
                "voided": "failed"}.get(doc.get("status", ""), "pending")

    async def verify(self, headers: dict[str, str], body: bytes) -> Notification:
        verify_hmac(self.webhook_secret, headers.get(self.signature_header), body)
        doc = orjson.loads(body)
        data = doc.get("data") or {}
        meta = data.get("metadata") or {}
        outcome = self.outcomes.get(doc.get("type", ""), "pending")
        amount = data.get("amount")
        return Notification(doc["id"], meta.get("order_id", ""), outcome, data.get("id"),
                            reason=data.get("failure_reason") if outcome == "failed" else None,
                            amount=from_cents(amount) if isinstance(amount, int) else None,
                            currency=data.get("currency"))


class Yape(_Wallet):
    provider = "yape"
    resource = "charges"
    signature_header = "yape-signature"
    outcomes = {"charge.succeeded": "captured", "charge.failed": "failed"}

    def _start_body(self, payment: dict[str, Any]) -> dict[str, Any]:
        request = payment["request"]
        return {"amount": cents(payment["amount"]["amount"]), "currency_code": payment["amount"]["currency"],
                "phone_number": request["phone"], "otp": request["approval_code"],
                "metadata": {"order_id": payment["order_id"], "payment_id": payment["payment_id"]}}


class Plin(_Wallet):
    provider = "plin"
    resource = "payment-requests"
    signature_header = "x-plin-signature"
    outcomes = {"payment_request.paid": "captured", "payment_request.rejected": "failed"}

    def _start_body(self, payment: dict[str, Any]) -> dict[str, Any]:
        return {"amount": cents(payment["amount"]["amount"]), "currency": payment["amount"]["currency"],
                "phone": payment["request"]["phone"],
                "metadata": {"order_id": payment["order_id"], "payment_id": payment["payment_id"]}}
