"""The order saga as a DBOS Transact durable workflow: the peer bench.saga runs beside GameVault.

What a Python team would build without Kafka: one process, a FastAPI gateway, the workflow
checkpointed in PostgreSQL. It does the same work per order against the same simulators, with
GameVault's own adapters (so the HTTP calls, signatures and checks are the same):
reserve stock (one SQL transaction) -> start the payment -> wait for its signed webhook (stored
as a DBOS message, deduplicated by the gateway's event id), confirm it with the gateway (the lookup
GameVault makes), capture (PayPal) -> create the shipment -> wait for the carrier's delivery notice;
a declined payment releases the stock. Completions are kept in memory for the benchmark to read
(`GET /peer/completions`). It checks no JWT: the peer's gateway is lighter than GameVault's.

Run by bench.saga: `python -m bench.peers.dbos_saga PORT PG_URL` with GAMEVAULT_HOME set (the
simulators' secrets) and GAMEVAULT_SIMULATORS_URL pointing at them.
"""

from __future__ import annotations

import os
import sys
import time
import uuid
from contextlib import asynccontextmanager
from typing import Any

import orjson
import uvicorn
from dbos import DBOS, DBOSConfig, SetWorkflowID
from fastapi import FastAPI, Request, Response
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from gamevault.adapters.factory import build_carrier, build_gateways
from gamevault.config import load_settings
from gamevault.domain.payments import mismatch, payment_id

PRICE = {"amount": "49.90", "currency": "PEN"}
COMPLETIONS: dict[str, tuple[float, str]] = {}
settings = load_settings()
gateways = build_gateways(settings)
carrier = build_carrier(settings, gateways.client)
engine: Any = None


@DBOS.step()
async def reserve(order: dict[str, Any]) -> bool:
    async with engine.begin() as con:
        for item in order["items"]:
            done = await con.execute(text("UPDATE peer_products SET stock = stock - :q WHERE id = :id AND stock >= :q"),
                                     {"q": item["quantity"], "id": item["product_id"]})
            if done.rowcount != 1:
                await con.rollback()
                return False
    return True


@DBOS.step()
async def release(order: dict[str, Any]) -> None:
    async with engine.begin() as con:
        for item in order["items"]:
            await con.execute(text("UPDATE peer_products SET stock = stock + :q WHERE id = :id"),
                              {"q": item["quantity"], "id": item["product_id"]})


@DBOS.step()
async def start_payment(payment: dict[str, Any]) -> str:
    return (await gateways[payment["provider"]].start(payment)).reference


@DBOS.step()
async def confirm(payment: dict[str, Any]) -> str:
    """The gateway's own word on the payment (a webhook is a hint until confirmed, as in GameVault)."""
    return await gateways[payment["provider"]].status(payment)


@DBOS.step()
async def capture(payment: dict[str, Any]) -> str:
    return await gateways[payment["provider"]].capture(payment)


@DBOS.step()
async def create_shipment(order: dict[str, Any]) -> dict[str, Any]:
    items = [{"product_id": i["product_id"], "quantity": i["quantity"]} for i in order["items"]]
    return await carrier.create("sh-" + order["order_id"], order["order_id"], order["shipping_address"], items)


@DBOS.step()
async def finish(order_id: str, outcome: str) -> str:
    COMPLETIONS.setdefault(order_id, (time.time(), outcome))
    return outcome


@DBOS.workflow()
async def order_saga(order: dict[str, Any]) -> str:
    oid = order["order_id"]
    if not await reserve(order):
        return await finish(oid, "cancelled")
    payment = {"order_id": oid, "payment_id": payment_id(oid), "provider": order["payment"]["provider"],
               "amount": order["total"], "request": order["payment"], "reference": None}
    payment["reference"] = await start_payment(payment)
    outcome = "pending"
    while outcome not in ("captured", "failed"):
        note = await DBOS.recv_async("payment", timeout_seconds=60)
        if note is None or mismatch(payment, note) is not None:
            outcome = "failed" if note is None else outcome  # no word in time: give up (GameVault voids)
            continue
        outcome = await confirm(payment)
        if outcome == "approved":
            outcome = await capture(payment)
    if outcome == "failed":
        await release(order)
        return await finish(oid, "cancelled")
    created = await create_shipment(order)
    if not created.get("ok"):
        return await finish(oid, "cancelled")  # (GameVault refunds here; the benchmark's carrier accepts all)
    notice = await DBOS.recv_async("delivery", timeout_seconds=3600)
    return await finish(oid, "completed" if notice and notice.get("status") == "delivered" else "cancelled")


