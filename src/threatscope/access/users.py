"""Users: a name, a role (access/roles.py) and a clearance (the strictest TLP 2.0 level they may
see). Names are never reused: a revoked user keeps theirs, so the audit log stays unambiguous."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, cast

from threatscope.access.roles import ROLES, Role
from threatscope.errors import ConfigError
from threatscope.report.marking import LEVELS, Tlp, parse_tlp
from threatscope.store.access import UserRow

__all__ = ["User", "check_name", "check_role", "parse_clearance"]

# No ':' (HTTP Basic splits user and password there), no spaces or control characters.
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._@-]{0,63}")


@dataclass(frozen=True)
class User:
    name: str
    role: Role
    clearance: Tlp
    created: str
    revoked: str | None = None

    @property
    def active(self) -> bool:
        return self.revoked is None

    @classmethod
    def from_row(cls, row: UserRow) -> User:
        return cls(
            row.name, cast(Role, row.role), parse_tlp(row.clearance), row.created, row.revoked
        )

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "role": self.role,
            "clearance": self.clearance.key,
            "created": self.created,
            "revoked": self.revoked,
        }


def check_name(name: str) -> str:
    if not _NAME.fullmatch(name):
        raise ConfigError(
            f"user name {name!r}: expected 1 to 64 letters, digits or . _ @ - "
            "(starting with a letter or digit)"
        )
    return name


def check_role(role: str) -> Role:
    if role not in ROLES:
        raise ConfigError(f"role {role!r}: expected one of {', '.join(ROLES)}")
    return cast(Role, role)


def parse_clearance(text: str) -> Tlp:
    try:
        return parse_tlp(text)
    except ConfigError:
        raise ConfigError(
            f"clearance {text!r}: not a TLP 2.0 level; use one of: {', '.join(LEVELS)}"
        ) from None
