"""CCP agent: carts, order placement, and the saga orchestrator with its deadline timer."""

from __future__ import annotations

import logging
import time
from typing import Any

from gamevault.agents.app import raw_topic
from gamevault.agents.runtime import Context, Dispatcher, reject, stream_agent
from gamevault.domain import orders
from gamevault.domain.orders import FINAL, MAX_ORDER_LINES, Step, Timeouts
from gamevault.metrics import SAGA_TRANSITIONS
from gamevault.streams.envelope import new_event
from gamevault.streams.topics import (
    CATALOG_COMMANDS,
    LOGISTICS_COMMANDS,
    ORDERS_COMMANDS,
    PAYMENTS_COMMANDS,
    partition_of,
)

log = logging.getLogger(__name__)
SOURCE = "/gamevault/orders"
CART_SET, CART_REMOVE = "gamevault.orders.cart.set_item", "gamevault.orders.cart.remove_item"
CART_ORDERED = "gamevault.orders.cart.remove_ordered"
PLACE = "gamevault.orders.place"
CANCEL = "gamevault.orders.cancel"  # a buyer's or an admin's: {order_id, reason}
SAGA = "gamevault.orders.saga."
SAGA_KINDS = ("stock_reserved", "stock_rejected", "payment_started", "payment_captured", "payment_failed",
              "payment_refunded", "shipment_created", "shipment_delivered", "shipment_failed", "deadline")
TARGETS = {"catalog": CATALOG_COMMANDS, "payments": PAYMENTS_COMMANDS, "logistics": LOGISTICS_COMMANDS,
           "orders": ORDERS_COMMANDS}


def order_partition(order_id: str) -> int:
    return partition_of(order_id.encode(), ORDERS_COMMANDS.partitions)


class DeadlineIndex:
    """The deadlines of this worker's live orders, so the timer never scans the whole table."""

    def __init__(self) -> None:
        self.deadlines: dict[str, float] = {}
        self.sent: dict[str, float] = {}

    def track(self, order_id: str, order: dict[str, Any]) -> None:
        if order["status"] in FINAL or order.get("deadline") is None:
            self.deadlines.pop(order_id, None)
            self.sent.pop(order_id, None)
        else:
            self.deadlines[order_id] = order["deadline"]

    def due(self, now: float, mine: set[int]) -> list[tuple[str, float]]:
        out = []
        for order_id, deadline in self.deadlines.items():
            if deadline <= now and self.sent.get(order_id) != deadline and order_partition(order_id) in mine:
                self.sent[order_id] = deadline
                out.append((order_id, deadline))
        return out


