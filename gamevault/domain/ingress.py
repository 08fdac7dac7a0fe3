"""Which ingress records a sender may make, and what the platform fills in itself. Pure.

The sender is known from the topic a record came on (the broker vouches for it, see broker/acls.py),
never from the record. A seller integration changes only its own seller's products and stock (the
catalog agent then refuses products of another seller); a review channel submits reviews as itself:
the platform chooses the review id (from the channel's name and its own reference, so a redelivery is
idempotent and no channel can reach another's review) and attributes the review to the channel, never
to a GameVault buyer. The operator's path is trusted as before, but must name the ids it sets.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any, Literal

from gamevault.streams.contracts.commands import SET_STOCK, SUBMIT_REVIEW, UPSERT_PRODUCT

SELLER_TYPES = (UPSERT_PRODUCT.type, SET_STOCK.type)  # ingress types are forwarded as the same command
CHANNEL_AUTHOR_PREFIX = "partner:"


@dataclass(frozen=True)
class Sender:
    kind: Literal["operator", "seller", "reviews"]
    partner: str | None = None
    seller_id: str | None = None

    def as_data(self) -> dict[str, Any]:
        """What travels with the forwarded command (on an internal topic only the platform writes)."""
        return {"kind": self.kind, "partner": self.partner, "seller_id": self.seller_id}


FROM_OPERATOR = Sender("operator")


@dataclass(frozen=True)
class Refused:
    unauthorized: bool  # False: the record is malformed for this path (a schema matter)
    detail: str


def _ref_hash(*parts: str) -> str:
    return hashlib.sha256("\x00".join(parts).encode()).hexdigest()


def channel_review_id(partner: str, reference: str) -> str:
    return "rv-" + _ref_hash("review", partner, reference)[:24]


def channel_author(partner: str, reference: str) -> str:
    """Who a channel's review is attributed to: the channel (one author per review it delivers)."""
    return f"{CHANNEL_AUTHOR_PREFIX}{partner}:{_ref_hash('author', partner, reference)[:12]}"


def admit(sender: Sender, event_type: str, data: dict[str, Any], event_id: str) -> dict[str, Any] | Refused:
    """The command data to forward for a valid record, or why the sender may not make it."""
    if sender.kind == "operator":
        if event_type == SUBMIT_REVIEW.type and (not data.get("review_id") or not data.get("buyer_id")):
            return Refused(False, "on the operator's path a review names its review_id and buyer_id")
        return {**data, "sender": sender.as_data()}
    if sender.kind == "seller":
        if event_type not in SELLER_TYPES:
            return Refused(True, f"a seller integration may not send {event_type}")
        if data.get("seller_id") != sender.seller_id:
            return Refused(True, f"partner {sender.partner} may change only seller {sender.seller_id}'s products, "
                                 f"not seller {data.get('seller_id')}'s")
        return {**data, "sender": sender.as_data()}
    if event_type != SUBMIT_REVIEW.type:
        return Refused(True, f"a review channel may not send {event_type}")
    if data.get("review_id") is not None:
        return Refused(True, "review ids are chosen by the platform: send external_id, your own reference")
    if data.get("buyer_id") is not None:
        return Refused(True, "a review channel submits reviews as itself, not as a GameVault buyer")
    reference = data.get("external_id") or event_id
    assert sender.partner is not None
    return {**data, "review_id": channel_review_id(sender.partner, reference),
            "buyer_id": channel_author(sender.partner, reference), "channel": sender.partner,
            "external_id": reference, "sender": sender.as_data()}