@asynccontextmanager
async def lifespan(app: FastAPI):
    await prepare_products()
    DBOS(config=DBOSConfig(name="gamevault-peer", system_database_url=PG_URL, sys_db_pool_size=80,
                           log_level="WARNING"))
    DBOS.launch()
    yield
    await gateways.aclose()
    DBOS.destroy()


app = FastAPI(lifespan=lifespan)


@app.post("/api/v1/orders", status_code=202)
async def place(request: Request) -> Response:
    body = orjson.loads(await request.body())
    key = request.headers.get("idempotency-key") or uuid.uuid4().hex
    oid = str(uuid.uuid5(uuid.NAMESPACE_URL, "peer-order:" + key))
    order = {"order_id": oid, "items": body["items"], "payment": body["payment"],
             "shipping_address": body["shipping_address"],
             "total": {"amount": f"{49.90 * sum(i['quantity'] for i in body['items']):.2f}", "currency": "PEN"}}
    with SetWorkflowID(oid):
        await DBOS.start_workflow_async(order_saga, order)
    return Response(orjson.dumps({"id": oid, "status": "pending"}), status_code=202, media_type="application/json")


@app.post("/api/v1/payments/webhooks/{provider}")
async def payment_webhook(provider: str, request: Request) -> Response:
    note = await gateways[provider].verify(dict(request.headers), await request.body())
    await DBOS.send_async(note.order_id, {"provider": provider, "reference": note.reference, "amount": note.amount,
                                          "currency": note.currency, "outcome": note.outcome}, "payment",
                          idempotency_key=f"{provider}:{note.event_id}")
    return Response(b'{"status":"stored"}', media_type="application/json")


@app.post("/api/v1/logistics/webhooks/carrier")
async def carrier_webhook(request: Request) -> Response:
    doc = carrier.verify(dict(request.headers), await request.body())
    status = {"shipment.delivered": "delivered", "shipment.failed": "failed"}.get(doc["type"], "unknown")
    await DBOS.send_async(doc["data"]["order_id"], {"status": status}, "delivery", idempotency_key=doc["id"])
    return Response(b'{"status":"stored"}', media_type="application/json")


@app.get("/peer/completions")
async def completions() -> Response:
    return Response(orjson.dumps(COMPLETIONS), media_type="application/json")


@app.get("/readyz")
async def ready() -> dict[str, Any]:
    return {"ready": True, "worker": f"dbos-peer-{os.getpid()}"}


async def prepare_products(count: int = 16, stock: int = 1_000_000) -> list[str]:
    """The stock table, in the same database as DBOS's checkpoints (16 products, as bench.saga's)."""
    global engine
    # one connection per order in flight (bench.saga keeps 64 in flight): a smaller pool times orders out
    engine = create_async_engine(PG_URL.replace("postgresql://", "postgresql+psycopg://"), pool_size=70,
                                 max_overflow=10)
    ids = [f"peer-p{n}" for n in range(count)]
    async with engine.begin() as con:
        await con.execute(text("CREATE TABLE IF NOT EXISTS peer_products (id text PRIMARY KEY, stock int NOT NULL)"))
        for pid in ids:
            await con.execute(text("INSERT INTO peer_products VALUES (:id, :s) ON CONFLICT (id) DO NOTHING"),
                              {"id": pid, "s": stock})
    return ids


if __name__ == "__main__":
    PORT, PG_URL = int(sys.argv[1]), sys.argv[2]
    config = uvicorn.Config(app, host="127.0.0.1", port=PORT, log_level="warning", access_log=False,
                            loop="uvloop", http="httptools")
    uvicorn.Server(config).run()
