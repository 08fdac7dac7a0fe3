"""Validating a raw record against the contracts; the reason when it fails.

Used by the ingress agents (invalid -> dead letter), by `gamevault produce` (report per line before
sending) and by the warehouse sink. Pure: bytes in, a `Valid` or an `Invalid` out.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

import orjson
from pydantic import BaseModel, ValidationError

from gamevault.streams.contracts import load_all
from gamevault.streams.envelope import CloudEvent
from gamevault.streams.registry import EventType
from gamevault.streams.topics import TopicSpec


class Reason(StrEnum):
    NOT_JSON = "not_json"
    NOT_CLOUDEVENT = "not_cloudevent"
    UNKNOWN_TYPE = "unknown_type"
    WRONG_TOPIC = "wrong_topic"
    SCHEMA_VIOLATION = "schema_violation"
    KEY_MISMATCH = "key_mismatch"
    REJECTED = "rejected"  # valid shape, refused by a business rule (unknown seller, no purchase, ...)
    UNAUTHORIZED = "unauthorized"  # its sender may not make it (another seller's product, another's review)
    UNDECODABLE = "undecodable"  # the warehouse could not turn it into a row


@dataclass(frozen=True)
class Valid:
    event: CloudEvent
    data: BaseModel
    event_type: EventType

    @property
    def key(self) -> str:
        return self.event_type.key_of(self.event.data)


@dataclass(frozen=True)
class Invalid:
    reason: Reason
    detail: str


def _errors(exc: ValidationError, prefix: str = "") -> str:
    parts = []
    for err in exc.errors()[:5]:
        loc = ".".join(str(p) for p in (prefix, *err["loc"]) if p != "")
        parts.append(f"{loc or '(root)'}: {err['msg']}")
    more = len(exc.errors()) - 5
    return "; ".join(parts) + (f"; and {more} more" if more > 0 else "")


def validate(raw: bytes | None, topic: TopicSpec, key: bytes | None = None) -> Valid | Invalid:
    """Check a record from `topic`: JSON, a CloudEvent, a known type for this topic, valid data."""
    if raw is None:
        return Invalid(Reason.NOT_JSON, "empty record (no value)")
    try:
        doc = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        return Invalid(Reason.NOT_JSON, f"not valid UTF-8 JSON: {exc}")
    if not isinstance(doc, dict):
        return Invalid(Reason.NOT_CLOUDEVENT, f"a CloudEvent is a JSON object, got {type(doc).__name__}")
    try:
        envelope = CloudEvent.model_validate(doc)
    except ValidationError as exc:
        return Invalid(Reason.NOT_CLOUDEVENT, _errors(exc))
    registry = load_all()
    event_type = registry.get(envelope.type)
    if event_type is None:
        accepted = sorted(t for t, e in registry.items() if e.topic.name == topic.name)
        return Invalid(Reason.UNKNOWN_TYPE, f"unknown type {envelope.type!r}; {topic.name} accepts {accepted}")
    if event_type.topic.name != topic.name:
        return Invalid(
            Reason.WRONG_TOPIC, f"type {envelope.type!r} belongs on {event_type.topic.name}, not {topic.name}"
        )
    try:
        data = event_type.model.model_validate(envelope.data)
    except ValidationError as exc:
        return Invalid(Reason.SCHEMA_VIOLATION, _errors(exc, "data"))
    valid = Valid(envelope, data, event_type)
    if key is not None and key.decode("utf-8", "replace") != valid.key:
        return Invalid(
            Reason.KEY_MISMATCH,
            f"record key {key.decode('utf-8', 'replace')!r} is not the aggregate id "
            f"data.{event_type.key_field}={valid.key!r}",
        )
    return valid


# ---- dead-letter headers --------------------------------------------------------------------
def deadletter_headers(
    reason: Reason, detail: str, source_topic: str, partition: int, offset: int, stage: str,
    original: list[tuple[str, bytes]] | None = None,
) -> list[tuple[str, bytes]]:
    """The original record's headers plus `dlq.*` ones that say why and where it came from."""
    from gamevault.streams.envelope import iso, utcnow

    extra = [
        ("dlq.reason", reason.value.encode()),
        ("dlq.detail", detail[:2000].encode()),
        ("dlq.source.topic", source_topic.encode()),
        ("dlq.source.partition", str(partition).encode()),
        ("dlq.source.offset", str(offset).encode()),
        ("dlq.stage", stage.encode()),
        ("dlq.at", iso(utcnow()).encode()),
    ]
    kept = [(k, v) for k, v in (original or []) if not k.startswith("dlq.")]
    return kept + extra
