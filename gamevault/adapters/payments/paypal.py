"""PayPal, Orders v2 style: create an order, the buyer approves, we capture; refunds on the capture.

Webhooks are signed PayPal-style (transmission id and time, RSA-SHA256, a certificate URL) and
verified against the certificate published by the configured gateway host only: a certificate URL
elsewhere is refused (it would let anyone sign their own notifications).
"""

from __future__ import annotations

import time
from typing import Any

import httpx

from gamevault.adapters.payments.base import Notification, StartResult
from gamevault.adapters.payments.paypal_certs import CertificateStore
from gamevault.adapters.retry import PermanentError, classify, with_retries
from gamevault.adapters.signing import InvalidSignature, check_transmission_time, paypal_message, verify_paypal

OUTCOMES = {
    "CHECKOUT.ORDER.APPROVED": "approved",
    "PAYMENT.CAPTURE.COMPLETED": "captured",
    "PAYMENT.CAPTURE.DENIED": "failed",
    "CHECKOUT.ORDER.DECLINED": "failed",
}


class PayPal:
    provider = "paypal"

    def __init__(self, client: httpx.AsyncClient, base_url: str, client_id: str, client_secret: str,
                 webhook_id: str, cert_subject: str = "messageverificationcerts.paypal.com",
                 pinned: frozenset[str] = frozenset()) -> None:
        self.client = client
        self.base = base_url.rstrip("/")
        self.auth = (client_id, client_secret)
        self.webhook_id = webhook_id
        self.certificates = CertificateStore(client, f"{self.base}/v1/notifications/certs/", cert_subject, pinned)
        self._token: tuple[str, float] | None = None

    async def _bearer(self) -> dict[str, str]:
        if self._token is None or self._token[1] < time.time() + 30:
            async def fetch() -> httpx.Response:
                r = await self.client.post(f"{self.base}/v1/oauth2/token", auth=self.auth,
                                           data={"grant_type": "client_credentials"})
                classify(r)
                return r

            doc = (await with_retries(fetch, what="paypal token")).json()
            self._token = (doc["access_token"], time.time() + doc["expires_in"])
        return {"Authorization": f"Bearer {self._token[0]}"}

    async def _post(self, path: str, body: dict[str, Any], request_id: str, what: str) -> dict[str, Any]:
        async def call() -> dict[str, Any]:
            r = await self.client.post(f"{self.base}{path}", json=body,
                                       headers={**await self._bearer(), "PayPal-Request-Id": request_id})
            classify(r)
            return r.json()

        return await with_retries(call, what=what)

    async def start(self, payment: dict[str, Any]) -> StartResult:
        request = payment["request"]
        doc = await self._post("/v2/checkout/orders", {
            "intent": "CAPTURE",
            "purchase_units": [{"reference_id": payment["order_id"], "custom_id": payment["payment_id"],
                                "amount": {"currency_code": payment["amount"]["currency"],
                                           "value": payment["amount"]["amount"]}}],
            "payer": {"email_address": request["payer_email"]},
        }, request_id=payment["payment_id"], what="paypal create order")
        return StartResult(doc["id"])

    async def capture(self, payment: dict[str, Any]) -> str:
        try:
            doc = await self._post(f"/v2/checkout/orders/{payment['reference']}/capture", {},
                                   request_id=payment["payment_id"] + "-capture", what="paypal capture")
        except PermanentError:
            return "failed"  # INSTRUMENT_DECLINED and the like
        return "captured" if doc.get("status") == "COMPLETED" else "pending"

    async def refund(self, payment: dict[str, Any]) -> None:
        await self._post(f"/v2/checkout/orders/{payment['reference']}/refund", {
            "amount": {"currency_code": payment["amount"]["currency"], "value": payment["amount"]["amount"]},
        }, request_id=payment["payment_id"] + "-refund", what="paypal refund")

    async def void(self, payment: dict[str, Any]) -> None:
        if payment.get("reference"):
            await self._post(f"/v2/checkout/orders/{payment['reference']}/void", {},
                             request_id=payment["payment_id"] + "-void", what="paypal void")

    async def status(self, payment: dict[str, Any]) -> str:
        if not payment.get("reference"):
            return "unknown"

        async def call() -> dict[str, Any]:
            r = await self.client.get(f"{self.base}/v2/checkout/orders/{payment['reference']}",
                                      headers=await self._bearer())
            classify(r)
            return r.json()

        status = (await with_retries(call, what="paypal status")).get("status")
        return {"COMPLETED": "captured", "DECLINED": "failed", "VOIDED": "failed", "APPROVED": "approved"}.get(
            status, "pending")

    async def verify(self, headers: dict[str, str], body: bytes) -> Notification:
        transmission_id = headers.get("paypal-transmission-id")
        transmission_time = headers.get("paypal-transmission-time")
        if headers.get("paypal-auth-algo", "SHA256withRSA") != "SHA256withRSA" or not transmission_id:
            raise InvalidSignature("unsupported or missing PayPal signature algorithm / transmission id")
        if not headers.get("paypal-transmission-sig"):
            raise InvalidSignature("missing PAYPAL-TRANSMISSION-SIG")
        check_transmission_time(transmission_time)  # cheap checks first: a fetch is the last resort
        cert = await self.certificates.get(headers.get("paypal-cert-url", ""))
        verify_paypal(cert, headers.get("paypal-transmission-sig"),
                      paypal_message(transmission_id, transmission_time or "", self.webhook_id, body),
                      transmission_time)
        import orjson

        doc = orjson.loads(body)
        resource = doc.get("resource") or {}
        unit = (resource.get("purchase_units") or [{}])[0]
        order_id = resource.get("custom_order_id") or unit.get("reference_id") or ""
        reference = resource.get("supplementary_data", {}).get("related_ids", {}).get("order_id") or resource.get("id")
        outcome = OUTCOMES.get(doc.get("event_type", ""), "pending")
        # the gateway's reason code (status_details.reason, e.g. INSTRUMENT_DECLINED), as the capture call gives it
        reason = (resource.get("status_details") or {}).get("reason") or doc.get("summary")
        amount = unit.get("amount") or resource.get("amount") or {}
        return Notification(doc["id"], order_id, outcome, reference, reason=reason if outcome == "failed" else None,
                            amount=amount.get("value"), currency=amount.get("currency_code"),
                            transmission_id=transmission_id)
