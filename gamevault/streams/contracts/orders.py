"""CCP events: carts and every transition of the order saga (the timeline)."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Literal

from pydantic import Field

from gamevault.streams.contracts.common import Contract, Id, Money, Provider
from gamevault.streams.registry import event
from gamevault.streams.topics import ORDERS_EVENTS


class OrderStatus(StrEnum):
    """An order's status, in the order its saga moves through them (it never moves backwards)."""

    PENDING = "pending"
    STOCK_RESERVED = "stock_reserved"
    PAYMENT_PENDING = "payment_pending"
    PAID = "paid"
    SHIPPING = "shipping"
    COMPLETED = "completed"
    CANCELLED = "cancelled"


@event("gamevault.orders.cart.item_set", topic=ORDERS_EVENTS, key="buyer_id",
       summary="A buyer put a product in the cart or changed its quantity")
class CartItemSet(Contract):
    buyer_id: Id
    product_id: Id
    quantity: int = Field(ge=1, le=100)


@event("gamevault.orders.cart.item_removed", topic=ORDERS_EVENTS, key="buyer_id",
       summary="A product left the cart (removed by the buyer, or ordered)")
class CartItemRemoved(Contract):
    buyer_id: Id
    product_id: Id
    reason: Literal["removed", "ordered"] = "removed"


class OrderLine(Contract):
    product_id: Id
    seller_id: Id
    title: str
    quantity: int = Field(ge=1, le=100)
    unit_price: Money


@event("gamevault.orders.order.placed", topic=ORDERS_EVENTS, key="order_id",
       summary="An order was accepted; its saga starts (status pending)")
class OrderPlaced(Contract):
    order_id: Id
    buyer_id: Id
    items: list[OrderLine] = Field(min_length=1)
    total: Money
    provider: Provider
    placed_at: datetime


class _Transition(Contract):
    order_id: Id
    buyer_id: Id
    previous_status: OrderStatus
    at: datetime


@event("gamevault.orders.order.stock_reserved", topic=ORDERS_EVENTS, key="order_id",
       summary="Every item's stock is held for the order")
class OrderStockReserved(_Transition):
    pass


@event("gamevault.orders.order.payment_pending", topic=ORDERS_EVENTS, key="order_id",
       summary="The payment was started with the gateway; waiting for its confirmation")
class OrderPaymentPending(_Transition):
    payment_id: Id


@event("gamevault.orders.order.paid", topic=ORDERS_EVENTS, key="order_id",
       summary="The gateway confirmed the payment")
class OrderPaid(_Transition):
    amount: Money


@event("gamevault.orders.order.shipping", topic=ORDERS_EVENTS, key="order_id",
       summary="A shipment was created with the carrier")
class OrderShipping(_Transition):
    shipment_id: Id


@event("gamevault.orders.order.completed", topic=ORDERS_EVENTS, key="order_id",
       summary="The shipment was delivered; the sale is final")
class OrderCompleted(_Transition):
    pass


@event("gamevault.orders.order.cancelled", topic=ORDERS_EVENTS, key="order_id",
       summary="The saga ended without a sale; compensations ran (stock released, payment refunded/voided)")
class OrderCancelled(_Transition):
    reason: str
