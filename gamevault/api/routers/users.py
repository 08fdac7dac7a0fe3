"""GU routes: register, own profile, public profiles."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import APIRouter, Request, Response

from gamevault.api.commands import execute
from gamevault.api.deps import CurrentUser, Services
from gamevault.api.models import (
    PasswordChange,
    ProfileUpdate,
    UserCreate,
    UserPrivate,
    UserPublic,
    user_private,
    user_public,
)
from gamevault.api.problems import Problem
from gamevault.domain.identity import Identity, UsersUnavailable
from gamevault.domain.users import normalize_email
from gamevault.passwords import hash_password, verify_password
from gamevault.streams.contracts.commands import CHANGE_PASSWORD, REGISTER, UPDATE_PROFILE
from gamevault.streams.envelope import iso, utcnow
from gamevault.streams.registry import CommandType

router = APIRouter(prefix="/users", tags=["users"])


@router.post("", status_code=201, response_model=UserPrivate, summary="Register a buyer or seller account",
             responses={409: {"description": "an account with this email exists"}})
async def register(body: UserCreate, services: Services, response: Response) -> UserPrivate:
    email = normalize_email(body.email)
    if services.views.users.get(email) is not None:  # fast path; the agent decides races
        raise Problem(409, "an account with this email already exists", slug="conflict")
    data = {
        "user_id": str(uuid.uuid4()), "email": email, "display_name": body.display_name, "role": body.role,
        "password_hash": await hash_password(body.password), "registered_at": iso(utcnow()),
    }
    await execute(services, REGISTER, email, data)
    state = {**data, "version": 1}
    services.views.users.apply(email, state)  # read your own write on this worker
    response.headers["Location"] = f"/api/v1/users/{data['user_id']}"
    return user_private(state)


@router.get("/me", response_model=UserPrivate, summary="The caller's own profile")
async def me(user: CurrentUser, services: Services) -> UserPrivate:
    return user_private(services.views.users.get(user.email))


async def change(services: Services, user: Identity, type_: CommandType, data: dict[str, Any]) -> dict[str, Any]:
    """A change of the caller's own account, decided by GU; applied here at once (read your own write)."""
    reply = await execute(services, type_, user.email, {"email": user.email, **data})
    record = services.views.users.get(user.email) or {}
    state = {**record, **{k: v for k, v in data.items() if k in ("display_name", "password_hash")},
             "version": reply["version"], "token_version": reply["token_version"]}
    services.views.users.apply(user.email, state)
    return state


@router.patch("/me", response_model=UserPrivate, summary="Change the caller's display name")
async def update_me(body: ProfileUpdate, user: CurrentUser, services: Services) -> UserPrivate:
    state = await change(services, user, UPDATE_PROFILE, {"display_name": body.display_name,
                                                          "at": iso(utcnow())})
    return user_private(state)


@router.post("/me/password", status_code=204, summary="Change the caller's password: earlier tokens stop working",
             responses={401: {"description": "the current password is wrong"},
                        429: {"description": "too many wrong current passwords"}})
async def change_password(body: PasswordChange, user: CurrentUser, services: Services, request: Request) -> Response:
    failures = request.app.state.login_failures  # a stolen token must not buy unlimited password guesses
    key = f"account:{user.email}|{request.client.host if request.client else 'unknown'}"
    if not (state := failures.peek(key)).allowed:
        raise Problem(429, f"too many failed attempts; retry after {max(1, state.reset_s)}s", slug="rate-limited",
                      headers=state.headers())
    record = services.views.users.get(user.email)
    if not await verify_password(body.current_password, record["password_hash"] if record else None):
        failures.take(key)
        raise Problem(401, "the current password is not correct", slug="invalid-credentials")
    await change(services, user, CHANGE_PASSWORD, {"password_hash": await hash_password(body.new_password)})
    return Response(status_code=204)


@router.get("/{user_id}", response_model=UserPublic, summary="A user's public profile (no email)")
async def profile(user_id: str, services: Services) -> UserPublic:
    try:
        identity = await services.users.get(user_id)
    except UsersUnavailable as exc:
        raise Problem(503, str(exc), headers={"Retry-After": "2"}) from None
    if identity is None:
        raise Problem(404, f"no user {user_id}")
    return user_public(services.views.users.get(identity.email))


