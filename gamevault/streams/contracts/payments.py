"""SP events: one payment attempt per order, its outcome, refunds and voids."""

from __future__ import annotations

from datetime import datetime

from gamevault.streams.contracts.common import Contract, Id, Money, Provider
from gamevault.streams.registry import event
from gamevault.streams.topics import PAYMENTS_EVENTS


class _Payment(Contract):
    order_id: Id
    payment_id: Id
    provider: Provider
    amount: Money
    at: datetime


@event("gamevault.payments.payment.started", topic=PAYMENTS_EVENTS, key="order_id",
       summary="A payment was started with the gateway (synchronously)")
class PaymentStarted(_Payment):
    provider_reference: str


@event("gamevault.payments.payment.captured", topic=PAYMENTS_EVENTS, key="order_id",
       summary="The gateway confirmed the money was captured (webhook or reconciliation)")
class PaymentCaptured(_Payment):
    provider_reference: str


@event("gamevault.payments.payment.failed", topic=PAYMENTS_EVENTS, key="order_id",
       summary="The payment did not succeed: declined, refused at start, or never confirmed")
class PaymentFailed(_Payment):
    reason: str


@event("gamevault.payments.payment.refunded", topic=PAYMENTS_EVENTS, key="order_id",
       summary="A captured payment was refunded (compensation)")
class PaymentRefunded(_Payment):
    provider_reference: str


@event("gamevault.payments.payment.voided", topic=PAYMENTS_EVENTS, key="order_id",
       summary="An unconfirmed payment was voided with the gateway (compensation)")
class PaymentVoided(_Payment):
    reason: str
