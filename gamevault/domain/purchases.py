"""CCP's answer to "did this buyer receive this product?", asked by CR at the moment of need."""

from __future__ import annotations

from typing import Any

from gamevault.streams.topics import ORDERS_TABLE


class PurchaseLedger:
    def __init__(self, views: Any, replicas: Any) -> None:
        self.views = views
        self.replicas = replicas

    def _found(self, buyer_id: str, product_id: str) -> bool:
        for order_id in self.views.orders_by_buyer.keys(buyer_id):
            order = self.views.orders.get(order_id)
            if order and order["status"] == "completed" and any(i["product_id"] == product_id for i in order["items"]):
                return True
        return False

    async def completed(self, buyer_id: str, product_id: str) -> bool:
        if self._found(buyer_id, product_id):
            return True
        await self.replicas.sync(ORDERS_TABLE.name, 3.0)  # a completion a moment ago, on another worker
        return self._found(buyer_id, product_id)
