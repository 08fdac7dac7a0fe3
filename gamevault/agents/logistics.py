"""LE agent: shipments through the carrier adapter; delivery notices arrive stored by the gateway."""

from __future__ import annotations

from typing import Any

from gamevault.agents.command_batches import command_agent
from gamevault.agents.runtime import Context, apply, reject
from gamevault.agents.services import AgentServices
from gamevault.domain import logistics
from gamevault.domain.decision import Decision
from gamevault.streams.contracts.commands import CARRIER_NOTICE, CREATE_SHIPMENT, SHIPMENT_RESULTS, TRACK_SHIPMENT
from gamevault.streams.envelope import iso
from gamevault.streams.topics import LOGISTICS_COMMANDS

SOURCE = "/gamevault/logistics"


def install(services: AgentServices) -> None:
    table = services.tables.shipments
    carrier = services.carrier
    effects = services.effect_runner(SOURCE)
    dispatcher = services.dispatcher("logistics", LOGISTICS_COMMANDS, SOURCE)

    def call(what: str, shipment: dict[str, Any]) -> None:
        async def perform() -> dict[str, Any]:
            if what == "create":
                return await carrier.create(shipment["shipment_id"], shipment["order_id"], shipment["address"],
                                            shipment["items"])
            return {"ok": True, "status": await carrier.track(shipment["carrier_id"])}

        effects.run(what, shipment["order_id"], perform, SHIPMENT_RESULTS[what])

    async def persist(ctx: Context, order_id: str, decision: Decision) -> None:
        await apply(ctx, table, order_id, decision, call)

    @dispatcher.on(CREATE_SHIPMENT)
    async def create(data: dict[str, Any], ctx: Context) -> None:
        await persist(ctx, data["order_id"], logistics.create(table.get(data["order_id"]), data, iso(ctx.event.time)))

    @dispatcher.on(SHIPMENT_RESULTS["create"])
    async def create_result(data: dict[str, Any], ctx: Context) -> None:
        shipment = table.get(data["key"])
        if shipment is not None:
            await persist(ctx, data["key"], logistics.created(shipment, data, iso(ctx.event.time)))

    @dispatcher.on(CARRIER_NOTICE)
    async def carrier_event(data: dict[str, Any], ctx: Context) -> None:
        shipment = table.get(data["order_id"])
        if shipment is None:
            await reject(ctx, "not_found", f"carrier notice {data.get('event_id')} for unknown shipment")
            return
        await persist(ctx, data["order_id"], logistics.carrier_event(shipment, data, iso(ctx.event.time)))

    @dispatcher.on(TRACK_SHIPMENT)
    async def track(data: dict[str, Any], ctx: Context) -> None:
        shipment = table.get(data["order_id"])
        if shipment is not None and shipment["status"] == logistics.CREATED:
            call("track", shipment)

    @dispatcher.on(SHIPMENT_RESULTS["track"])
    async def track_result(data: dict[str, Any], ctx: Context) -> None:
        shipment = table.get(data["key"])
        if shipment is not None and data.get("ok"):
            await persist(ctx, data["key"], logistics.carrier_event(shipment, {"status": data["status"]},
                                                                    iso(ctx.event.time)))

    command_agent(services.app, dispatcher)
