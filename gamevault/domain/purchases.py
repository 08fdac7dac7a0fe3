"""CCP's answer to "did this buyer receive this product?", asked by CR at the moment of need."""

from __future__ import annotations

from typing import Protocol


class Purchases(Protocol):
    async def completed(self, buyer_id: str, product_id: str) -> bool:
        """Whether the buyer has a completed order holding the product (its implementation:
        tables/directories.py)."""
        ...
