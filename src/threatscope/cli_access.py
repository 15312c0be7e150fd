"""`threatscope users`, `tokens` and `audit`: user accounts of the server, from the command line.
Every change is recorded in the audit log as made by `local:<os user>`."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import Annotated, Any

import typer
from rich.table import Table

from threatscope.console import SafeConsole
from threatscope.knowledge_base import KnowledgeBase

__all__ = ["register"]

OpenKb = Callable[..., AbstractContextManager[KnowledgeBase]]
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON instead of tables.")]


def register(
    app: typer.Typer,
    open_kb: OpenKb,
    print_json: Callable[[Any], None],
    out: SafeConsole,
    err: SafeConsole,
) -> None:
    """Add the commands to `app`; `open_kb(write=…)` is the CLI's knowledge base for a command."""
    users_app = typer.Typer(
        help="Users of `threatscope serve`: add, list, revoke.", no_args_is_help=True
    )
    tokens_app = typer.Typer(
        help="API tokens of users: create, list, revoke.", no_args_is_help=True
    )
    app.add_typer(users_app, name="users")
    app.add_typer(tokens_app, name="tokens")

    @users_app.command("add")
    def users_add(
        name: Annotated[str, typer.Argument(help="User name (letters, digits, . _ @ -).")],
        role: Annotated[str, typer.Option("--role", help="reader, analyst or admin.")],
        clearance: Annotated[
            str,
            typer.Option(
                "--clearance",
                help="Strictest TLP they may see: clear, green, amber, amber+strict or red.",
            ),
        ],
        json: JsonOption = False,
    ) -> None:
        """Add a user (then give them a token with `threatscope tokens create NAME`)."""
        with open_kb(write=True) as kb:
            user = kb.add_user(name, role, clearance)
        if json:
            print_json(user.as_dict())
            return
        out.print(f"added {user.name}: {user.role}, clearance {user.clearance.label}")

    @users_app.command("list")
    def users_list(json: JsonOption = False) -> None:
        """Every user, revoked ones too."""
        with open_kb() as kb:
            users = kb.users()
        if json:
            print_json([user.as_dict() for user in users])
            return
        table = Table("user", "role", "clearance", "created", "revoked")
        for user in users:
            table.add_row(
                user.name, user.role, user.clearance.label, user.created, user.revoked or "—"
            )
        out.print(table)

    @users_app.command("revoke")
    def users_revoke(name: Annotated[str, typer.Argument(help="The user to revoke.")]) -> None:
        """Revoke a user and all their tokens (the name is never reused)."""
        with open_kb(write=True) as kb:
            kb.revoke_user(name)
        out.print(f"revoked {name} and their tokens")

    @tokens_app.command("create")
    def tokens_create(
        name: Annotated[str, typer.Argument(help="The user the token is for.")],
        json: JsonOption = False,
    ) -> None:
        """Create an API token; it is printed this once and never again (only its hash is
        kept)."""
        with open_kb(write=True) as kb:
            token = kb.create_token(name)
        if json:
            print_json(token.as_dict())
        else:
            out.print(token.token, markup=False, highlight=False)
        err.print(
            f"token {token.prefix} for {name}: shown this once and never again (only its hash "
            "is stored); keep it now. Send it as 'Authorization: Bearer TOKEN' or as the "
            "password of HTTP Basic with the user name.",
            markup=False,
            highlight=False,
        )

    @tokens_app.command("list")
    def tokens_list(
        name: Annotated[str | None, typer.Argument(help="Only this user's tokens.")] = None,
        json: JsonOption = False,
    ) -> None:
        """Tokens by prefix (never their secrets), with when each was last used."""
        with open_kb() as kb:
            tokens = kb.tokens(name)
        if json:
            print_json([token.as_dict() for token in tokens])
            return
        table = Table("prefix", "user", "created", "last used", "revoked")
        for token in tokens:
            table.add_row(
                token.prefix,
                token.user,
                token.created,
                token.last_used or "—",
                token.revoked or "—",
            )
        out.print(table)

    @tokens_app.command("revoke")
    def tokens_revoke(
        prefix: Annotated[str, typer.Argument(help="The token's prefix (see `tokens list`).")],
    ) -> None:
        """Revoke one token."""
        with open_kb(write=True) as kb:
            token = kb.revoke_token(prefix)
        out.print(f"revoked token {token.prefix} of {token.user}")

    @app.command("audit")
    def audit_(
        json: JsonOption = False,
        limit: Annotated[int | None, typer.Option("--limit", help="Only the newest N.")] = None,
    ) -> None:
        """The audit log, newest first: every write, who made it, when and from where."""
        with open_kb() as kb:
            events = kb.audit_log(limit)
        if json:
            print_json([event.as_dict() for event in events])
            return
        table = Table("#", "time", "user", "action", "target", "from", "detail")
        for event in events:
            detail = ", ".join(f"{k}={v}" for k, v in event.detail.items())
            table.add_row(
                str(event.id),
                event.time,
                event.user,
                event.action,
                event.target or "—",
                event.remote or "—",
                detail or "—",
            )
        out.print(table)
