"""Token buckets and the IETF RateLimit headers (draft-ietf-httpapi-ratelimit-headers).

Buckets live in the worker process: with N workers behind one port a client's effective budget is
up to N times the policy (documented in the README). The password-guessing defence also counts
failed logins per account, which no spread over workers can multiply by much (see `auth.py`).
"""

from __future__ import annotations

import math
import time
from collections import OrderedDict
from dataclasses import dataclass


@dataclass(frozen=True)
class Policy:
    name: str
    limit: int  # tokens per window
    window_s: int = 60

    @property
    def rate(self) -> float:
        return self.limit / self.window_s

    def header(self) -> str:
        return f'"{self.name}";q={self.limit};w={self.window_s}'


@dataclass(frozen=True)
class Decision:
    allowed: bool
    remaining: int
    reset_s: int  # seconds until the bucket is full again (or until the next token, when refused)
    policy: Policy

    def headers(self) -> dict[str, str]:
        h = {
            "RateLimit-Policy": self.policy.header(),
            "RateLimit": f'"{self.policy.name}";r={self.remaining};t={self.reset_s}',
        }
        if not self.allowed:
            h["Retry-After"] = str(max(1, self.reset_s))
        return h


class TokenBuckets:
    """One bucket per key (user id or client IP), refilled continuously; LRU-bounded in memory."""

    def __init__(self, policy: Policy, max_keys: int = 100_000, clock=time.monotonic) -> None:
        self.policy = policy
        self.max_keys = max_keys
        self.clock = clock
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()

    def _level(self, key: str, now: float) -> float:
        tokens, at = self._buckets.get(key, (float(self.policy.limit), now))
        return min(float(self.policy.limit), tokens + (now - at) * self.policy.rate)

    def take(self, key: str, cost: float = 1.0) -> Decision:
        now = self.clock()
        tokens = self._level(key, now)
        allowed = tokens >= cost
        if allowed:
            tokens -= cost
        self._buckets[key] = (tokens, now)
        self._buckets.move_to_end(key)
        if len(self._buckets) > self.max_keys:
            self._buckets.popitem(last=False)
        rate = self.policy.rate
        reset = math.ceil((cost - tokens) / rate) if not allowed else math.ceil((self.policy.limit - tokens) / rate)
        return Decision(allowed, int(tokens), max(0, reset), self.policy)

    def peek(self, key: str) -> Decision:
        tokens = self._level(key, self.clock())
        reset = math.ceil((1 - tokens) / self.policy.rate) if tokens < 1 else 0
        return Decision(tokens >= 1, int(tokens), max(0, reset), self.policy)
