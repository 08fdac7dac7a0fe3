"""LE events."""

from __future__ import annotations

from datetime import datetime

from gamevault.streams.contracts.common import Contract, Id
from gamevault.streams.registry import event
from gamevault.streams.topics import LOGISTICS_EVENTS


class _Shipment(Contract):
    order_id: Id
    shipment_id: Id
    carrier: str
    at: datetime


@event("gamevault.logistics.shipment.created", topic=LOGISTICS_EVENTS, key="order_id",
       summary="The carrier accepted a shipment for a paid order")
class ShipmentCreated(_Shipment):
    tracking_number: str
    city: str
    country: str


@event("gamevault.logistics.shipment.delivered", topic=LOGISTICS_EVENTS, key="order_id",
       summary="The carrier delivered the shipment")
class ShipmentDelivered(_Shipment):
    pass


@event("gamevault.logistics.shipment.failed", topic=LOGISTICS_EVENTS, key="order_id",
       summary="The carrier could not take or deliver the shipment")
class ShipmentFailed(_Shipment):
    reason: str
