"""Gateway and carrier callbacks: verified, stored durably in Kafka, and only then acknowledged.

A 2xx means "stored with acks from the broker": while Kafka is unreachable the answer is 503, so the
gateway retries and no notification is ever lost. Duplicates are fine: SP deduplicates by the
provider's event id.
"""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from gamevault.adapters.signing import InvalidSignature, StaleNotification
from gamevault.agents.bus import Unavailable
from gamevault.api.deps import Services
from gamevault.api.problems import Problem
from gamevault.api.services import ApiServices
from gamevault.metrics import WEBHOOKS
from gamevault.streams.contracts.commands import CARRIER_NOTICE, PAYMENT_WEBHOOK
from gamevault.streams.envelope import new_event
from gamevault.streams.registry import CommandType

router = APIRouter(tags=["payments"])
MAX_BODY = 64 * 1024
STORE_TIMEOUT_S = 5.0


async def _store(services: ApiServices, type_: CommandType, key: str, data: dict[str, Any]) -> None:
    command = new_event(type_.type, "/gamevault/webhooks", data, subject=key)
    try:
        await asyncio.wait_for(services.bus.send(type_.topic, key, command, timeout=STORE_TIMEOUT_S), STORE_TIMEOUT_S)
    except (Unavailable, TimeoutError):
        raise Problem(503, "the notification could not be stored (Kafka unreachable); retry",
                      slug="backbone-unavailable", headers={"Retry-After": "5"}) from None


async def _body(request: Request) -> bytes:
    body = await request.body()
    if len(body) > MAX_BODY:
        raise Problem(413, f"notifications are limited to {MAX_BODY} bytes")
    return body


@router.post("/payments/webhooks/{provider}", summary="A payment gateway's notification (PayPal, Yape, Plin)",
             responses={401: {"description": "bad signature"}, 400: {"description": "stale or malformed"},
                        503: {"description": "not stored; the gateway must retry"}})
async def payment_webhook(provider: str, request: Request, services: Services) -> JSONResponse:
    if provider not in services.gateways:
        raise Problem(404, f"unknown payment provider {provider!r}")
    body = await _body(request)
    try:
        note = await services.gateways[provider].verify(dict(request.headers), body)
    except InvalidSignature as exc:
        WEBHOOKS.labels(provider, "forged").inc()
        raise Problem(401, f"signature refused: {exc}", slug="invalid-signature") from None
    except StaleNotification as exc:
        WEBHOOKS.labels(provider, "stale").inc()
        raise Problem(400, f"notification refused: {exc}", slug="stale-notification") from None
    except (ValueError, KeyError, TypeError) as exc:
        WEBHOOKS.labels(provider, "malformed").inc()
        raise Problem(400, f"malformed notification: {exc!r}", slug="malformed-notification") from None
    if not note.order_id:
        raise Problem(400, "the notification names no order", slug="malformed-notification")
    await _store(services, PAYMENT_WEBHOOK, note.order_id, {
        "order_id": note.order_id, "provider": provider, "event_id": note.event_id, "outcome": note.outcome,
        "reference": note.reference, "reason": note.reason, "amount": note.amount, "currency": note.currency,
        "transmission_id": note.transmission_id,
    })
    WEBHOOKS.labels(provider, "stored").inc()
    return JSONResponse({"status": "stored", "event_id": note.event_id})


@router.post("/logistics/webhooks/carrier", tags=["logistics"], summary="The carrier's delivery notices",
             responses={401: {"description": "bad signature"}, 503: {"description": "not stored; retry"}})
async def carrier_webhook(request: Request, services: Services) -> JSONResponse:
    body = await _body(request)
    try:
        doc = services.carrier.verify(dict(request.headers), body)
        data = doc["data"]
        status = {"shipment.delivered": "delivered", "shipment.failed": "failed"}.get(doc["type"], "unknown")
    except InvalidSignature as exc:
        raise Problem(401, f"signature refused: {exc}", slug="invalid-signature") from None
    except StaleNotification as exc:
        raise Problem(400, f"notification refused: {exc}", slug="stale-notification") from None
    except (ValueError, KeyError, TypeError) as exc:
        raise Problem(400, f"malformed notification: {exc!r}", slug="malformed-notification") from None
    await _store(services, CARRIER_NOTICE, data["order_id"], {
        "order_id": data["order_id"], "event_id": doc["id"], "status": status, "reason": data.get("reason"),
    })
    return JSONResponse({"status": "stored", "event_id": doc["id"]})
