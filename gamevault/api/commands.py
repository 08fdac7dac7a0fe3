"""Sending a command from a route to the agent that owns it, and mapping its answer to HTTP."""

from __future__ import annotations

from typing import Any

from gamevault import tracing
from gamevault.agents.bus import CommandTimeout, Unavailable
from gamevault.api.problems import Problem
from gamevault.api.services import ApiServices
from gamevault.streams.envelope import new_event
from gamevault.streams.registry import CommandType

STATUS = {"conflict": 409, "forbidden": 403, "unauthorized": 403, "not_found": 404, "invalid": 422,
          "unavailable": 503, "internal": 500}


async def execute(
    services: ApiServices, type_: CommandType, key: str, data: dict[str, Any], *,
    command_id: str | None = None, timeout: float = 15.0,
) -> dict[str, Any]:
    """Request/reply through Kafka (on the command's own topic, keyed by `key`); the reply's data on
    success, a problem otherwise."""
    command = new_event(type_.type, "/gamevault/api", data, subject=key, event_id=command_id)
    headers = [("traceparent", (tracing.current_traceparent.get() or tracing.child_of(None)).encode())]
    try:
        reply = await services.bus.request(type_.topic, key, command, timeout=timeout, headers=headers)
    except Unavailable:
        raise Problem(503, "the event backbone (Kafka) is unavailable; retry shortly",
                      slug="backbone-unavailable", headers={"Retry-After": "5"}) from None
    except CommandTimeout:
        raise Problem(503, "the request was accepted but not confirmed in time; retrying it is safe",
                      slug="not-confirmed", headers={"Retry-After": "2"}) from None
    if not reply.ok:
        raise Problem(STATUS.get(reply.code, 400), reply.detail, slug=reply.code.replace("_", "-"))
    return reply.data
