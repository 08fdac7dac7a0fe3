"""The gateway's one middleware, in front of every route (pure ASGI: no per-request task overhead).

In order: request id, W3C traceparent (into a context variable the Kafka producers read), body
size limit, rate limiting (token bucket per authenticated user, else per client IP), response
headers, and the Prometheus metrics of the request. Then the hottest public read, a product by id,
is answered from the pre-serialized document cache without routing or dependency injection (more
than half of a request's cost; the route stays, for a cache miss and for the OpenAPI document).
"""

from __future__ import annotations

import random
import re
import time
from collections.abc import Callable
from typing import Any

import orjson

from gamevault import priority, tracing
from gamevault.api.problems import MEDIA_TYPE, PROBLEM_BASE
from gamevault.api.ratelimit import Decision, TokenBuckets
from gamevault.api.security import InvalidToken, TokenService
from gamevault.metrics import HTTP_LATENCY, HTTP_REQUESTS, RATE_LIMITED

_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")
_UNLIMITED_PREFIXES = ("/healthz", "/readyz", "/metrics")
# the gateways' callbacks: a budget of their own per source (bursts of genuine notifications must pass;
# a flood of forged ones, each of which may cost a certificate check, must not)
_WEBHOOK_PREFIXES = ("/api/v1/payments/webhooks/", "/api/v1/logistics/webhooks/")


def _template(scope: dict) -> str:
    """The route template of a request (`/api/v1/products/{product_id}`), bounded for metric labels."""
    if scope.get("route") is None:
        return "unmatched"
    params = {str(v): k for k, v in (scope.get("path_params") or {}).items()}
    if not params:
        return scope["path"]
    return "/".join("{" + params[seg] + "}" if seg in params else seg for seg in scope["path"].split("/"))


class BodyTooLarge(Exception):
    pass


def _problem(status: int, slug: str, title: str, detail: str, headers: dict[str, str]) -> tuple[dict, bytes]:
    body = orjson.dumps({"type": PROBLEM_BASE + slug, "title": title, "status": status, "detail": detail})
    start = {
        "type": "http.response.start",
        "status": status,
        "headers": [(b"content-type", MEDIA_TYPE.encode()), (b"content-length", str(len(body)).encode())]
        + [(k.lower().encode(), v.encode()) for k, v in headers.items()],
    }
    return start, body


