"""CP agent: product writes (REST and seller integrations) and stock, one product at a time."""

from __future__ import annotations

from typing import Any

from gamevault.agents.command_batches import command_agent
from gamevault.agents.runtime import Context, apply, reject
from gamevault.agents.services import AgentServices
from gamevault.domain import catalog
from gamevault.domain.decision import saga_reply
from gamevault.domain.identity import UsersUnavailable
from gamevault.streams.contracts.commands import (
    COMMIT_STOCK,
    CREATE_PRODUCT,
    RELEASE_STOCK,
    RESERVE_STOCK,
    SET_STOCK,
    STOCK_REJECTED,
    STOCK_RESERVED,
    UPDATE_PRODUCT,
    UPSERT_PRODUCT,
)
from gamevault.streams.envelope import iso
from gamevault.streams.topics import CATALOG_COMMANDS

SOURCE = "/gamevault/catalog"


def install(services: AgentServices) -> None:
    products = services.tables.products
    dispatcher = services.dispatcher("catalog", CATALOG_COMMANDS, SOURCE)

    async def seller_known(seller_id: str, ctx: Context) -> bool:
        """Seller integrations name their seller; GU is asked whether it is one."""
        try:
            who = await services.users.get(seller_id)
        except UsersUnavailable as exc:
            raise RuntimeError(f"GU unavailable: {exc}") from exc
        if who is None or who.role != "seller":
            await reject(ctx, "forbidden", f"seller {seller_id} is not a registered seller")
            return False
        return True

    def product_handler(decide: Any, seller_checked: bool = False) -> Any:
        async def handle(data: dict[str, Any], ctx: Context) -> None:
            if seller_checked and not await seller_known(data["seller_id"], ctx):
                return
            pid = data["product_id"]
            await apply(ctx, products, pid, decide(products.get(pid), data, ctx.event.id, iso(ctx.event.time)))

        return handle

    dispatcher.on(CREATE_PRODUCT)(product_handler(catalog.create))
    dispatcher.on(UPDATE_PRODUCT)(product_handler(catalog.update))
    dispatcher.on(UPSERT_PRODUCT)(product_handler(catalog.upsert, seller_checked=True))  # seller integrations
    dispatcher.on(SET_STOCK)(product_handler(catalog.set_stock))

    reservations = services.tables.reservations

    @dispatcher.on(RESERVE_STOCK)
    async def reserve(data: dict[str, Any], ctx: Context) -> None:
        pid, oid = data["product_id"], data["order_id"]
        key = catalog.reservation_key(pid, oid)
        product = products.get(pid)
        decision, rejected, answer = catalog.reserve(product, reservations.get(key), data, ctx.event.id,
                                                     iso(ctx.event.time))
        await apply(ctx, products, pid, decision)  # the stock and its hold: one record
        if rejected is not None:
            reservations[key] = rejected
        if answer == catalog.RESERVED:
            reply = saga_reply(STOCK_RESERVED, data, {"product_id": pid})
        else:
            reply = saga_reply(STOCK_REJECTED, data, {"product_id": pid, "title": product["title"] if product else pid,
                                                      "available": product["stock"] if product else 0})
        await ctx.command(reply.type, reply.key, reply.data, cause=ctx.event.id)

    @dispatcher.on(RELEASE_STOCK)
    async def release(data: dict[str, Any], ctx: Context) -> None:
        pid, oid = data["product_id"], data["order_id"]
        key = catalog.reservation_key(pid, oid)
        decision, ended = catalog.release(products.get(pid), reservations.get(key), data, ctx.event.id,
                                          iso(ctx.event.time))
        if ended is not None:  # how the hold ended first, then the product: see domain/catalog.py
            reservations[key] = ended
        await apply(ctx, products, pid, decision)

    @dispatcher.on(COMMIT_STOCK)
    async def commit(data: dict[str, Any], ctx: Context) -> None:
        pid, oid = data["product_id"], data["order_id"]
        key = catalog.reservation_key(pid, oid)
        decision, sold = catalog.commit(products.get(pid), reservations.get(key), oid, ctx.event.id,
                                        iso(ctx.event.time))
        if sold is not None:
            reservations[key] = sold
        if decision.state is not None:
            products[pid] = decision.state  # the hold dropped: no event, no reply (commit is one-way)

    command_agent(services.app, dispatcher)
