"""The token endpoint (OAuth2 password flow), with its own defence against password guessing.

Failed attempts are counted per client IP and per (account, client IP) (token buckets of
GAMEVAULT_TOKEN_RATE_LIMIT_PER_MINUTE): once either is spent, that source gets 429 without the
password even being checked. A lock per account alone would be a weapon (ten bad passwords a minute
from anywhere would keep its owner out), so the account's failures from every source together only
slow its logins down (SLOWDOWN_S before each check) once they pass ten times the per-source budget:
guessing from many addresses stays slow, and the owner still gets in. Successful logins cost nothing
here, so a busy legitimate client is not locked out by its own traffic.
"""

from __future__ import annotations

import asyncio
from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request, Response

from gamevault.api.deps import CurrentUser, Services
from gamevault.api.models import Token
from gamevault.api.problems import Problem
from gamevault.api.ratelimit import Decision
from gamevault.api.routers.users import change
from gamevault.domain.identity import UsersUnavailable
from gamevault.domain.users import normalize_email
from gamevault.metrics import RATE_LIMITED
from gamevault.passwords import verify_password
from gamevault.streams.contracts.commands import REVOKE_TOKENS

router = APIRouter(prefix="/auth", tags=["users"])
SLOWDOWN_S = 1.0


def _throttled(decision: Decision) -> Problem:
    RATE_LIMITED.labels(decision.policy.name).inc()
    return Problem(429, f"too many failed logins; retry after {max(1, decision.reset_s)}s",
                   slug="rate-limited", headers=decision.headers())


class PasswordForm:
    """OAuth2's password grant form, with the constraints the route enforces written into the schema
    (FastAPI's own form documents plain strings and then refuses empty ones: schemathesis ST202)."""

    def __init__(
        self,
        username: Annotated[str, Form(min_length=1, max_length=320, description="the account's email")],
        password: Annotated[str, Form(min_length=1, max_length=1024, json_schema_extra={"format": "password"})],
        grant_type: Annotated[str | None, Form(pattern="^password$")] = None,
        scope: Annotated[str, Form(max_length=1000)] = "",
    ) -> None:
        self.username, self.password, self.grant_type, self.scope = username, password, grant_type, scope


@router.post("/token", response_model=Token, summary="Exchange email and password for a bearer token",
             responses={401: {"description": "bad credentials"}, 429: {"description": "too many failures"},
                        503: {"description": "too many password checks at once; retry"}})
async def token(
    form: Annotated[PasswordForm, Depends()], request: Request, response: Response,
    services: Services,
) -> Token:
    failures, account_failures = request.app.state.login_failures, request.app.state.account_failures
    email = normalize_email(form.username)
    client = request.client.host if request.client else "unknown"
    for key in ("ip:" + client, f"account:{email}|{client}"):
        if not (state := failures.peek(key)).allowed:
            raise _throttled(state)
    if not account_failures.peek(email).allowed:  # guessed at from many sources: slow down, never lock out
        await asyncio.sleep(SLOWDOWN_S)
    try:
        record = await services.users.credentials(email)
    except UsersUnavailable as exc:
        raise Problem(503, str(exc), headers={"Retry-After": "2"}) from None
    if not await verify_password(form.password, record["password_hash"] if record else None):
        failures.take("ip:" + client)
        failures.take(f"account:{email}|{client}")
        account_failures.take(email)
        raise Problem(401, "incorrect email or password", slug="invalid-credentials",
                      headers={"WWW-Authenticate": "Bearer"})
    access, ttl = services.tokens.issue(record["user_id"], record["role"], record.get("token_version", 0))
    response.headers["Cache-Control"] = "no-store"
    return Token(access_token=access, expires_in=ttl)


@router.post("/logout", status_code=204, summary="Revoke the caller's tokens: this one and every earlier one")
async def logout(user: CurrentUser, services: Services) -> Response:
    await change(services, user, REVOKE_TOKENS, {"seen_version": user.token_version})
    return Response(status_code=204)
