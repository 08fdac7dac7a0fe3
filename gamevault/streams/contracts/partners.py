"""The partners registry: who may write which ingress topic, and in whose name.

A record per partner on `gamevault.internal.partners.changelog` (compacted, keyed by name; a tombstone
when removed), written by `gamevault partners` and the seller integrations API, read by every worker's
ingress. Its credentials are not here: the broker keeps them (SCRAM), the partner was shown them once.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import Field, StringConstraints

from gamevault.streams.contracts.common import Contract, Id

PartnerName = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9-]{1,30}[a-z0-9]$")]
PartnerKind = Literal["seller", "reviews"]
MODULE_OF: dict[str, str] = {"seller": "catalog", "reviews": "reviews"}  # kind -> the module it writes to


class PartnerRecord(Contract):
    name: PartnerName
    kind: PartnerKind
    seller_id: Id | None = Field(None, description="sellers: the GameVault seller whose products it may change")
    principal: str = Field(description="its Kafka principal (a SCRAM user)")
    topic: str = Field(description="the one topic it may write")
    created_at: datetime
    created_by: str
    version: int = Field(1, ge=1)
