"""GU's client interface: how orders, payments, reviews and the gateway learn who a user is.

The seed wants other modules to ask GU at the moment of need, and no module to keep its own copy of
profiles. `UserDirectory` is that one interface; its in-worker implementation (tables/directories.py)
asks GU's own state (the users table, replicated into every worker) with a timeout, and raises
`UsersUnavailable` when GU cannot answer in time.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol


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
