"""Yape and Plin simulators.

Yape: approval code `000000` is declined at once (402); `999999` is never confirmed (no webhook, the
charge stays pending). Plin: a phone ending in `0000` is rejected in the wallet app. Everything else
is confirmed by a signed webhook shortly after.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Header, HTTPException, Response

from gamevault.adapters.signing import hmac_header
from gamevault.simulators.state import SimState


def _wallet_router(provider: str, resource: str, signature_header: str, state: SimState, deliver,
                   api_key: str, webhook_secret: str, decide, events: dict[str, str]) -> APIRouter:
    api = APIRouter(prefix=f"/{provider}/v1/{resource}", tags=[f"{provider} simulator"])

    def check(authorization: str | None) -> None:
        if authorization != f"Bearer {api_key}":
            raise HTTPException(401, "invalid API key")

    def notify(kind: str, payment: dict[str, Any]) -> None:
        body = orjson.dumps({
            "id": f"evt_{uuid.uuid4().hex}", "type": events[kind], "created": int(time.time()),
            "data": {"id": payment["id"], "status": payment["status"], "failure_reason": payment.get("failure"),
                     "amount": payment["amount"], "currency": payment["currency"], "metadata": payment["metadata"]},
        })
        deliver.send(f"/api/v1/payments/webhooks/{provider}", body,
                     lambda content: {signature_header: hmac_header(webhook_secret, content)})

    @api.post("", status_code=201)
    async def create(body: dict[str, Any], authorization: Annotated[str | None, Header()] = None,
                     idempotency_key: Annotated[str | None, Header()] = None) -> Any:
        check(authorization)
        if idempotency_key and (seen := state.idempotency.get((provider, "create", idempotency_key))):
            return seen
        if state.chaos.start_failures > 0:
            state.chaos.start_failures -= 1
            raise HTTPException(503, "temporarily unavailable")
        order_id = body["metadata"]["order_id"]
        verdict = decide(body)  # confirm | decline_now | reject_later | never
        if verdict == "decline_now":
            state.ledger.count(order_id, provider, "declines", "declined")
            return Response(orjson.dumps({"reason": "approval code declined"}), status_code=402,
                            media_type="application/json")
        payment = {"id": f"{provider[:2]}_{uuid.uuid4().hex[:18]}", "status": "pending", "amount": body["amount"],
                   "currency": body.get("currency") or body.get("currency_code") or "PEN",
                   "metadata": body["metadata"]}
        state.payments[payment["id"]] = payment
        state.ledger.entry(order_id, provider)
        answer = {"id": payment["id"], "status": payment["status"]}
        if idempotency_key:
            state.idempotency[(provider, "create", idempotency_key)] = answer

        async def confirm() -> None:
            await asyncio.sleep(state.chaos.delay_s)
            if payment["status"] != "pending":
                return  # voided meanwhile
            if verdict == "confirm":
                payment["status"] = "succeeded"
                state.ledger.count(order_id, provider, "captures", "captured")
                notify("success", payment)
            elif verdict == "reject_later":
                payment["status"] = "failed"
                payment["failure"] = "rejected in the wallet app"
                state.ledger.count(order_id, provider, "declines", "declined")
                notify("failure", payment)

        if verdict != "never":
            deliver.later(confirm())
        return answer

    def find(pid: str) -> dict[str, Any]:
        if pid not in state.payments:
            raise HTTPException(404, "no such payment")
        return state.payments[pid]

    @api.get("/{pid}")
    async def show(pid: str, authorization: Annotated[str | None, Header()] = None) -> Any:
        check(authorization)
        payment = find(pid)
        return {"id": pid, "status": payment["status"]}

    @api.post("/{pid}/refunds", status_code=201)
    async def refund(pid: str, authorization: Annotated[str | None, Header()] = None,
                     idempotency_key: Annotated[str | None, Header()] = None) -> Any:
        check(authorization)
        if idempotency_key and (seen := state.idempotency.get((provider, "refund", idempotency_key))):
            return seen
        payment = find(pid)
        if payment["status"] != "succeeded":
            raise HTTPException(422, "only a succeeded payment can be refunded")
        payment["status"] = "refunded"
        state.ledger.count(payment["metadata"]["order_id"], provider, "refunds", "refunded")
        answer = {"id": f"re_{uuid.uuid4().hex[:12]}", "status": "succeeded"}
        if idempotency_key:
            state.idempotency[(provider, "refund", idempotency_key)] = answer
        return answer

    @api.post("/{pid}/void")
    async def void(pid: str, authorization: Annotated[str | None, Header()] = None) -> Any:
        check(authorization)
        payment = find(pid)
        if payment["status"] == "pending":
            payment["status"] = "voided"
            state.ledger.count(payment["metadata"]["order_id"], provider, "voids", "voided")
        return {"id": pid, "status": payment["status"]}

    return api


def yape_router(state: SimState, deliver, api_key: str, webhook_secret: str) -> APIRouter:
    def decide(body: dict[str, Any]) -> str:
        return {"000000": "decline_now", "999999": "never"}.get(body.get("otp", ""), "confirm")

    return _wallet_router("yape", "charges", "Yape-Signature", state, deliver, api_key, webhook_secret, decide,
                          {"success": "charge.succeeded", "failure": "charge.failed"})


def plin_router(state: SimState, deliver, api_key: str, webhook_secret: str) -> APIRouter:
    def decide(body: dict[str, Any]) -> str:
        return "reject_later" if str(body.get("phone", "")).endswith("0000") else "confirm"

    return _wallet_router("plin", "payment-requests", "X-Plin-Signature", state, deliver, api_key, webhook_secret,
                          decide, {"success": "payment_request.paid", "failure": "payment_request.rejected"})
