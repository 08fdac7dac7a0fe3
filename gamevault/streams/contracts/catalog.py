"""CP events and the ingress commands seller integrations send."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import Field, StringConstraints

from gamevault.streams.contracts.common import Contract, Genre, Id, Money, Platform, Title, whole_number
from gamevault.streams.registry import event
from gamevault.streams.topics import CATALOG_EVENTS, CATALOG_INGRESS

Description = Annotated[str, StringConstraints(max_length=5000)]
Genres = Annotated[list[Genre], Field(min_length=1, max_length=8)]
Stock = whole_number(0, 1_000_000)


class ProductState(Contract):
    product_id: Id
    seller_id: Id
    title: Title
    description: Description = ""
    platform: Platform
    genres: Genres
    price: Money
    stock: Stock
    listed: bool = Field(True, description="false: delisted by its seller (out of search, not orderable)")
    created_at: datetime
    updated_at: datetime
    version: int = Field(ge=1)


@event("gamevault.catalog.product.created", topic=CATALOG_EVENTS, key="product_id",
       summary="A seller listed a new product")
class ProductCreated(ProductState):
    pass


@event("gamevault.catalog.product.updated", topic=CATALOG_EVENTS, key="product_id",
       summary="A product's listing changed (full new state, with the changed field names)")
class ProductUpdated(ProductState):
    changed: list[str]


@event("gamevault.catalog.stock.changed", topic=CATALOG_EVENTS, key="product_id",
       summary="Available stock moved: set by the seller, reserved, released or sold")
class StockChanged(Contract):
    product_id: Id
    stock: int = Field(ge=0)
    delta: int
    reason: Literal["set", "reserved", "released", "sold"]
    order_id: Id | None = None


@event("gamevault.catalog.rating.changed", topic=CATALOG_EVENTS, key="product_id",
       summary="A product's rating aggregate after approved, edited or retracted reviews")
class RatingChanged(Contract):
    product_id: Id
    count: int = Field(ge=0)
    sum: int = Field(ge=0)
    average: float | None
    histogram: dict[str, int]


# ---- ingress: seller integrations -> gamevault.catalog.commands ---------------------------
@event("gamevault.catalog.product.upsert", topic=CATALOG_INGRESS, key="product_id",
       summary="Create or replace a product listing (seller integration)")
class UpsertProduct(Contract):
    product_id: Id
    seller_id: Id
    title: Title
    description: Description = ""
    platform: Platform
    genres: Genres
    price: Money
    stock: Stock | None = None


@event("gamevault.catalog.stock.set", topic=CATALOG_INGRESS, key="product_id",
       summary="Set a product's available stock (seller integration)")
class SetStock(Contract):
    product_id: Id
    seller_id: Id
    stock: Stock
