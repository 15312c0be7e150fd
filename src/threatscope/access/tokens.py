"""API tokens: `ts_<prefix>_<secret>`. The prefix is public and finds the token's row; only an
argon2 hash of the secret is stored, so the token is shown once, when it is made.

Verifying costs argon2's deliberate ~50 ms, too much for every request of a TAXII client paging
through a collection; `VerifiedTokens` remembers a verified token (by its SHA-256, never the token
itself) for `ttl` seconds. A revocation in this process empties it at once; one made elsewhere (the
CLI) takes effect within `ttl`.
"""

from __future__ import annotations

import hashlib
import re
import secrets
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from threatscope.access.users import User
from threatscope.store.access import AccessQueries, TokenRow

__all__ = [
    "CACHE_SECONDS",
    "VERIFIED",
    "NewToken",
    "Token",
    "VerifiedTokens",
    "hash_secret",
    "new_token",
    "parse_token",
    "verify_token",
]

CACHE_SECONDS = 60.0
_HASHER = PasswordHasher()
_FORMAT = re.compile(r"ts_([0-9a-f]{12})_([A-Za-z0-9_-]{43})")


@dataclass(frozen=True)
class Token:
    """A stored token: who it is for and its public prefix; never its secret."""

    id: int
    user: str
    prefix: str
    created: str
    last_used: str | None = None
    revoked: str | None = None

    @classmethod
    def from_row(cls, row: TokenRow) -> Token:
        return cls(row.id, row.user, row.prefix, row.created, row.last_used, row.revoked)

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "user": self.user,
            "prefix": self.prefix,
            "created": self.created,
            "last_used": self.last_used,
            "revoked": self.revoked,
        }


@dataclass(frozen=True)
class NewToken:
    """A token just made: `token` is the only copy of its secret there will ever be."""

    user: str
    prefix: str
    token: str
    created: str

    def as_dict(self) -> dict[str, Any]:
        return {
            "user": self.user,
            "prefix": self.prefix,
            "token": self.token,
            "created": self.created,
        }


def now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def new_token() -> tuple[str, str, str]:
    """(prefix, secret, token): 48 bits of public prefix, 256 bits of secret."""
    prefix, secret = secrets.token_hex(6), secrets.token_urlsafe(32)
    return prefix, secret, f"ts_{prefix}_{secret}"


def parse_token(token: str) -> tuple[str, str] | None:
    """(prefix, secret), or None for a string that is no ThreatScope token."""
    found = _FORMAT.fullmatch(token)
    return (found[1], found[2]) if found else None


def hash_secret(secret: str) -> str:
    return _HASHER.hash(secret)


class VerifiedTokens:
    """SHA-256 of a token -> (its user, its row id, when the entry expires)."""

    def __init__(self, ttl: float = CACHE_SECONDS) -> None:
        self.ttl = ttl
        self._entries: dict[bytes, tuple[User, int, float]] = {}
        self._lock = threading.Lock()

    def get(self, token: str) -> User | None:
        key = hashlib.sha256(token.encode()).digest()
        with self._lock:
            entry = self._entries.get(key)
            if entry is None:
                return None
            if entry[2] <= time.monotonic():
                del self._entries[key]
                return None
            return entry[0]

    def put(self, token: str, user: User, token_id: int) -> None:
        if self.ttl <= 0:
            return
        key = hashlib.sha256(token.encode()).digest()
        with self._lock:
            if len(self._entries) > 10_000:  # bounded: a flood of valid tokens cannot grow it
                self._entries.clear()
            self._entries[key] = (user, token_id, time.monotonic() + self.ttl)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()


VERIFIED = VerifiedTokens()
"""The process's cache; KnowledgeBase.revoke_user and revoke_token empty it."""


def verify_token(
    store: AccessQueries, token: str, cache: VerifiedTokens | None = VERIFIED
) -> User | None:
    """The active user of an active `token`, or None (wrong, unknown or revoked)."""
    if cache is not None:
        cached = cache.get(token)
        if cached is not None:
            return cached
    parsed = parse_token(token)
    if parsed is None:
        return None
    prefix, secret = parsed
    found = store.token(prefix)
    if found is None:
        return None
    row, user_row = found
    if row.revoked is not None or user_row.revoked is not None:
        return None
    try:
        _HASHER.verify(row.hash, secret)
    except (VerificationError, InvalidHashError):
        return None
    user = User.from_row(user_row)
    store.touch_token(row.id, now())
    if cache is not None:
        cache.put(token, user, row.id)
    return user
