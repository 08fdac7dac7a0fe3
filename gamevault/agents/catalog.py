"""CP agent: product writes (REST and seller integrations) and stock, one product at a time."""

from __future__ import annotations

from typing import Any

from gamevault.agents.app import raw_topic
from gamevault.agents.runtime import Context, Dispatcher, apply, reject, stream_agent
from gamevault.domain import catalog
from gamevault.domain.identity import UsersUnavailable
from gamevault.streams.envelope import iso
from gamevault.streams.topics import CATALOG_COMMANDS

SOURCE = "/gamevault/catalog"
CREATE = "gamevault.catalog.product.create"
UPDATE = "gamevault.catalog.product.update"
UPSERT = "gamevault.catalog.product.upsert"  # the ingress type, forwarded as is
SET_STOCK = "gamevault.catalog.stock.set"  # the ingress type, forwarded as is


def install(services: Any) -> None:
    products = services.tables.products
    dispatcher = Dispatcher("catalog", CATALOG_COMMANDS, services.producer, SOURCE)

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

    @dispatcher.on(CREATE)
    async def create(data: dict[str, Any], ctx: Context) -> None:
        pid = data["product_id"]
        await apply(ctx, products, pid, catalog.create(products.get(pid), data, ctx.event.id, iso(ctx.event.time)))

    @dispatcher.on(UPDATE)
    async def update(data: dict[str, Any], ctx: Context) -> None:
        pid = data["product_id"]
        await apply(ctx, products, pid, catalog.update(products.get(pid), data, ctx.event.id, iso(ctx.event.time)))

    @dispatcher.on(UPSERT)
    async def upsert(data: dict[str, Any], ctx: Context) -> None:
        if await seller_known(data["seller_id"], ctx):
            pid = data["product_id"]
            await apply(ctx, products, pid, catalog.upsert(products.get(pid), data, ctx.event.id, iso(ctx.event.time)))

    @dispatcher.on(SET_STOCK)
    async def set_stock(data: dict[str, Any], ctx: Context) -> None:
        pid = data["product_id"]
        await apply(ctx, products, pid, catalog.set_stock(products.get(pid), data, ctx.event.id, iso(ctx.event.time)))

    services.app.agent(raw_topic(services.app, CATALOG_COMMANDS), name="catalog")(stream_agent(dispatcher))
