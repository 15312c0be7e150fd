"""The SQL of `AccessQueries` (store/access.py), written once for both backends: SQLite and
psycopg differ here only in the parameter marker and how JSON is passed and read back."""

from __future__ import annotations

from contextlib import AbstractContextManager
from typing import TYPE_CHECKING, Any

import orjson

from threatscope.store.access import AuditEntry, AuditRow, TokenRow, UserRow

__all__ = ["AccessSQL"]

_USER = "name, role, clearance, created, revoked"
_TOKEN = "id, username, prefix, secret_hash, created, last_used, revoked"
_AUDIT = "id, time, username, action, target, remote, detail"


class AccessSQL:
    """Mixed into a store that has `_conn` and `write()`; SQL is written with `?` markers."""

    _conn: Any
    _marker = "?"
    _json_marker = "?"

    if TYPE_CHECKING:

        def write(self) -> AbstractContextManager[Any]: ...  # the store's: one transaction

    def _sql(self, statement: str) -> str:
        return statement.replace("?", self._marker).replace("{json}", self._json_marker)

    def _run(self, statement: str, params: tuple[Any, ...] = ()) -> Any:
        return self._conn.execute(self._sql(statement), params)

    # -- users --------------------------------------------------------------------------------

    def add_user(self, user: UserRow, audit: AuditEntry) -> bool:
        with self.write():
            added = self._run(
                f"INSERT INTO users ({_USER}) VALUES (?, ?, ?, ?, ?) ON CONFLICT (name) DO NOTHING",
                (user.name, user.role, user.clearance, user.created, user.revoked),
            ).rowcount
            if added:
                self.record_audit_in_transaction(audit, user.created)
        return bool(added)

    def users(self) -> list[UserRow]:
        return [UserRow(*row) for row in self._run(f"SELECT {_USER} FROM users ORDER BY name")]

    def user(self, name: str) -> UserRow | None:
        row = self._run(f"SELECT {_USER} FROM users WHERE name = ?", (name,)).fetchone()
        return UserRow(*row) if row else None

    def revoke_user(self, name: str, when: str, audit: AuditEntry) -> bool:
        with self.write():
            changed = self._run(
                "UPDATE users SET revoked = ? WHERE name = ? AND revoked IS NULL", (when, name)
            ).rowcount
            if changed:
                self._run(
                    "UPDATE api_tokens SET revoked = ? WHERE username = ? AND revoked IS NULL",
                    (when, name),
                )
                self.record_audit_in_transaction(audit, when)
        return bool(changed)

    # -- tokens -------------------------------------------------------------------------------

    def add_token(
        self, user: str, prefix: str, secret_hash: str, created: str, audit: AuditEntry
    ) -> int:
        with self.write():
            # fetchall: a RETURNING statement left unfinished would hold SQLite's COMMIT up.
            ((token_id,),) = self._run(
                "INSERT INTO api_tokens (username, prefix, secret_hash, created)"
                " VALUES (?, ?, ?, ?) RETURNING id",
                (user, prefix, secret_hash, created),
            ).fetchall()
            self.record_audit_in_transaction(audit, created)
        return int(token_id)

    def token(self, prefix: str) -> tuple[TokenRow, UserRow] | None:
        row = self._run(
            f"SELECT {', '.join('t.' + c for c in _TOKEN.split(', '))},"
            f" {', '.join('u.' + c for c in _USER.split(', '))}"
            " FROM api_tokens t JOIN users u ON u.name = t.username WHERE t.prefix = ?",
            (prefix,),
        ).fetchone()
        if row is None:
            return None
        return TokenRow(*row[:7]), UserRow(*row[7:])

    def tokens(self, user: str | None = None) -> list[TokenRow]:
        if user is None:
            rows = self._run(f"SELECT {_TOKEN} FROM api_tokens ORDER BY id")
        else:
            rows = self._run(
                f"SELECT {_TOKEN} FROM api_tokens WHERE username = ? ORDER BY id", (user,)
            )
        return [TokenRow(*row) for row in rows]

    def touch_token(self, token_id: int, when: str) -> None:
        with self.write():
            self._run("UPDATE api_tokens SET last_used = ? WHERE id = ?", (when, token_id))

    def revoke_token(self, prefix: str, when: str, audit: AuditEntry) -> bool:
        with self.write():
            changed = self._run(
                "UPDATE api_tokens SET revoked = ? WHERE prefix = ? AND revoked IS NULL",
                (when, prefix),
            ).rowcount
            if changed:
                self.record_audit_in_transaction(audit, when)
        return bool(changed)

    # -- audit log ----------------------------------------------------------------------------

    def record_audit(self, entry: AuditEntry, when: str) -> int:
        with self.write():
            return self.record_audit_in_transaction(entry, when)

    def record_audit_in_transaction(self, entry: AuditEntry, when: str) -> int:
        ((audit_id,),) = self._run(
            "INSERT INTO audit_log (time, username, action, target, remote, detail)"
            " VALUES (?, ?, ?, ?, ?, {json}) RETURNING id",
            (
                when,
                entry.user,
                entry.action,
                entry.target,
                entry.remote,
                orjson.dumps(entry.detail, option=orjson.OPT_SORT_KEYS).decode(),
            ),
        ).fetchall()
        return int(audit_id)

    def audit_log(self, limit: int | None = None) -> list[AuditRow]:
        statement = f"SELECT {_AUDIT} FROM audit_log ORDER BY id DESC"
        rows = (
            self._run(statement + " LIMIT ?", (limit,))
            if limit is not None
            else self._run(statement)
        )
        return [
            AuditRow(
                row[0],
                row[1],
                row[2],
                row[3],
                row[4],
                row[5],
                row[6] if isinstance(row[6], dict) else orjson.loads(row[6]),  # jsonb or text
            )
            for row in rows
        ]
