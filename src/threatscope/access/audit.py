"""The audit log: every write, who made it (a user, or `local:<os user>` from the CLI), when,
what it changed and from where."""

from __future__ import annotations

import getpass
from dataclasses import dataclass
from typing import Any

from threatscope.store.access import AuditRow

__all__ = ["AuditEvent", "local_user"]


@dataclass(frozen=True)
class AuditEvent:
    id: int
    time: str
    user: str
    action: str
    target: str | None
    remote: str | None
    detail: dict[str, Any]

    @classmethod
    def from_row(cls, row: AuditRow) -> AuditEvent:
        return cls(row.id, row.time, row.user, row.action, row.target, row.remote, row.detail)

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "time": self.time,
            "user": self.user,
            "action": self.action,
            "target": self.target,
            "remote": self.remote,
            "detail": self.detail,
        }


def local_user() -> str:
    """Who runs this process, as the audit log names a change made from the command line."""
    try:
        return f"local:{getpass.getuser()}"
    except (KeyError, OSError):  # no user name in this environment (some containers)
        return "local:unknown"
