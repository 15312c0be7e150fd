"""The roles, weakest first: a reader reads, an analyst also writes intelligence, an admin also
manages the server. Here rather than in server/ so the CLI validates roles without FastAPI."""

from __future__ import annotations

from typing import Literal

__all__ = ["ROLES", "Role"]

Role = Literal["reader", "analyst", "admin"]
ROLES: tuple[Role, ...] = ("reader", "analyst", "admin")
