"""GU's client interface: how orders, payments, reviews and the gateway learn who a user is.

The seed wants other modules to ask GU at the moment of need, and no module to keep its own copy of
profiles. `UserDirectory` is that one interface; the in-worker implementation asks GU's own state
(the users table, replicated into every worker) with a timeout, and raises `UsersUnavailable` when
GU cannot answer in time.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any, Protocol

from gamevault.streams.topics import USERS_TABLE


@dataclass(frozen=True)
class Identity:
    user_id: str
    email: str
    display_name: str
    role: str
    registered_at: str
    token_version: int = 0  # tokens carrying another version were revoked (logout, password change)

    @classmethod
    def of(cls, record: dict[str, Any]) -> Identity:
        return cls(record["user_id"], record["email"], record["display_name"], record["role"],
                   record["registered_at"], record.get("token_version", 0))


class UsersUnavailable(Exception):
    """GU did not answer in time (starting up, or Kafka unreachable)."""


class UserDirectory(Protocol):
    async def get(self, user_id: str) -> Identity | None: ...

    async def credentials(self, email: str) -> dict[str, Any] | None: ...


class ReplicaUserDirectory:
    def __init__(self, views: Any, replicas: Any, timeout_s: float = 2.0, chaos: frozenset[str] = frozenset()) -> None:
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
        record = self.views.user_by_id(user_id)
        if record is None and await self.replicas.sync(USERS_TABLE.name, self.timeout_s):
            record = self.views.user_by_id(user_id)
        return Identity.of(record) if record else None

    async def credentials(self, email: str) -> dict[str, Any] | None:
        """The account record with its password hash: for the token endpoint only."""
        await self._ready()
        record = self.views.users.get(email)
        if record is None and await self.replicas.sync(USERS_TABLE.name, self.timeout_s):
            record = self.views.users.get(email)
        return record
