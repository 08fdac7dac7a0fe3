"""A PayPal simulator (Orders v2 style). `payer_email` starting with "decline" is declined at capture."""

from __future__ import annotations

import asyncio
import base64
import datetime as dt
import uuid
from typing import Annotated, Any

import orjson
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID
from fastapi import APIRouter, Depends, Header, HTTPException, Request, Response

from gamevault.adapters.signing import paypal_message, paypal_sign
from gamevault.config import SIMULATOR_PAYPAL_CERT_SUBJECT
from gamevault.simulators.state import SimState

CERT_ID = "CERT-gamevault-sim-1"


def _certificate(key: rsa.RSAPrivateKey) -> bytes:
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, SIMULATOR_PAYPAL_CERT_SUBJECT)])
    now = dt.datetime.now(dt.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - dt.timedelta(days=1))
            .not_valid_after(now + dt.timedelta(days=365)).sign(key, hashes.SHA256()))
    return cert.public_bytes(serialization.Encoding.PEM)


def router(state: SimState, deliver, public_base: str, client_secret: str, webhook_id: str) -> APIRouter:
    api = APIRouter(prefix="/paypal", tags=["paypal simulator"])
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    cert_pem = _certificate(key)
    cert_url = f"{public_base.rstrip('/')}/paypal/v1/notifications/certs/{CERT_ID}.pem"
    tokens: set[str] = set()

    def notify(event_type: str, payment: dict[str, Any], summary: str, delay: float = 0.0) -> None:
        body = orjson.dumps({
            "id": f"WH-{uuid.uuid4().hex}", "event_type": event_type, "summary": summary,
            "create_time": dt.datetime.now(dt.UTC).isoformat().replace("+00:00", "Z"),
            "resource": {"id": payment["id"], "status": payment["status"],
                         **({"status_details": {"reason": summary.rsplit(": ", 1)[-1]}}
                            if event_type == "PAYMENT.CAPTURE.DENIED" else {}),
                         "purchase_units": [{"reference_id": payment["order_id"], "custom_id": payment["payment_id"],
                                             "amount": payment["amount"]}]},
        })

        def sign(content: bytes) -> dict[str, str]:
            tid = str(uuid.uuid4())
            ttime = dt.datetime.now(dt.UTC).isoformat().replace("+00:00", "Z")
            return {"PAYPAL-TRANSMISSION-ID": tid, "PAYPAL-TRANSMISSION-TIME": ttime,
                    "PAYPAL-TRANSMISSION-SIG": paypal_sign(key, paypal_message(tid, ttime, webhook_id, content)),
                    "PAYPAL-CERT-URL": cert_url, "PAYPAL-AUTH-ALGO": "SHA256withRSA"}

        deliver.send("/api/v1/payments/webhooks/paypal", body, sign, delay)

    async def bearer(authorization: Annotated[str | None, Header()] = None) -> None:
        if not authorization or authorization.removeprefix("Bearer ") not in tokens:
            raise HTTPException(401, "invalid access token")

    def idempotent(request_id: str | None, kind: str):
        return state.idempotency.get(("paypal", kind, request_id)) if request_id else None

    @api.post("/v1/oauth2/token")
    async def token(request: Request) -> dict[str, Any]:
        auth = request.headers.get("authorization", "")
        try:
            _user, _, secret = base64.b64decode(auth.removeprefix("Basic ")).decode().partition(":")
        except ValueError:
            raise HTTPException(401, "bad client credentials") from None
        if secret != client_secret:
            raise HTTPException(401, "bad client credentials")
        value = uuid.uuid4().hex
        tokens.add(value)
        return {"access_token": value, "token_type": "Bearer", "expires_in": 32400}

    @api.get("/v1/notifications/certs/{cert}.pem")
    async def certificate(cert: str) -> Response:
        if cert != CERT_ID:
            raise HTTPException(404, "no such certificate")
        return Response(cert_pem, media_type="application/x-pem-file")

    @api.post("/v2/checkout/orders", status_code=201, dependencies=[Depends(bearer)])
    async def create(body: dict[str, Any], paypal_request_id: Annotated[str | None, Header()] = None) -> Any:
        if (seen := idempotent(paypal_request_id, "create")) is not None:
            return seen
        if state.chaos.start_failures > 0:
            state.chaos.start_failures -= 1
            raise HTTPException(503, "temporarily unavailable")
        unit = body["purchase_units"][0]
        payment = {"id": f"PAYPAL-{uuid.uuid4().hex[:16].upper()}", "status": "CREATED",
                   "order_id": unit["reference_id"], "payment_id": unit.get("custom_id"),
                   "amount": unit["amount"], "payer_email": body["payer"]["email_address"], "captures": {}}
        state.payments[payment["id"]] = payment
        state.ledger.entry(payment["order_id"], "paypal")
        answer = {"id": payment["id"], "status": "PAYER_ACTION_REQUIRED"}
        if paypal_request_id:
            state.idempotency[("paypal", "create", paypal_request_id)] = answer

        async def buyer_approves() -> None:  # the buyer approves on PayPal's page
            await asyncio.sleep(state.chaos.delay_s)
            if payment["status"] == "CREATED":
                payment["status"] = "APPROVED"
                notify("CHECKOUT.ORDER.APPROVED", payment, "An order has been approved by buyer")

        deliver.later(buyer_approves())
        return answer

    def find(order: str) -> dict[str, Any]:
        payment = state.payments.get(order)
        if payment is None:
            raise HTTPException(404, "RESOURCE_NOT_FOUND")
        return payment

    @api.post("/v2/checkout/orders/{order}/capture", status_code=201, dependencies=[Depends(bearer)])
    async def capture(order: str, paypal_request_id: Annotated[str | None, Header()] = None) -> Any:
        if (seen := idempotent(paypal_request_id, "capture")) is not None:
            return seen
        payment = find(order)
        if payment["status"] == "COMPLETED":
            raise HTTPException(422, "ORDER_ALREADY_CAPTURED")
        if payment["status"] != "APPROVED":
            raise HTTPException(422, "ORDER_NOT_APPROVED")
        if payment["payer_email"].lower().startswith("decline"):
            payment["status"] = "DECLINED"
            state.ledger.count(payment["order_id"], "paypal", "declines", "declined")
            notify("PAYMENT.CAPTURE.DENIED", payment, "Payment denied: INSTRUMENT_DECLINED")
            return Response(orjson.dumps({"name": "UNPROCESSABLE_ENTITY",
                                          "details": [{"issue": "INSTRUMENT_DECLINED"}]}), status_code=422,
                            media_type="application/json")
        payment["status"] = "COMPLETED"
        state.ledger.count(payment["order_id"], "paypal", "captures", "captured")
        answer = {"id": payment["id"], "status": "COMPLETED"}
        if paypal_request_id:
            state.idempotency[("paypal", "capture", paypal_request_id)] = answer
        notify("PAYMENT.CAPTURE.COMPLETED", payment, "Payment completed")
        return answer

    @api.post("/v2/checkout/orders/{order}/refund", status_code=201, dependencies=[Depends(bearer)])
    async def refund(order: str, paypal_request_id: Annotated[str | None, Header()] = None) -> Any:
        if (seen := idempotent(paypal_request_id, "refund")) is not None:
            return seen
        payment = find(order)
        if payment["status"] != "COMPLETED":
            raise HTTPException(422, "CAPTURE_NOT_COMPLETED")
        payment["status"] = "REFUNDED"
        state.ledger.count(payment["order_id"], "paypal", "refunds", "refunded")
        answer = {"id": f"REFUND-{uuid.uuid4().hex[:12]}", "status": "COMPLETED"}
        if paypal_request_id:
            state.idempotency[("paypal", "refund", paypal_request_id)] = answer
        return answer

    @api.post("/v2/checkout/orders/{order}/void", dependencies=[Depends(bearer)])
    async def void(order: str, paypal_request_id: Annotated[str | None, Header()] = None) -> Any:
        payment = find(order)
        if payment["status"] in ("CREATED", "APPROVED"):
            payment["status"] = "VOIDED"
            state.ledger.count(payment["order_id"], "paypal", "voids", "voided")
        return {"id": payment["id"], "status": payment["status"]}

    @api.get("/v2/checkout/orders/{order}", dependencies=[Depends(bearer)])
    async def show(order: str) -> Any:
        payment = find(order)
        return {"id": payment["id"], "status": payment["status"]}

    return api
