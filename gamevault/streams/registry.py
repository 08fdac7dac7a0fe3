"""Which messages exist: event types (their topic and key field) and internal command types (their topic).

Event models register themselves with `@event(...)`; the registry is what ingress validation,
`gamevault produce`, the JSON Schema export and the AsyncAPI document read. Internal commands and
saga replies are declared once with `command(...)` (streams/contracts/commands.py): routes, agents and
the domain import the returned `CommandType`, so a misspelt name fails at import, not as a dead letter.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from pydantic import BaseModel

from gamevault.streams.topics import TopicSpec

M = TypeVar("M", bound=type[BaseModel])


@dataclass(frozen=True)
class EventType:
    type: str
    topic: TopicSpec
    model: type[BaseModel]
    key_field: str
    summary: str

    def key_of(self, data: dict) -> str:
        return str(data[self.key_field])


REGISTRY: dict[str, EventType] = {}


def event(type_: str, *, topic: TopicSpec, key: str, summary: str) -> Callable[[M], M]:
    """Register a pydantic model as the `data` of CloudEvents of `type_` on `topic`."""

    def register(model: M) -> M:
        if type_ in REGISTRY:
            raise ValueError(f"event type {type_} registered twice")
        if key not in model.model_fields:
            raise ValueError(f"{model.__name__} has no key field {key!r}")
        REGISTRY[type_] = EventType(type_, topic, model, key, summary)
        model.event_type = type_  # type: ignore[attr-defined]
        return model

    return register


def types_on(topic: TopicSpec) -> list[EventType]:
    return [e for e in REGISTRY.values() if e.topic.name == topic.name]


def lookup(type_: str) -> EventType | None:
    return REGISTRY.get(type_)


@dataclass(frozen=True)
class CommandType:
    """An internal command (or saga reply): its CloudEvent type and the one topic that carries it."""

    type: str
    topic: TopicSpec
    summary: str

    def __str__(self) -> str:
        return self.type


COMMANDS: dict[str, CommandType] = {}


def command(type_: str, *, topic: TopicSpec, summary: str) -> CommandType:
    """Declare an internal command type; each name is declared once."""
    if type_ in COMMANDS:
        raise ValueError(f"command type {type_} declared twice")
    COMMANDS[type_] = declared = CommandType(type_, topic, summary)
    return declared


def commands_on(topic: TopicSpec) -> list[CommandType]:
    return [c for c in COMMANDS.values() if c.topic.name == topic.name]
