"""Who may do what on the cluster: the platform's ACLs, a partner's, and SCRAM users.

Least privilege per principal (the broker denies whatever no ACL allows):
- the platform (`gamevault`) owns everything named `gamevault*`: it reads, writes, creates and describes
  those topics, joins those consumer groups and transactional ids; nothing else (no deletes, no ACLs);
- a partner may write and describe its own topic, and nothing more: it reads no topic, joins no group,
  creates nothing;
- the operator and the brokers are super users (security.py), so they need no ACL here.
These calls need a principal allowed to alter the cluster: the operator.
"""

from __future__ import annotations

import time

from kafka import KafkaAdminClient
from kafka.admin import (
    ACL,
    ACLFilter,
    ACLOperation,
    ACLPermissionType,
    ACLResourcePatternType,
    ResourcePattern,
    ResourcePatternFilter,
    ResourceType,
    UserScramCredentialDeletion,
    UserScramCredentialUpsertion,
)

from gamevault.broker.admin import admin_client
from gamevault.kafka_access import PLATFORM, SCRAM_MECHANISM, KafkaAccess

OWNED_PREFIX = "gamevault"  # topics, groups and transactional ids the platform owns


def _allow(principal: str, kind: ResourceType, name: str, pattern: ACLResourcePatternType,
           *operations: ACLOperation) -> list[ACL]:
    resource = ResourcePattern(kind, name, pattern)
    return [ACL(f"User:{principal}", "*", op, ACLPermissionType.ALLOW, resource) for op in operations]


def platform_acls(principal: str = PLATFORM, prefix: str = OWNED_PREFIX) -> list[ACL]:
    prefixed = ACLResourcePatternType.PREFIXED
    return [
        *_allow(principal, ResourceType.TOPIC, prefix, prefixed, ACLOperation.READ, ACLOperation.WRITE,
                ACLOperation.CREATE, ACLOperation.DESCRIBE, ACLOperation.DESCRIBE_CONFIGS),
        *_allow(principal, ResourceType.GROUP, prefix, prefixed, ACLOperation.READ, ACLOperation.DESCRIBE),
        *_allow(principal, ResourceType.TRANSACTIONAL_ID, prefix, prefixed, ACLOperation.WRITE,
                ACLOperation.DESCRIBE),
        *_allow(principal, ResourceType.CLUSTER, "kafka-cluster", ACLResourcePatternType.LITERAL,
                ACLOperation.IDEMPOTENT_WRITE, ACLOperation.DESCRIBE),
    ]


def partner_acls(principal: str, topic: str) -> list[ACL]:
    return _allow(principal, ResourceType.TOPIC, topic, ACLResourcePatternType.LITERAL,
                  ACLOperation.WRITE, ACLOperation.DESCRIBE)


def grant(admin: KafkaAdminClient, acls: list[ACL], timeout_s: float = 15.0) -> None:
    """Create ACLs (idempotent: the broker keeps one copy of a binding created twice), and return once the
    broker enforces them: KRaft applies them through the metadata log, so a request sent right after the
    answer could still be refused (seen: a topic creation by the new grantee)."""
    result = admin.create_acls(acls)
    if result["failed"]:
        raise RuntimeError(f"the broker refused ACLs: {result['failed']}")
    wanted = {_binding(a) for a in acls}
    deadline = time.monotonic() + timeout_s
    for principal in {a.principal for a in acls}:
        every = ACLFilter(principal, None, ACLOperation.ANY, ACLPermissionType.ANY,
                          ResourcePatternFilter(ResourceType.ANY, None, ACLResourcePatternType.ANY))
        mine = {b for b in wanted if b[0] == principal}
        while not mine <= {_binding(a) for a in admin.describe_acls(every)[0]}:
            if time.monotonic() > deadline:
                raise RuntimeError(f"the broker did not apply the ACLs of {principal} within {timeout_s:.0f} s")
            time.sleep(0.05)


def _binding(acl: ACL) -> tuple:
    pattern = acl.resource_pattern
    return (acl.principal, acl.operation, acl.permission_type, pattern.resource_type, pattern.resource_name,
            pattern.pattern_type)


def revoke(admin: KafkaAdminClient, principal: str) -> None:
    """Drop every ACL of `principal`."""
    any_resource = ResourcePatternFilter(ResourceType.ANY, None, ACLResourcePatternType.ANY)
    admin.delete_acls([ACLFilter(f"User:{principal}", None, ACLOperation.ANY, ACLPermissionType.ANY,
                                 any_resource)])


def set_password(admin: KafkaAdminClient, user: str, password: str, mechanism: str = SCRAM_MECHANISM) -> None:
    """Create or replace a SCRAM user (only the salted password travels; PBKDF2 runs here)."""
    errors = admin.alter_user_scram_credentials([UserScramCredentialUpsertion(user, mechanism, password)])
    if errors.get(user):
        raise RuntimeError(f"the broker refused the credentials of {user}: {errors[user]}")


def delete_user(admin: KafkaAdminClient, user: str, mechanism: str = SCRAM_MECHANISM) -> None:
    """Remove a SCRAM user: new connections with its password fail at once."""
    errors = admin.alter_user_scram_credentials([UserScramCredentialDeletion(user, mechanism)])
    if errors.get(user) and "not found" not in errors[user].lower() and "no credential" not in errors[user].lower():
        raise RuntimeError(f"the broker refused to delete {user}: {errors[user]}")


def grant_platform(access: KafkaAccess, principal: str = PLATFORM) -> None:
    """The platform's ACLs (acls.py), granted by the operator (`access`): idempotent and cheap."""
    admin = admin_client(access)
    try:
        grant(admin, platform_acls(principal))
    finally:
        admin.close()
