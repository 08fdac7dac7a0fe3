"""The gateway interface SP codes against, and what every adapter shares."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

import httpx


@dataclass(frozen=True)
class StartResult:
    reference: str  # the gateway's id for the payment


@dataclass(frozen=True)
class Notification:
    """A verified webhook, reduced to what SP needs."""

    event_id: str
    order_id: str
    outcome: str  # approved | captured | failed | pending
    reference: str | None
    reason: str | None = None
    amount: str | None = None  # decimal string, as Money carries it; compared with the stored payment
    currency: str | None = None
    transmission_id: str | None = None  # PayPal: one signed transmission is used once


class PaymentGateway(Protocol):
    provider: str

    async def start(self, payment: dict[str, Any]) -> StartResult: ...

    async def capture(self, payment: dict[str, Any]) -> str:
        """-> captured | failed. Only PayPal captures after approval; wallets capture on confirmation."""
        ...

    async def refund(self, payment: dict[str, Any]) -> None: ...

    async def void(self, payment: dict[str, Any]) -> None: ...

    async def status(self, payment: dict[str, Any]) -> str:
        """-> captured | failed | pending | unknown (reconciliation)."""
        ...

    async def verify(self, headers: dict[str, str], body: bytes) -> Notification:
        """Check a webhook's signature and freshness; raise InvalidSignature / StaleNotification."""
        ...


class Gateways:
    """The adapters by provider name, sharing one HTTP client."""

    def __init__(self, adapters: dict[str, PaymentGateway], client: httpx.AsyncClient) -> None:
        self.adapters = adapters
        self.client = client

    def __getitem__(self, provider: str) -> PaymentGateway:
        return self.adapters[provider]

    def __contains__(self, provider: str) -> bool:
        return provider in self.adapters

    async def aclose(self) -> None:
        await self.client.aclose()
