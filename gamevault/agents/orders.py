"""CCP agent: carts, order placement, and the saga orchestrator with its deadline timer."""

from __future__ import annotations

import logging
import time
from typing import Any

from gamevault.agents.command_batches import command_agent
from gamevault.agents.deadlines import order_partition
from gamevault.agents.runtime import Context, apply
from gamevault.agents.services import AgentServices
from gamevault.domain import carts, orders, saga
from gamevault.domain.decision import Decision
from gamevault.domain.orders import Timeouts
from gamevault.metrics import SAGA_TRANSITIONS
from gamevault.streams.contracts.commands import (
    CANCEL_ORDER,
    DEADLINE,
    PLACE_ORDER,
    REMOVE_CART_ITEM,
    REMOVE_ORDERED,
    SAGA_REPLIES,
    SET_CART_ITEM,
)
from gamevault.streams.envelope import new_event
from gamevault.streams.registry import CommandType
from gamevault.streams.topics import ORDERS_COMMANDS

log = logging.getLogger(__name__)
SOURCE = "/gamevault/orders"


def install(services: AgentServices) -> None:
    app, tables, settings = services.app, services.tables, services.settings
    timeouts = Timeouts(step_s=settings.saga_step_timeout_s, payment_s=settings.payment_confirm_timeout_s,
                        delivery_s=settings.delivery_timeout_s)
    dispatcher = services.dispatcher("orders", ORDERS_COMMANDS, SOURCE)
    index = services.deadlines

    async def persist(ctx: Context, order_id: str, decision: Decision) -> None:
        """The order's decision, answered with the order as it now stands."""
        if decision.reply is None and decision.error is None:
            decision.reply = decision.state or tables.orders.get(order_id) or {}
        await apply(ctx, tables.orders, order_id, decision)
        if decision.state is not None:
            index.track(order_id, decision.state)
            if decision.state["timeline"][-1]["cause"] == ctx.event.id:
                SAGA_TRANSITIONS.labels(decision.state["status"]).inc()

    def now_of(ctx: Context) -> float:
        return ctx.event.time.timestamp()  # the command's time: a replay decides exactly as the first time

    @dispatcher.on(PLACE_ORDER)
    async def place(data: dict[str, Any], ctx: Context) -> None:
        oid = data["order_id"]
        await persist(ctx, oid, orders.place(tables.orders.get(oid), data, ctx.event.id, now_of(ctx), timeouts))

    @dispatcher.on(CANCEL_ORDER)
    async def cancel(data: dict[str, Any], ctx: Context) -> None:
        oid = data["order_id"]
        decision = orders.cancel(tables.orders.get(oid), data["reason"], ctx.event.id, now_of(ctx), timeouts)
        await persist(ctx, oid, decision)

    def saga_handler(reply: CommandType):
        async def handle(data: dict[str, Any], ctx: Context) -> None:
            oid = data["order_id"]
            decision = saga.apply(tables.orders.get(oid), reply, data, ctx.event.id, now_of(ctx), timeouts)
            await persist(ctx, oid, decision)

        return handle

    for reply in SAGA_REPLIES:
        dispatcher.on(reply)(saga_handler(reply))

    # ---- carts ---------------------------------------------------------------------------------
    for type_, decide in ((SET_CART_ITEM, carts.set_item), (REMOVE_CART_ITEM, carts.remove_item),
                          (REMOVE_ORDERED, carts.remove_ordered)):
        async def cart_handler(data: dict[str, Any], ctx: Context, decide: Any = decide) -> None:
            buyer = data["buyer_id"]
            await apply(ctx, tables.carts, buyer, decide(tables.carts.get(buyer) or carts.empty(buyer), data))

        dispatcher.on(type_)(cart_handler)

    command_agent(app, dispatcher)

    # ---- deadlines -------------------------------------------------------------------------------
    last_rebuild: list[Any] = [0.0, set()]  # when, for which partitions

    def my_partitions() -> set[int]:
        return {tp.partition for tp in app.assignor.assigned_actives() if tp.topic == ORDERS_COMMANDS.name}

    @app.timer(interval=0.5)
    async def saga_deadlines() -> None:
        if app.rebalancing or app.in_recovery:
            return
        now = time.time()
        mine = my_partitions()
        # after a rebalance (and its recovery) this worker owns other orders; a slow periodic pass as well.
        # Only this worker's orders are decoded (values are JSON bytes): a scan of all is a second per 100k.
        if mine != last_rebuild[1] or now - last_rebuild[0] > 60.0:
            last_rebuild[:] = [now, mine]
            for oid, order in list(tables.orders.items(where=lambda k: order_partition(k) in mine)):
                index.track(oid, order)
        for oid, deadline in index.due(now, mine):
            command = new_event(DEADLINE.type, SOURCE, {"order_id": oid, "deadline": deadline}, subject=oid)
            await services.producer.send(ORDERS_COMMANDS.name, oid.encode(), command.to_json())
