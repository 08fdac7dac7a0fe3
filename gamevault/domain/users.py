"""GU decisions."""

from __future__ import annotations

from typing import Any

from gamevault.domain.decision import Decision

REGISTERED = "gamevault.users.user.registered"


def normalize_email(email: str) -> str:
    return email.strip().lower()


def public_event(state: dict[str, Any]) -> dict[str, Any]:
    return {k: state[k] for k in ("user_id", "email", "display_name", "role", "registered_at")}


def register(existing: dict[str, Any] | None, cmd: dict[str, Any]) -> Decision:
    """One account per email: the first registration wins, a replay of it succeeds again."""
    if existing is not None:
        if existing["user_id"] == cmd["user_id"]:
            if cmd.get("password_hash") and cmd.get("rotate_password") and \
                    existing["password_hash"] != cmd["password_hash"]:
                state = {**existing, "password_hash": cmd["password_hash"], "version": existing["version"] + 1}
                return Decision(state=state, reply=public_event(state))
            return Decision(events=[(REGISTERED, public_event(existing))], reply=public_event(existing))
        return Decision.refuse("conflict", "an account with this email already exists")
    state = {
        "user_id": cmd["user_id"],
        "email": cmd["email"],
        "display_name": cmd["display_name"],
        "role": cmd["role"],
        "password_hash": cmd["password_hash"],
        "registered_at": cmd["registered_at"],
        "version": 1,
    }
    return Decision(state=state, events=[(REGISTERED, public_event(state))], reply=public_event(state))
