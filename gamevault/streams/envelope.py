"""The CloudEvents 1.0 JSON envelope every GameVault record travels in."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime
from typing import Any, Literal

import orjson
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

SPECVERSION = "1.0"
_EXTENSION_NAME = re.compile(r"^[a-z0-9]{1,20}$")
_CORE = {"specversion", "id", "source", "type", "time", "subject", "datacontenttype", "dataschema", "data"}


def utcnow() -> datetime:
    return datetime.now(UTC)


def iso(ts: datetime) -> str:
    return ts.astimezone(UTC).isoformat().replace("+00:00", "Z")


class CloudEvent(BaseModel):
    """A CloudEvents 1.0 event in structured JSON mode; `data` is validated by its type's model."""

    model_config = ConfigDict(extra="allow", frozen=True)

    specversion: Literal["1.0"]
    id: str = Field(min_length=1, max_length=256)
    source: str = Field(min_length=1, max_length=1024)
    type: str = Field(min_length=1, max_length=256)
    time: datetime
    subject: str | None = Field(default=None, max_length=512)
    datacontenttype: Literal["application/json"] = "application/json"
    dataschema: str | None = None
    data: dict[str, Any]

    @field_validator("time")
    @classmethod
    def _aware(cls, value: datetime) -> datetime:
        if value.tzinfo is None:
            raise ValueError("time must carry a UTC offset (RFC 3339)")
        return value.astimezone(UTC)

    @model_validator(mode="after")
    def _extensions(self) -> CloudEvent:
        for name in self.model_extra or {}:
            if not _EXTENSION_NAME.match(name):
                raise ValueError(
                    f"extension attribute {name!r}: names are 1-20 lowercase letters or digits"
                )
        return self

    def to_json(self) -> bytes:
        doc = self.model_dump(mode="json", exclude_none=True)
        doc["time"] = iso(self.time)
        return orjson.dumps(doc)


def new_event(
    type_: str,
    source: str,
    data: dict[str, Any],
    *,
    subject: str | None = None,
    event_id: str | None = None,
    time: datetime | None = None,
    **extensions: str,
) -> CloudEvent:
    return CloudEvent(
        specversion=SPECVERSION,
        id=event_id or str(uuid.uuid4()),
        source=source,
        type=type_,
        time=time or utcnow(),
        subject=subject,
        data=data,
        **extensions,
    )


def deterministic_id(*parts: str) -> str:
    """An event id derived from what caused it, so a re-processed command re-emits the same id."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, "gamevault:" + "|".join(parts)))


def loads(raw: bytes | str) -> Any:
    return orjson.loads(raw)


def core_attributes() -> set[str]:
    return set(_CORE)
