"""Users and tokens at the door: `TokenAuthenticator` finds the principal of a request from
`Authorization: Bearer TOKEN`, or HTTP Basic with the user name and the token as password (the
TAXII 2.1 specification requires Basic). A wrong, unknown or revoked token, a revoked user, or a
Basic user name that is not the token's owner is Unauthenticated (401)."""

from __future__ import annotations

import base64
import binascii
import threading

from threatscope.access.tokens import VERIFIED, VerifiedTokens, verify_token
from threatscope.access.users import User
from threatscope.knowledge_base import KnowledgeBase
from threatscope.server.principal import Authenticator, Principal, Unauthenticated

__all__ = ["TokenAuthenticator", "default_authenticator"]


class TokenAuthenticator:
    def __init__(self, kb_location: str, cache: VerifiedTokens | None = VERIFIED) -> None:
        """`cache`: verified tokens remembered for a while (None: argon2 on every request)."""
        self.location = kb_location
        self.cache = cache
        # Writable (a verification records the token's last use) and per thread: SQLite
        # connections belong to the thread that opened them.
        self._local = threading.local()

    def _kb(self) -> KnowledgeBase:
        kb: KnowledgeBase | None = getattr(self._local, "kb", None)
        if kb is None or kb.closed:
            kb = KnowledgeBase(self.location)
            self._local.kb = kb
        return kb

    def __call__(self, authorization: str | None) -> Principal | None:
        if not authorization:
            return None
        scheme, _, credentials = authorization.strip().partition(" ")
        credentials = credentials.strip()
        if scheme.lower() == "bearer":
            return _principal(self._verify(credentials))
        if scheme.lower() == "basic":
            name, token = _basic(credentials)
            user = self._verify(token)
            if user.name != name:
                raise Unauthenticated("bad credentials")
            return _principal(user)
        raise Unauthenticated(
            f"unsupported authorization scheme {scheme[:20]!r}: use Bearer or Basic"
        )

    def _verify(self, token: str) -> User:
        user = verify_token(self._kb().store, token, self.cache)
        if user is None:
            raise Unauthenticated("bad credentials")
        return user


def _basic(credentials: str) -> tuple[str, str]:
    try:
        decoded = base64.b64decode(credentials, validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        raise Unauthenticated("malformed Basic credentials") from None
    name, colon, token = decoded.partition(":")
    if not colon:
        raise Unauthenticated("malformed Basic credentials")
    return name, token


def _principal(user: User) -> Principal:
    return Principal(user.name, user.role, user.clearance)


def default_authenticator(location: str) -> Authenticator:
    """Tokens, looked up on every request that is not a cache hit: a user or token added while
    the server runs can log in at once (deciding at start-up refused them until a restart)."""
    return TokenAuthenticator(location)
