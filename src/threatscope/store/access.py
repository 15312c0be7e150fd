"""The store's side of user accounts (threatscope.access): users, API tokens and the audit log.

Rows only; validation (roles, TLP levels, token format, hashing) lives in threatscope.access.
Every write is one transaction, and a change to users or tokens is recorded in the audit log in
that same transaction: the log never misses a change that landed, nor lists one that did not.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

__all__ = ["AccessQueries", "AuditEntry", "AuditRow", "TokenRow", "UserRow"]


@dataclass(frozen=True)
class UserRow:
    name: str
    role: str
    clearance: str  # a report.marking.LEVELS key
    created: str
    revoked: str | None = None


@dataclass(frozen=True)
class TokenRow:
    id: int
    user: str
    prefix: str  # public: finds the token's row; the secret is only in `hash`
    hash: str  # argon2
    created: str
    last_used: str | None = None
    revoked: str | None = None


@dataclass(frozen=True)
class AuditEntry:
    """A write to record: who (a user name, or `local:<os user>` for the CLI), what, where from."""

    user: str
    action: str
    target: str | None = None
    remote: str | None = None
    detail: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class AuditRow:
    id: int
    time: str
    user: str
    action: str
    target: str | None
    remote: str | None
    detail: dict[str, Any]


class AccessQueries(Protocol):
    """Users, tokens and the audit log, on either backend (sqlite_access.py, postgres_access.py
    share one implementation, access_sql.py)."""

    def add_user(self, user: UserRow, audit: AuditEntry) -> bool:
        """False (nothing written) if a user of that name exists, revoked or not."""
        ...

    def users(self) -> list[UserRow]: ...

    def user(self, name: str) -> UserRow | None: ...

    def revoke_user(self, name: str, when: str, audit: AuditEntry) -> bool:
        """Revokes the user and every token of theirs; False if no active user has the name."""
        ...

    def add_token(
        self, user: str, prefix: str, secret_hash: str, created: str, audit: AuditEntry
    ) -> int: ...

    def token(self, prefix: str) -> tuple[TokenRow, UserRow] | None:
        """The token with this prefix and its user (revoked or not), or None."""
        ...

    def tokens(self, user: str | None = None) -> list[TokenRow]: ...

    def touch_token(self, token_id: int, when: str) -> None:
        """Record a use of the token (last_used)."""
        ...

    def revoke_token(self, prefix: str, when: str, audit: AuditEntry) -> bool: ...

    def record_audit(self, entry: AuditEntry, when: str) -> int: ...

    def audit_log(self, limit: int | None = None) -> list[AuditRow]:
        """Newest first."""
        ...
