"""A carrier simulator. Documented failing addresses: postal code `00000` is refused at creation
("undeliverable address"); postal code `99999` is accepted, then lost in transit."""

from __future__ import annotations

import asyncio
import time
import uuid
from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Header, HTTPException, Response

from gamevault.adapters.signing import hmac_header
from gamevault.simulators.state import SimState

UNDELIVERABLE, LOST = "00000", "99999"


def carrier_router(state: SimState, deliver, api_key: str, webhook_secret: str) -> APIRouter:
    api = APIRouter(prefix="/carrier/v1/shipments", tags=["carrier simulator"])

    def check(authorization: str | None) -> None:
        if authorization != f"Bearer {api_key}":
            raise HTTPException(401, "invalid API key")

    def notify(kind: str, shipment: dict[str, Any], reason: str | None = None) -> None:
        data = {"id": shipment["id"], "reference": shipment["reference"], "order_id": shipment["order_id"],
                "status": shipment["status"], "reason": reason}
        body = orjson.dumps({"id": f"evt_{uuid.uuid4().hex}", "type": kind, "created": int(time.time()), "data": data})
        deliver.send("/api/v1/logistics/webhooks/carrier", body,
                      lambda content: {"X-Carrier-Signature": hmac_header(webhook_secret, content)})

    @api.post("", status_code=201)
    async def create(body: dict[str, Any], authorization: Annotated[str | None, Header()] = None,
                     idempotency_key: Annotated[str | None, Header()] = None) -> Any:
        check(authorization)
        if idempotency_key and (seen := state.idempotency.get(("carrier", idempotency_key))):
            return seen
        postal = str(body.get("address", {}).get("postal_code") or "")
        if postal == UNDELIVERABLE:
            return Response(orjson.dumps({"reason": "undeliverable address"}), status_code=422,
                            media_type="application/json")
        shipment = {"id": f"shp_{uuid.uuid4().hex[:16]}", "reference": body["reference"], "order_id": body["order_id"],
                    "tracking_number": f"AE{uuid.uuid4().int % 10**10:010d}PE", "status": "accepted"}
        state.shipments[shipment["id"]] = shipment
        answer = {"id": shipment["id"], "tracking_number": shipment["tracking_number"], "status": "accepted"}
        if idempotency_key:
            state.idempotency[("carrier", idempotency_key)] = answer

        async def travel() -> None:
            await asyncio.sleep(state.chaos.delay_s)
            if postal == LOST:
                shipment["status"] = "failed"
                notify("shipment.failed", shipment, "lost in transit")
            else:
                shipment["status"] = "delivered"
                notify("shipment.delivered", shipment)

        deliver.later(travel())
        return answer

    @api.get("/{sid}")
    async def show(sid: str, authorization: Annotated[str | None, Header()] = None) -> Any:
        check(authorization)
        if sid not in state.shipments:
            raise HTTPException(404, "no such shipment")
        return state.shipments[sid]

    return api