def install(services: Any) -> None:
    app, tables, settings = services.app, services.tables, services.settings
    timeouts = Timeouts(step_s=settings.saga_step_timeout_s, payment_s=settings.payment_confirm_timeout_s,
                        delivery_s=settings.delivery_timeout_s)
    dispatcher = Dispatcher("orders", ORDERS_COMMANDS, services.producer, SOURCE)
    index = DeadlineIndex()
    services.deadlines = index

    async def persist(ctx: Context, order_id: str, step: Step) -> None:
        if step.state is not None:
            tables.orders[order_id] = step.state
            index.track(order_id, step.state)
            if step.state["timeline"][-1]["cause"] == ctx.event.id:
                SAGA_TRANSITIONS.labels(step.state["status"]).inc()
        for type_, data in step.events:
            await ctx.publish(ctx.make_event(type_, data, cause=ctx.event.id))
        for effect in step.effects:
            await ctx.command(TARGETS[effect.target], effect.key, effect.type, effect.data, cause=ctx.event.id)
        if step.error is not None:
            await reject(ctx, *step.error)
        else:
            await ctx.ok(**(step.state or tables.orders.get(order_id) or {}))

    def now_of(ctx: Context) -> float:
        return ctx.event.time.timestamp()  # the command's time: a replay decides exactly as the first time

    @dispatcher.on(PLACE)
    async def place(data: dict[str, Any], ctx: Context) -> None:
        oid = data["order_id"]
        await persist(ctx, oid, orders.place(tables.orders.get(oid), data, ctx.event.id, now_of(ctx), timeouts))

    @dispatcher.on(CANCEL)
    async def cancel(data: dict[str, Any], ctx: Context) -> None:
        oid = data["order_id"]
        step = orders.cancel(tables.orders.get(oid), data["reason"], ctx.event.id, now_of(ctx), timeouts)
        await persist(ctx, oid, step)

    def saga_handler(kind: str):
        async def handle(data: dict[str, Any], ctx: Context) -> None:
            oid = data["order_id"]
            step = orders.apply(tables.orders.get(oid), kind, data, ctx.event.id, now_of(ctx), timeouts)
            await persist(ctx, oid, step)

        return handle

    for kind in SAGA_KINDS:
        dispatcher.on(SAGA + kind)(saga_handler(kind))

    # ---- carts ---------------------------------------------------------------------------------
    def cart_of(buyer_id: str) -> dict[str, Any]:
        return tables.carts.get(buyer_id) or {"buyer_id": buyer_id, "items": {}, "ordered": [], "version": 0}

    async def save_cart(ctx: Context, cart: dict[str, Any], events: list[tuple[str, dict[str, Any]]]) -> None:
        cart = {**cart, "version": cart["version"] + 1}
        tables.carts[cart["buyer_id"]] = cart
        for type_, data in events:
            await ctx.publish(ctx.make_event(type_, data, cause=ctx.event.id))
        await ctx.ok(**cart)

    @dispatcher.on(CART_SET)
    async def cart_set(data: dict[str, Any], ctx: Context) -> None:
        cart = cart_of(data["buyer_id"])
        if data["product_id"] not in cart["items"] and len(cart["items"]) >= MAX_ORDER_LINES:
            await reject(ctx, "invalid", f"a cart holds at most {MAX_ORDER_LINES} products")
            return
        items = {**cart["items"], data["product_id"]: data["quantity"]}
        await save_cart(ctx, {**cart, "items": items}, [("gamevault.orders.cart.item_set", data)])

    @dispatcher.on(CART_REMOVE)
    async def cart_remove(data: dict[str, Any], ctx: Context) -> None:
        cart = cart_of(data["buyer_id"])
        if data["product_id"] not in cart["items"]:
            await reject(ctx, "not_found", f"product {data['product_id']} is not in the cart")
            return
        items = {k: v for k, v in cart["items"].items() if k != data["product_id"]}
        await save_cart(ctx, {**cart, "items": items}, [("gamevault.orders.cart.item_removed",
                                                          {**data, "reason": "removed"})])

    @dispatcher.on(CART_ORDERED)
    async def cart_ordered(data: dict[str, Any], ctx: Context) -> None:
        cart = cart_of(data["buyer_id"])
        if data["order_id"] in cart["ordered"]:
            await ctx.ok(**cart)
            return
        items, events = dict(cart["items"]), []
        for pid, qty in data["items"].items():
            if pid in items:
                left = items.pop(pid) - qty
                if left > 0:
                    items[pid] = left
                    events.append(("gamevault.orders.cart.item_set",
                                   {"buyer_id": cart["buyer_id"], "product_id": pid, "quantity": left}))
                else:
                    events.append(("gamevault.orders.cart.item_removed",
                                   {"buyer_id": cart["buyer_id"], "product_id": pid, "reason": "ordered"}))
        await save_cart(ctx, {**cart, "items": items, "ordered": [*cart["ordered"], data["order_id"]][-20:]}, events)

    app.agent(raw_topic(app, ORDERS_COMMANDS), name="orders")(stream_agent(dispatcher))

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
            command = new_event(SAGA + "deadline", SOURCE, {"order_id": oid, "deadline": deadline}, subject=oid)
            await services.producer.send(ORDERS_COMMANDS.name, oid.encode(), command.to_json())
