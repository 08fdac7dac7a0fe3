"""What deciding a command yields, for every module: the agents' runtime (`agents/runtime.apply`)
turns it into a table write, events, commands, outside calls and the answer, in that order."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from gamevault.streams.registry import CommandType


@dataclass(frozen=True)
class Command:
    """A command for a module (another's, or the saga's own), sent after the state is stored."""

    type: CommandType
    key: str
    data: dict[str, Any]


@dataclass
class Decision:
    state: dict[str, Any] | None = None  # the aggregate's new state (None: unchanged)
    events: list[tuple[str, dict[str, Any]]] = field(default_factory=list)  # (type, data)
    commands: list[Command] = field(default_factory=list)
    calls: list[tuple[str, dict[str, Any]]] = field(default_factory=list)  # outside calls: (what, aggregate)
    reply: dict[str, Any] | None = None  # what the REST caller gets (None: an empty object)
    error: tuple[str, str] | None = None  # (code, detail): conflict, forbidden, not_found, invalid...

    @classmethod
    def refuse(cls, code: str, detail: str) -> Decision:
        return cls(error=(code, detail))

    @property
    def ok(self) -> bool:
        return self.error is None


def saga_reply(type_: CommandType, aggregate: dict[str, Any], data: dict[str, Any]) -> Command:
    """A participant's answer to the order saga about its aggregate (keyed by, and naming, the order)."""
    return Command(type_, aggregate["order_id"], {"order_id": aggregate["order_id"], **data})


def remembered(state: dict[str, Any], events: list[tuple[str, dict[str, Any]]], cause: str) -> Decision:
    """A decision whose state keeps its cause and the events it emitted. The runtime stores the state
    before it sends them (agents/runtime.apply): a command replayed after a crash in between finds its
    cause there and re-emits them (`replay`), which a state that only says "done" cannot do."""
    state = {**state, "last_cause": cause, "last_events": events}
    return Decision(state=state, events=events, reply=state)


def replay(state: dict[str, Any]) -> Decision:
    """What the command that produced `state` emitted (see `remembered`), again."""
    return Decision(events=[(kind, data) for kind, data in state.get("last_events") or []], reply=state)
