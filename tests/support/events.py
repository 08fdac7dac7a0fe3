"""Generated public events, as the platform publishes them, for the lake's tests and benchmarks."""

from __future__ import annotations

import random
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson

from gamevault.kafka_access import KafkaAccess

TOPIC_OF = {"users": "gamevault.users.events", "orders": "gamevault.orders.events",
            "payments": "gamevault.payments.events", "logistics": "gamevault.logistics.events",
            "reviews": "gamevault.reviews.events", "catalog": "gamevault.catalog.events"}
PROVIDERS = ("paypal", "yape", "plin")


def iso(ts: datetime) -> str:
    return ts.astimezone(UTC).isoformat().replace("+00:00", "Z")


def cloudevent(type_: str, data: dict[str, Any], at: datetime, subject: str) -> dict[str, Any]:
    return {"specversion": "1.0", "id": str(uuid.uuid4()), "source": "/gamevault/test", "type": type_,
            "time": iso(at), "subject": subject, "datacontenttype": "application/json", "data": data}


def generate(orders: int, seed: int = 1, start: datetime | None = None, days: int = 3) -> list[tuple[str, bytes, dict]]:
    """-> (topic, key, event) for users, carts, orders with their whole saga, payments, shipments, reviews."""
    rng = random.Random(seed)
    start = start or datetime(2026, 11, 20, 8, 0, tzinfo=UTC)
    out: list[tuple[str, bytes, dict]] = []
    buyers = [f"gb-{n}" for n in range(max(3, orders // 4))]
    products = [(f"gp-{n}", f"Game {n}", f"{rng.randint(10, 200)}.90") for n in range(12)]

    def emit(area: str, key: str, type_: str, data: dict, at: datetime, subject: str | None = None) -> None:
        out.append((TOPIC_OF[area], key.encode(), cloudevent(type_, data, at, subject or key)))

    for buyer in buyers:
        emit("users", buyer, "gamevault.users.user.registered",
             {"user_id": buyer, "email": f"{buyer}@example.test", "display_name": buyer, "role": "buyer",
              "registered_at": iso(start)}, start)
    for n in range(orders):
        buyer = rng.choice(buyers)
        placed = start + timedelta(seconds=rng.randint(0, days * 86_400 - 3_600))
        items = []
        for pid, title, price in rng.sample(products, rng.randint(1, 3)):
            qty = rng.randint(1, 3)
            emit("orders", buyer, "gamevault.orders.cart.item_set",
                 {"buyer_id": buyer, "product_id": pid, "quantity": qty}, placed - timedelta(minutes=5))
            items.append({"product_id": pid, "seller_id": "gs-1", "title": title, "quantity": qty,
                          "unit_price": {"amount": price, "currency": "PEN"}})
        total = sum(float(i["unit_price"]["amount"]) * i["quantity"] for i in items)
        oid, provider = f"go-{n}", PROVIDERS[n % 3]
        emit("orders", oid, "gamevault.orders.order.placed",
             {"order_id": oid, "buyer_id": buyer, "items": items,
              "total": {"amount": f"{total:.2f}", "currency": "PEN"},
              "provider": provider, "placed_at": iso(placed)}, placed)
        if rng.random() < 0.1:  # some buyers only browse the cart
            continue
        fate = rng.random()
        t, prev = placed, "pending"

        def step(status: str, extra: dict | None = None, oid: str = oid, buyer: str = buyer) -> None:
            nonlocal t, prev
            t = t + timedelta(seconds=rng.uniform(0.5, 30))
            emit("orders", oid, f"gamevault.orders.order.{status}",
                 {"order_id": oid, "buyer_id": buyer, "previous_status": prev, "at": iso(t), **(extra or {})}, t)
            prev = status

        pay = {"order_id": oid, "payment_id": f"gy-{n}", "provider": provider,
               "amount": {"amount": f"{total:.2f}", "currency": "PEN"}}
        if fate < 0.05:
            step("cancelled", {"reason": "stock_unavailable: x"})
            continue
        step("stock_reserved")
        if fate < 0.15:
            emit("payments", oid, "gamevault.payments.payment.failed", {**pay, "reason": "declined", "at": iso(t)}, t)
            step("cancelled", {"reason": "payment_failed: declined"})
            continue
        emit("payments", oid, "gamevault.payments.payment.started", {**pay, "provider_reference": "r", "at": iso(t)}, t)
        step("payment_pending", {"payment_id": f"gy-{n}"})
        emit("payments", oid, "gamevault.payments.payment.captured",
             {**pay, "provider_reference": "r", "at": iso(t)}, t)
        step("paid", {"amount": {"amount": f"{total:.2f}", "currency": "PEN"}})
        emit("logistics", oid, "gamevault.logistics.shipment.created",
             {"order_id": oid, "shipment_id": f"gs-{n}", "carrier": "andes", "tracking_number": "T", "city": "Lima",
              "country": "PE", "at": iso(t)}, t)
        step("shipping", {"shipment_id": f"gs-{n}"})
        if fate < 0.2:
            emit("payments", oid, "gamevault.payments.payment.refunded",
                 {**pay, "provider_reference": "r", "at": iso(t)}, t)
            step("cancelled", {"reason": "shipment_failed: lost"})
            continue
        step("completed")
        for item in items[:1]:
            if rng.random() < 0.6:
                rid = f"gr-{n}"
                stars = rng.randint(1, 5)
                base = {"review_id": rid, "product_id": item["product_id"], "buyer_id": buyer}
                emit("reviews", item["product_id"], "gamevault.reviews.review.submitted",
                     {**base, "review_version": 1, "rating": stars, "title": "Good one", "body": "Played a lot.",
                      "channel": "web", "edit": False, "at": iso(t)}, t, rid)
                emit("reviews", item["product_id"], "gamevault.reviews.review.approved",
                     {**base, "review_version": 2, "rating": stars, "moderator": "admin", "at": iso(t)}, t, rid)
    return out


def produce(access: KafkaAccess, events: list[tuple[str, bytes, dict]]) -> None:
    from kafka import KafkaProducer

    producer = KafkaProducer(**access.kafka_python(), acks="all", linger_ms=10)
    for topic, key, event in events:
        producer.send(topic, key=key, value=orjson.dumps(event))
    producer.flush()
    producer.close()
