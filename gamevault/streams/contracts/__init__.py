"""Every event contract; importing this package fills the registry."""

from gamevault.streams.contracts import catalog, commands, logistics, orders, payments, reviews, users
from gamevault.streams.contracts.common import Money

__all__ = ["Money", "catalog", "commands", "logistics", "orders", "payments", "reviews", "users"]
