"""Who is asking: the principal every request is answered for, and the authenticator that finds it.

A principal has a role (reader < analyst < admin: what it may do) and a TLP clearance (what it
may see: objects marked at or below it, never above, in every answer including counts). The
server asks its `Authenticator` once per request; an unauthenticated request is `ANONYMOUS`
(TLP:CLEAR, read only) when the server allows anonymous reads, and refused otherwise.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from threatscope.access.roles import ROLES, Role
from threatscope.report.marking import LEVELS, Tlp

__all__ = ["ANONYMOUS", "ROLES", "Authenticator", "Principal", "Role", "Unauthenticated"]


@dataclass(frozen=True)
class Principal:
    """A user (or anonymous): `name`, `role`, and `clearance`, the strictest TLP it may see."""

    name: str
    role: Role
    clearance: Tlp
    anonymous: bool = False

    def may(self, role: Role) -> bool:
        """Whether this principal holds `role` or a higher one."""
        return not self.anonymous and ROLES.index(self.role) >= ROLES.index(role)

    def sees(self, tlp_rank: int) -> bool:
        """Whether an object marked at `tlp_rank` (report.marking.Tlp.rank) may reach it."""
        return tlp_rank <= self.clearance.rank


ANONYMOUS = Principal("anonymous", "reader", LEVELS["clear"], anonymous=True)


class Unauthenticated(Exception):
    """Credentials were given and are wrong (or revoked): the server answers 401."""


class Authenticator(Protocol):
    """Finds the principal of a request from its `Authorization` header (None when absent).
    Returns None for "no credentials"; raises Unauthenticated for bad ones."""

    def __call__(self, authorization: str | None) -> Principal | None: ...
