"""`threatscope import taxii URL --collection ID` and `threatscope collections add|list|remove`:
the TAXII client and the server's user-defined collections, from the command line.

`import taxii` takes options no other source has, so it is a command of its own, which the
top-level group routes `import taxii …` to (cli.py); `import` itself is unchanged."""

from __future__ import annotations

import os
from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import Annotated, Any

import typer
from rich.table import Table

from threatscope.console import SafeConsole, clean, count_progress
from threatscope.knowledge_base import KnowledgeBase

__all__ = ["import_taxii_command", "register"]

OpenKb = Callable[..., AbstractContextManager[KnowledgeBase]]
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON instead of tables.")]
TOKEN_VARIABLE = "THREATSCOPE_TAXII_TOKEN"


def import_taxii_command(
    open_kb: OpenKb,
    print_json: Callable[[Any], None],
    out: SafeConsole,
    err: SafeConsole,
) -> Any:  # typer's click Command (typer may vendor click)
    """The click command `import taxii` runs (built once per CLI run, when it is asked for)."""
    taxii_app = typer.Typer(add_completion=False)

    @taxii_app.command()
    def import_taxii(
        url: Annotated[str, typer.Argument(help="TAXII 2.1 API root or discovery URL.")],
        collection: Annotated[
            str, typer.Option("--collection", help="Id of the collection to pull.")
        ],
        user: Annotated[
            str | None, typer.Option("--user", help="User name: the token goes as HTTP Basic.")
        ] = None,
        token: Annotated[
            str | None,
            typer.Option(
                "--token",
                envvar=TOKEN_VARIABLE,
                show_envvar=True,
                help="API token (HTTP Basic password with --user, else Bearer).",
            ),
        ] = None,
        added_after: Annotated[
            str | None,
            typer.Option(
                "--added-after",
                help="Only objects added after this timestamp (default: after the last pull "
                "of this collection).",
            ),
        ] = None,
        allow_foreign_versions: Annotated[
            bool,
            typer.Option(
                "--allow-foreign-versions",
                help="Let a newer version from another producer replace a stored object.",
            ),
        ] = False,
        json: JsonOption = False,
    ) -> None:
        """Pull a TAXII 2.1 collection page by page and store it, in one transaction."""
        progress = count_progress(err)
        task = progress.add_task(clean(f"Pulling {url}"), total=None)

        def update(stage: str, done: int, total: int | None) -> None:
            # The server tells no total while pulling: the bar pulses and counts objects.
            label = f"Pulling {url}" if stage == "fetching" else f"Storing {total} objects"
            progress.update(task, description=clean(label), completed=done, total=total)

        with open_kb(write=True) as kb, progress:
            result = kb.import_taxii(
                url,
                collection,
                user=user,
                token=token or os.environ.get(TOKEN_VARIABLE) or None,
                added_after=added_after,
                allow_foreign_versions=allow_foreign_versions,
                progress=update,
            )
        if json:
            print_json(result.as_dict())
            return
        since = f" added after {result.added_after_used}" if result.added_after_used else ""
        out.print(
            f"taxii {result.url} collection {result.collection}: {result.fetched} objects"
            f"{since} in {result.pages} page{'s' if result.pages != 1 else ''},"
            f" {result.added} added, {result.updated} updated,"
            f" {result.unchanged} unchanged, {result.older} older than stored",
            markup=False,
            highlight=False,
        )
        if result.resume_point:
            out.print(f"next pull resumes after {result.resume_point}", highlight=False)

    command = typer.main.get_command(taxii_app)
    command.name = "taxii"
    return command


def register(
    app: typer.Typer,
    open_kb: OpenKb,
    print_json: Callable[[Any], None],
    out: SafeConsole,
    err: SafeConsole,
) -> None:
    """Add `collections` to `app`; `open_kb(write=…)` is the CLI's knowledge base."""
    collections_app = typer.Typer(
        help="User-defined TAXII collections of `threatscope serve`: add, list, remove.",
        no_args_is_help=True,
    )
    app.add_typer(collections_app, name="collections")

    @collections_app.command("add")
    def collections_add(
        title: Annotated[str, typer.Argument(help="The collection's title.")],
        source: Annotated[
            list[str] | None,
            typer.Option("--source", help="Objects this importer brought (repeatable)."),
        ] = None,
        stix_type: Annotated[
            list[str] | None,
            typer.Option("--type", help="Objects of this STIX type (repeatable)."),
        ] = None,
        tlp: Annotated[
            str | None,
            typer.Option("--tlp", help="Objects marked at most this TLP level."),
        ] = None,
        object_id: Annotated[
            list[str] | None,
            typer.Option("--id", help="Only this object (repeatable): an explicit id set."),
        ] = None,
        description: Annotated[
            str, typer.Option("--description", help="What the collection is for.")
        ] = "",
        json: JsonOption = False,
    ) -> None:
        """Add a collection the server offers beside its built-in ones."""
        with open_kb(write=True) as kb:
            found = kb.add_collection(
                title,
                sources=source or (),
                types=stix_type or (),
                tlp=tlp,
                ids=object_id or (),
                description=description,
            )
        if json:
            print_json(found.as_dict())
            return
        out.print(f"added collection {found.id}: {found.title}", markup=False, highlight=False)

    @collections_app.command("list")
    def collections_list(json: JsonOption = False) -> None:
        """The user-defined collections, oldest first."""
        with open_kb() as kb:
            found = kb.collections()
        if json:
            print_json([c.as_dict() for c in found])
            return
        if not found:
            out.print(
                "no user-defined collections yet: `threatscope collections add TITLE` makes one",
                markup=False,
                highlight=False,
            )
            return
        table = Table("id", "title", "sources", "types", "tlp", "ids", "created by")
        for c in found:
            table.add_row(
                c.id,
                c.title,
                ", ".join(c.sources) or "any",
                ", ".join(c.types) or "any",
                c.tlp or "any",
                str(len(c.ids)) if c.ids else "any",
                c.created_by,
            )
        out.print(table)

    @collections_app.command("remove")
    def collections_remove(
        collection_id: Annotated[str, typer.Argument(help="The collection's id.")],
    ) -> None:
        """Remove a user-defined collection (its objects stay in the knowledge base)."""
        with open_kb(write=True) as kb:
            found = kb.remove_collection(collection_id)
        out.print(f"removed collection {found.id}: {found.title}", markup=False, highlight=False)