class GatewayMiddleware:
    def __init__(
        self, app: Any, *, tokens: TokenService, user_buckets: TokenBuckets, ip_buckets: TokenBuckets,
        max_body_bytes: int = 1_048_576, webhook_buckets: TokenBuckets | None = None,
        cached_reads: dict[str, tuple[str, Callable[[str], bytes | None]]] | None = None,
    ) -> None:
        self.app = app
        self.tokens = tokens
        self.user_buckets = user_buckets
        self.ip_buckets = ip_buckets
        self.webhook_buckets = webhook_buckets
        self.max_body = max_body_bytes
        # path prefix -> (route template, id -> cached JSON or None); `{prefix}{id}` GETs only
        self.cached_reads = cached_reads or {}

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        priority.request_started()
        try:
            await self._handle(scope, receive, send, started)
        finally:
            priority.request_finished()

    async def _handle(self, scope: dict, receive: Any, send: Any, started: float) -> None:
        path: str = scope["path"]
        headers = scope["headers"]
        request_id = auth = traceparent = content_length = None
        for name, value in headers:
            if name == b"x-request-id":
                request_id = value.decode("latin-1")
            elif name == b"authorization":
                auth = value.decode("latin-1")
            elif name == b"traceparent":
                traceparent = value.decode("latin-1")
            elif name == b"content-length":
                content_length = value
        if not request_id or not _REQUEST_ID.match(request_id):
            request_id = f"{random.getrandbits(128):032x}"  # unique, not secret: no urandom syscall
        trace = tracing.child_of(traceparent)
        token = tracing.current_traceparent.set(trace)
        state = scope.setdefault("state", {})
        state["request_id"] = request_id
        extra = [(b"x-request-id", request_id.encode()), (b"traceparent", trace.encode())]
        status_holder = [500]
        template = None

        async def send_wrapper(message: dict) -> None:
            if message["type"] == "http.response.start":
                status_holder[0] = message["status"]
                message["headers"] = list(message.get("headers", [])) + extra
            await send(message)

        try:
            if content_length is not None:
                try:
                    too_large = int(content_length) > self.max_body
                except ValueError:
                    too_large = True
                if too_large:
                    await self._refuse(send_wrapper, 413, "content-too-large", "Content too large",
                                       f"request bodies are limited to {self.max_body} bytes", {})
                    return
            decision = self._rate_limit(scope, path, auth, state)
            if decision is not None:
                extra.extend((k.lower().encode(), v.encode()) for k, v in decision.headers().items()
                             if k != "Retry-After")
                if not decision.allowed:
                    RATE_LIMITED.labels(decision.policy.name).inc()
                    await self._refuse(send_wrapper, 429, "rate-limited", "Too many requests",
                                       f"rate limit {decision.policy.limit} requests per "
                                       f"{decision.policy.window_s}s exceeded; retry after "
                                       f"{max(1, decision.reset_s)}s",
                                       {"Retry-After": str(max(1, decision.reset_s))})
                    return
            if scope["method"] == "GET" and self.cached_reads:
                hit = self._cached_read(path)
                if hit is not None:
                    template, body = hit
                    await send_wrapper({"type": "http.response.start", "status": 200, "headers": [
                        (b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]})
                    await send_wrapper({"type": "http.response.body", "body": body})
                    return
            received = 0

            async def receive_wrapper() -> dict:
                nonlocal received
                message = await receive()
                if message["type"] == "http.request":
                    received += len(message.get("body", b""))
                    if received > self.max_body:
                        raise BodyTooLarge()
                return message

            try:
                await self.app(scope, receive_wrapper, send_wrapper)
            except BodyTooLarge:
                await self._refuse(send_wrapper, 413, "content-too-large", "Content too large",
                                   f"request bodies are limited to {self.max_body} bytes", {})
        finally:
            tracing.current_traceparent.reset(token)
            template = template or _template(scope)
            HTTP_REQUESTS.labels(scope["method"], template, str(status_holder[0])).inc()
            HTTP_LATENCY.labels(scope["method"], template).observe(time.perf_counter() - started)

    def _cached_read(self, path: str) -> tuple[str, bytes] | None:
        for prefix, (template, lookup) in self.cached_reads.items():
            if path.startswith(prefix):
                key = path[len(prefix):]
                if key and "/" not in key:
                    body = lookup(key)
                    return (template, body) if body is not None else None
        return None

    def _rate_limit(self, scope: dict, path: str, auth: str | None, state: dict) -> Decision | None:
        if path.startswith(_UNLIMITED_PREFIXES):
            return None
        if path.startswith(_WEBHOOK_PREFIXES) and self.webhook_buckets is not None:
            client = scope.get("client")
            return self.webhook_buckets.take("ip:" + (client[0] if client else "unknown"))
        if auth and auth[:7].lower() == "bearer ":
            try:
                claims = self.tokens.verify(auth[7:].strip())
            except InvalidToken as exc:
                state["token_error"] = str(exc)
            else:
                state["claims"] = claims
                return self.user_buckets.take("u:" + claims.sub)
        client = scope.get("client")
        return self.ip_buckets.take("ip:" + (client[0] if client else "unknown"))

    @staticmethod
    async def _refuse(send: Any, status: int, slug: str, title: str, detail: str, headers: dict[str, str]) -> None:
        start, body = _problem(status, slug, title, detail, headers)
        await send(start)
        await send({"type": "http.response.body", "body": body})
