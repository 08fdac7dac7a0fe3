"""GU events."""

from __future__ import annotations

from datetime import datetime

from gamevault.streams.contracts.common import Contract, Email, Id, Role
from gamevault.streams.registry import event
from gamevault.streams.topics import USERS_EVENTS


@event("gamevault.users.user.registered", topic=USERS_EVENTS, key="user_id",
       summary="An account was created (never carries the password hash)")
class UserRegistered(Contract):
    user_id: Id
    email: Email
    display_name: str
    role: Role
    registered_at: datetime


@event("gamevault.users.user.profile_changed", topic=USERS_EVENTS, key="user_id",
       summary="An account's public profile changed (its display name)")
class ProfileChanged(Contract):
    user_id: Id
    display_name: str
    at: datetime
