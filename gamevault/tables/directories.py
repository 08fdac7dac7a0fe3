"""The in-worker implementations of the domain's directories, read from the replicated tables.

Other modules ask GU and CCP at the moment of need (domain/identity.py, domain/purchases.py); in a
worker both answer from the changelog replicas, catching up once before calling a record absent.
"""

from __future__ import annotations

import asyncio
from typing import Any

from gamevault.domain.identity import Identity, UsersUnavailable
from gamevault.streams.contracts.orders import OrderStatus
from gamevault.tables.readmodels import ReadModels
from gamevault.tables.replica import ReplicaService


class ReplicaUserDirectory:
    def __init__(self, views: ReadModels, replicas: ReplicaService, timeout_s: float = 2.0,
                 chaos: frozenset[str] = frozenset()) -> None:
        self.views = views
        self.replicas = replicas
        self.timeout_s = timeout_s
        self.chaos = chaos

    async def _ready(self) -> None:
        if "users" in self.chaos:
            raise UsersUnavailable("GU is unavailable (chaos switch GAMEVAULT_CHAOS=users)")
        if not self.replicas.ready.is_set():
            try:
                await asyncio.wait_for(self.replicas.ready.wait(), self.timeout_s)
            except TimeoutError:
                raise UsersUnavailable("GU is still loading its state; retry shortly") from None

    async def get(self, user_id: str) -> Identity | None:
        await self._ready()
        record = await self.replicas.fresh(lambda: self.views.user_by_id(user_id), self.timeout_s)
        return Identity.of(record) if record else None

    async def credentials(self, email: str) -> dict[str, Any] | None:
        """The account record with its password hash: for the token endpoint only."""
        await self._ready()
        return await self.replicas.fresh(lambda: self.views.users.get(email), self.timeout_s)


class PurchaseLedger:
    def __init__(self, views: ReadModels, replicas: ReplicaService) -> None:
        self.views = views
        self.replicas = replicas

    def _found(self, buyer_id: str, product_id: str) -> bool:
        for order_id in self.views.orders_by_buyer.keys(buyer_id):
            order = self.views.orders.get(order_id)
            if order and order["status"] == OrderStatus.COMPLETED and \
                    any(i["product_id"] == product_id for i in order["items"]):
                return True
        return False

    async def completed(self, buyer_id: str, product_id: str) -> bool:
        if self._found(buyer_id, product_id):
            return True
        await self.replicas.sync(timeout=3.0)  # a completion a moment ago, on another worker
        return self._found(buyer_id, product_id)
