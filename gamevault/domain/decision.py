"""What deciding a command yields; agents turn it into table writes, events and a reply."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class Decision:
    state: dict[str, Any] | None = None  # the aggregate's new state (None: unchanged)
    events: list[tuple[str, dict[str, Any]]] = field(default_factory=list)  # (type, data)
    reply: dict[str, Any] | None = None
    error: tuple[str, str] | None = None  # (code, detail): conflict, forbidden, not_found, invalid...

    @classmethod
    def refuse(cls, code: str, detail: str) -> Decision:
        return cls(error=(code, detail))

    @property
    def ok(self) -> bool:
        return self.error is None
