"""GU routes: register, own profile, public profiles."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Response

from gamevault.agents.users import REGISTER
from gamevault.api.commands import execute
from gamevault.api.deps import CurrentUser, Services
from gamevault.api.models import UserCreate, UserPrivate, UserPublic, user_private, user_public
from gamevault.api.problems import Problem
from gamevault.domain.identity import UsersUnavailable
from gamevault.domain.users import normalize_email
from gamevault.passwords import hash_password
from gamevault.streams.envelope import iso, utcnow
from gamevault.streams.topics import USERS_COMMANDS

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
    await execute(services, USERS_COMMANDS, email, REGISTER, data)
    state = {**data, "version": 1}
    services.views.users.apply(email, state)  # read your own write on this worker
    response.headers["Location"] = f"/api/v1/users/{data['user_id']}"
    return user_private(state)


@router.get("/me", response_model=UserPrivate, summary="The caller's own profile")
async def me(user: CurrentUser, services: Services) -> UserPrivate:
    return user_private(services.views.users.get(user.email))


@router.get("/{user_id}", response_model=UserPublic, summary="A user's public profile (no email)")
async def profile(user_id: str, services: Services) -> UserPublic:
    try:
        identity = await services.users.get(user_id)
    except UsersUnavailable as exc:
        raise Problem(503, str(exc), headers={"Retry-After": "2"}) from None
    if identity is None:
        raise Problem(404, f"no user {user_id}")
    return user_public(services.views.users.get(identity.email))


