"""Every message contract; importing this package fills the registry (streams/registry.py)."""

from gamevault.streams.contracts import catalog, commands, logistics, orders, payments, reviews, users
from gamevault.streams.contracts.common import Money
from gamevault.streams.registry import REGISTRY, EventType


def load_all() -> dict[str, EventType]:
    """The event registry, complete (importing this package imported every contract module)."""
    return REGISTRY


__all__ = ["Money", "catalog", "commands", "load_all", "logistics", "orders", "payments", "reviews", "users"]
