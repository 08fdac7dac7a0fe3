"""The one place outgoing HTTP clients are made: httpx's API over aiohttp's connection handling.

httpx's own transport (httpcore on anyio) costs ~1 ms of CPU per request on this machine, aiohttp's
~0.1 ms and httpx over an aiohttp transport ~0.25 ms (bench/http_client.py); the gateway adapters, the
carrier and the simulators' webhooks make several requests per order, so the transport is a lever on
the saga's CPU. The httpx API stays (timeouts, exceptions, MockTransport in tests).
"""

from __future__ import annotations

from typing import Any

import httpx
from httpx_aiohttp import HttpxAiohttpClient


def async_client(**kwargs: Any) -> httpx.AsyncClient:
    """An `httpx.AsyncClient` (same arguments) whose requests travel over aiohttp."""
    return HttpxAiohttpClient(**kwargs)
