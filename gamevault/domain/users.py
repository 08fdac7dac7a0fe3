"""GU decisions."""

from __future__ import annotations

from typing import Any

from gamevault.domain.decision import Decision
from gamevault.streams.contracts.users import ProfileChanged, UserRegistered

REGISTERED = UserRegistered.event_type
PROFILE_CHANGED = ProfileChanged.event_type


def normalize_email(email: str) -> str:
    return email.strip().lower()


def public_event(state: dict[str, Any]) -> dict[str, Any]:
    return {k: state[k] for k in ("user_id", "email", "display_name", "role", "registered_at")}


def register(existing: dict[str, Any] | None, cmd: dict[str, Any]) -> Decision:
    """One account per email: the first registration wins, a replay of it succeeds again. The admin
    bootstrap (`cmd["bootstrap"]`, sent by the platform only) is the exception: an account someone
    registered first under GAMEVAULT_ADMIN_EMAIL becomes the admin account, with the operator's password
    and every earlier token revoked, so the email cannot be squatted to keep the admin out."""
    if existing is not None and cmd.get("bootstrap") and existing["role"] != "admin":
        state = {**existing, "role": "admin", "password_hash": cmd["password_hash"],
                 "token_version": existing.get("token_version", 0) + 1, "version": existing["version"] + 1}
        return Decision(state=state, reply=public_event(state))
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


def _change(existing: dict[str, Any] | None, revoke: bool, **fields: Any) -> Decision:
    if existing is None:
        return Decision.refuse("not_found", "no such account")
    state = {**existing, **fields, "version": existing["version"] + 1}
    if revoke:
        state["token_version"] = existing.get("token_version", 0) + 1
    return Decision(state=state, reply=_versions(state))


def _versions(state: dict[str, Any]) -> dict[str, Any]:
    """The reply to the gateway: what it applies to its replica at once (read your own write)."""
    return {**public_event(state), "version": state["version"], "token_version": state.get("token_version", 0)}


def revoke_tokens(existing: dict[str, Any] | None, cmd: dict[str, Any]) -> Decision:
    """Logout: every token issued so far stops working (the next login gets a fresh one)."""
    if existing is not None and existing.get("token_version", 0) > cmd["seen_version"]:
        return Decision(reply=_versions(existing))  # already revoked since (a replay, or a second logout)
    return _change(existing, revoke=True)


def change_password(existing: dict[str, Any] | None, cmd: dict[str, Any]) -> Decision:
    """A new password hash (checked against the current password by the gateway); earlier tokens stop working."""
    if existing is not None and existing["password_hash"] == cmd["password_hash"]:
        return Decision(reply=_versions(existing))  # a replay
    return _change(existing, revoke=True, password_hash=cmd["password_hash"])


def update_profile(existing: dict[str, Any] | None, cmd: dict[str, Any]) -> Decision:
    if existing is not None and existing["display_name"] == cmd["display_name"]:
        return Decision(reply=_versions(existing))
    decision = _change(existing, revoke=False, display_name=cmd["display_name"])
    if decision.state is not None:
        decision.events.append((PROFILE_CHANGED, {"user_id": decision.state["user_id"],
                                                  "display_name": cmd["display_name"], "at": cmd["at"]}))
    return decision
