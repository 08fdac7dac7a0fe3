"""Passwords: Argon2id hashing, bounded so a flood cannot take the machine (every layer may import it)."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

from pwdlib import PasswordHash
from pwdlib.hashers.argon2 import Argon2Hasher

# RFC 9106 second recommended option (64 MiB, t=3, p=4), the argon2-cffi default
_hasher = PasswordHash((Argon2Hasher(),))
# a real hash of a random password, verified when the account does not exist (equal timing)
_DUMMY_HASH = _hasher.hash(uuid.uuid4().hex)


class Busy(Exception):
    """Too many password hashes are running or waiting: answer 503 instead of queueing without bound."""


class Argon2Gate:
    """At most `running` Argon2 computations at once (each holds 64 MiB and a core for ~50 ms) and at most
    `waiting` callers queued behind them: a flood of logins or registrations can neither take the
    worker's memory nor pile up on its loop; the excess is refused at once (Busy -> 503 Retry-After)."""

    def __init__(self, running: int = 2, waiting: int = 32) -> None:
        self.running, self.waiting = running, waiting
        self._semaphore: asyncio.Semaphore | None = None
        self._queued = 0

    async def run(self, fn: Any, *args: Any) -> Any:
        if self._semaphore is None:
            self._semaphore = asyncio.Semaphore(self.running)
        if self._queued >= self.running + self.waiting:
            raise Busy("too many password checks in progress; retry in a moment")
        self._queued += 1
        try:
            async with self._semaphore:
                return await asyncio.get_running_loop().run_in_executor(None, fn, *args)
        finally:
            self._queued -= 1


ARGON2 = Argon2Gate()


async def hash_password(password: str) -> str:
    """Argon2id in a thread, through the gate: it takes tens of milliseconds and must not stall the loop."""
    return await ARGON2.run(_hasher.hash, password)


async def verify_password(password: str, password_hash: str | None) -> bool:
    def _verify() -> bool:
        try:
            return _hasher.verify(password, password_hash or _DUMMY_HASH) and password_hash is not None
        except Exception:
            return False

    return await ARGON2.run(_verify)
