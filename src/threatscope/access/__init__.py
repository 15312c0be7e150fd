"""User accounts, without HTTP: users with a role and a TLP clearance, their API tokens (only an
argon2 hash is stored) and the audit log. `KnowledgeBase` exposes them (`kb.add_user`,
`kb.create_token`, …); the server authenticates with them (server/auth.py)."""

from threatscope.access.audit import AuditEvent
from threatscope.access.roles import ROLES, Role
from threatscope.access.tokens import NewToken, Token
from threatscope.access.users import User

__all__ = ["ROLES", "AuditEvent", "NewToken", "Role", "Token", "User"]
