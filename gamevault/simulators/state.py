"""What the simulators remember: every payment and shipment, a ledger of money movements per order,
and the chaos switches tests turn on."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class Chaos:
    webhook_copies: int = 1  # deliver every notification this many times
    shuffle: bool = False  # deliver a payment's notifications in random order, with random delays
    delay_s: float = 0.05  # before the buyer's confirmation / the carrier's delivery
    start_failures: int = 0  # the next N payment starts answer 503 (transient)

    def update(self, changes: dict[str, Any]) -> None:
        for key, value in changes.items():
            if hasattr(self, key):
                setattr(self, key, type(getattr(self, key))(value))


@dataclass
class Ledger:
    """Money movements per merchant order id: what the invariants are checked against."""

    orders: dict[str, dict[str, Any]] = field(default_factory=dict)

    def entry(self, order_id: str, provider: str) -> dict[str, Any]:
        return self.orders.setdefault(order_id, {"provider": provider, "captures": 0, "refunds": 0, "voids": 0,
                                                 "declines": 0, "status": "started"})

    def count(self, order_id: str, provider: str, what: str, status: str | None = None) -> None:
        entry = self.entry(order_id, provider)
        entry[what] += 1
        if status:
            entry["status"] = status


@dataclass
class SimState:
    chaos: Chaos = field(default_factory=Chaos)
    ledger: Ledger = field(default_factory=Ledger)
    payments: dict[str, dict[str, Any]] = field(default_factory=dict)  # gateway id -> payment
    idempotency: dict[str, Any] = field(default_factory=dict)  # (provider, key) -> first answer
    shipments: dict[str, dict[str, Any]] = field(default_factory=dict)
    delivered_webhooks: int = 0
