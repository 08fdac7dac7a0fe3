"""GU agent: registrations, decided by the owner of the email's partition (so two racing
registrations of one email on two workers still produce exactly one account)."""

from __future__ import annotations

import logging
import uuid
from typing import Any

from gamevault.agents.bus import CommandTimeout, Unavailable
from gamevault.agents.command_batches import command_agent
from gamevault.agents.runtime import Context, apply
from gamevault.agents.services import AgentServices
from gamevault.domain import users
from gamevault.passwords import hash_password, verify_password
from gamevault.streams.contracts.commands import CHANGE_PASSWORD, REGISTER, REVOKE_TOKENS, UPDATE_PROFILE
from gamevault.streams.envelope import iso, new_event, utcnow
from gamevault.streams.topics import USERS_COMMANDS

log = logging.getLogger(__name__)
SOURCE = "/gamevault/users"


def install(services: AgentServices) -> None:
    tables = services.tables
    dispatcher = services.dispatcher("users", USERS_COMMANDS, SOURCE)

    @dispatcher.on(REGISTER)
    async def register(data: dict[str, Any], ctx: Context) -> None:
        email = users.normalize_email(data["email"])
        await apply(ctx, tables.users, email, users.register(tables.users.get(email), {**data, "email": email}))

    for type_, decide in ((REVOKE_TOKENS, users.revoke_tokens), (CHANGE_PASSWORD, users.change_password),
                          (UPDATE_PROFILE, users.update_profile)):
        async def handler(data: dict[str, Any], ctx: Context, decide: Any = decide) -> None:
            email = users.normalize_email(data["email"])
            await apply(ctx, tables.users, email, decide(tables.users.get(email), data))

        dispatcher.on(type_)(handler)

    command_agent(services.app, dispatcher)


def admin_user_id(email: str) -> str:
    return str(uuid.uuid5(uuid.NAMESPACE_URL, "gamevault:admin:" + users.normalize_email(email)))


async def ensure_admin(services: AgentServices) -> None:
    """Create (or re-key) the admin account of GAMEVAULT_ADMIN_EMAIL / _PASSWORD; idempotent on every worker."""
    settings = services.settings
    if not (settings.admin_email and settings.admin_password):
        return
    await services.replicas.ready.wait()
    email = users.normalize_email(settings.admin_email)
    record = services.views.users.get(email)
    squatted = record is not None and record["role"] != "admin"
    if squatted:  # registered first by someone else: it becomes the admin account (domain/users.register)
        log.warning("GAMEVAULT_ADMIN_EMAIL %s belonged to a %s account; taking it over as the admin", email,
                    record["role"])
    elif record is not None and await verify_password(settings.admin_password, record["password_hash"]):
        return
    command = new_event(REGISTER.type, SOURCE, {
        "user_id": admin_user_id(email), "email": email, "display_name": "Administrator", "role": "admin",
        "password_hash": await hash_password(settings.admin_password), "registered_at": iso(utcnow()),
        "rotate_password": record is not None, "bootstrap": True,
    }, subject=email)
    for attempt in range(30):
        try:
            reply = await services.bus.request(REGISTER.topic, email, command, timeout=10)
            if reply.ok:
                log.info("admin account %s ready", email)
            else:
                log.error("admin account %s: %s", email, reply.detail)
            return
        except (CommandTimeout, Unavailable) as exc:
            log.warning("admin bootstrap attempt %d: %s", attempt + 1, exc)
