"""Changes to users and tokens, validated, each written with its audit row in one transaction."""

from __future__ import annotations

from typing import Any

from threatscope.access.audit import AuditEvent, local_user
from threatscope.access.tokens import VERIFIED, NewToken, Token, hash_secret, new_token, now
from threatscope.access.tokens import parse_token as _parse_token
from threatscope.access.users import User, check_name, check_role, parse_clearance
from threatscope.errors import ConfigError
from threatscope.store.access import AccessQueries, AuditEntry, UserRow

__all__ = [
    "add_user",
    "audit_log",
    "create_token",
    "new_user",
    "no_user",
    "record",
    "revoke_token",
    "revoke_user",
]


def _entry(
    by: str | None, action: str, target: str, remote: str | None, **detail: Any
) -> AuditEntry:
    return AuditEntry(by or local_user(), action, target, remote or "local", detail)


def new_user(name: str, role: str, clearance: str) -> UserRow:
    """The row of a new user, validated (a ConfigError names what is wrong)."""
    return UserRow(check_name(name), check_role(role), parse_clearance(clearance).key, now())


def add_user(
    store: AccessQueries, row: UserRow, *, by: str | None = None, remote: str | None = None
) -> User:
    name = row.name
    audit = _entry(by, "user.add", name, remote, role=row.role, clearance=row.clearance)
    if not store.add_user(row, audit):
        held = store.user(name)
        state = " (revoked; names are not reused)" if held and held.revoked else ""
        raise ConfigError(f"user {name!r} already exists{state}")
    return User.from_row(row)


def no_user(name: str) -> ConfigError:
    return ConfigError(f"no user named {name!r}")


def revoke_user(
    store: AccessQueries, name: str, *, by: str | None = None, remote: str | None = None
) -> User:
    if not store.revoke_user(name, now(), _entry(by, "user.revoke", name, remote)):
        held = store.user(name)
        raise ConfigError(f"user {name!r} is already revoked" if held else str(no_user(name)))
    VERIFIED.clear()  # at once in this process: no cached token of theirs outlives this
    held = store.user(name)
    assert held is not None
    return User.from_row(held)


def _active_user(store: AccessQueries, name: str) -> User:
    held = store.user(name)
    if held is None:
        raise no_user(name)
    if held.revoked is not None:
        raise ConfigError(f"user {name!r} is revoked")
    return User.from_row(held)


def create_token(
    store: AccessQueries, name: str, *, by: str | None = None, remote: str | None = None
) -> NewToken:
    _active_user(store, name)
    prefix, secret, token = new_token()
    created = now()
    store.add_token(
        name,
        prefix,
        hash_secret(secret),
        created,
        _entry(by, "token.create", name, remote, prefix=prefix),
    )
    return NewToken(name, prefix, token, created)


def revoke_token(
    store: AccessQueries, prefix_or_token: str, *, by: str | None = None, remote: str | None = None
) -> Token:
    """Revoke by the token's public prefix (or the whole token)."""
    parsed = _parse_token(prefix_or_token)
    prefix = parsed[0] if parsed else prefix_or_token
    found = store.token(prefix)
    if found is None:
        raise ConfigError(f"no token with prefix {prefix!r}")
    if not store.revoke_token(
        prefix, now(), _entry(by, "token.revoke", found[0].user, remote, prefix=prefix)
    ):
        raise ConfigError(f"token {prefix!r} is already revoked")
    VERIFIED.clear()
    again = store.token(prefix)
    assert again is not None
    return Token.from_row(again[0])


def record(
    store: AccessQueries,
    user: str,
    action: str,
    target: str | None = None,
    remote: str | None = None,
    detail: dict[str, Any] | None = None,
) -> int:
    return store.record_audit(AuditEntry(user, action, target, remote, detail or {}), now())


def audit_log(store: AccessQueries | None, limit: int | None = None) -> tuple[AuditEvent, ...]:
    """Newest first; `store` None (no knowledge base yet): nothing, once `limit` is checked."""
    if limit is not None and limit < 1:
        raise ConfigError(f"limit {limit}: expected 1 or more")
    return () if store is None else tuple(AuditEvent.from_row(r) for r in store.audit_log(limit))
