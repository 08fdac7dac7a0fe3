"""The saga timer's memory: the deadlines of this worker's live orders, so it never scans the table."""

from __future__ import annotations

from typing import Any

from gamevault.domain.orders import FINAL
from gamevault.streams.topics import ORDERS_COMMANDS, partition_of


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
