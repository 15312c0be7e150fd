"""The `threatscope` command: argument parsing and printing over the library, nothing more."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any, NoReturn

import orjson
import typer
from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
)
from rich.table import Table
from typer.core import TyperGroup

from threatscope import __version__
from threatscope.actors import join_member, split_member
from threatscope.cli_access import register as register_access_commands
from threatscope.cli_options import LandscapeFilters, MinNOption, landscape_filters
from threatscope.cli_taxii import import_taxii_command
from threatscope.cli_taxii import register as register_taxii_commands
from threatscope.config import default_db_location, shared_data_dir
from threatscope.console import SafeConsole, clean, count_progress, literal, styled
from threatscope.errors import ConfigError, NotFoundError, ThreatScopeError
from threatscope.knowledge_base import KnowledgeBase, NoEvidenceError, ParameterError
from threatscope.report.terminal import (
    print_attribution,
    print_evaluation,
    print_extraction,
    print_landscape,
)
from threatscope.sources import all_sources
from threatscope.sources.fetch import DEFAULT_DEADLINE
from threatscope.store import Store, open_store, postgres_url, sqlite_path


class _OneLineErrors(TyperGroup):
    """No traceback reaches a user: a ThreatScopeError escaping a command is printed as usual,
    anything else as one "internal error" line (exit 1); THREATSCOPE_DEBUG=1 shows the traceback.
    Exits, aborts and usage errors are Typer's own and pass through."""

    def resolve_command(self, ctx: Any, args: list[str]) -> Any:
        # `import taxii URL …` has options of its own: a command of its own (cli_taxii.py).
        if args[:2] == ["import", "taxii"]:
            command = import_taxii_command(_kb, _print_json, out, err)
            return "import taxii", command, args[2:]
        return super().resolve_command(ctx, args)

    def invoke(self, ctx: Any) -> Any:
        try:
            return super().invoke(ctx)
        except (typer.Exit, typer.Abort, typer.TyperException, BrokenPipeError):
            raise
        except ThreatScopeError as error:
            _fail(error)
        except Exception as error:
            if os.environ.get("THREATSCOPE_DEBUG", "") not in ("", "0"):
                raise
            message = " ".join(str(error).split()) or "(no message)"
            err.print(
                f"error: internal error: {type(error).__name__}: {message} "
                "(please report; set THREATSCOPE_DEBUG=1 for the traceback)",
                markup=False,
                highlight=False,
                soft_wrap=True,
            )
            raise typer.Exit(1) from None


app = typer.Typer(
    cls=_OneLineErrors,
    help="ThreatScope: adversary intelligence from STIX knowledge.",
    no_args_is_help=True,
    add_completion=False,
)
actor_app = typer.Typer(help="Resolved actors: show, list, split and rejoin.", no_args_is_help=True)
export_app = typer.Typer(help="Export the knowledge base.", no_args_is_help=True)
app.add_typer(actor_app, name="actor")
app.add_typer(export_app, name="export")
eval_app = typer.Typer(help="Evaluate models on data they never trained on.", no_args_is_help=True)
app.add_typer(eval_app, name="eval")

out = SafeConsole(soft_wrap=True)
err = SafeConsole(stderr=True, soft_wrap=True)

JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON instead of tables.")]
AllowForeignOption = Annotated[
    bool,
    typer.Option(
        "--allow-foreign-versions",
        help="Let a newer version from another producer (created_by_ref, or importer when "
        "neither names one) replace a stored object instead of refusing the import.",
    ),
]


class State:
    # A string location: a file path or a database URL (Path would mangle `postgresql://`).
    db: str = default_db_location()


def _fail(error: ThreatScopeError) -> NoReturn:
    err.print(f"error: {error}", markup=False, highlight=False, soft_wrap=True)
    raise typer.Exit(1 if isinstance(error, NotFoundError) else 2)


@contextmanager
def _errors() -> Iterator[None]:
    try:
        yield
    except ThreatScopeError as error:
        _fail(error)


@contextmanager
def _store(create: bool = False, write: bool = False) -> Iterator[Store]:
    """The knowledge base; only commands that write may create it, and the others open it
    read-only."""
    with _errors():
        store = open_store(State.db, create=create, read_only=not (create or write))
    try:
        with _errors():
            yield store
    finally:
        store.close()


@contextmanager
def _kb(write: bool = False) -> Iterator[KnowledgeBase]:
    """The knowledge base for one command, read-only unless the command writes. Its errors
    name its parameters; a user of the command reads them in the command's flags."""
    with _errors():
        kb = KnowledgeBase(State.db, read_only=not write)
    try:
        with _errors():
            try:
                yield kb
            except ParameterError as error:
                raise ConfigError(error.flag_message) from None
    finally:
        kb.close()


def _db_file() -> Path:
    """The knowledge base's file, which no output may replace."""
    return Path(sqlite_path(State.db))


def _print_json(value: Any) -> None:
    sys.stdout.write(orjson.dumps(value, option=orjson.OPT_INDENT_2).decode() + "\n")


def _version(value: bool) -> None:
    if value:
        out.print(f"threatscope {__version__}")
        raise typer.Exit()


@app.callback()
def main(
    db: Annotated[
        str | None,
        typer.Option(
            "--db",
            help="Database file or URL (env THREATSCOPE_DB; default: user data dir).",
        ),
    ] = None,
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Show the version.")
    ] = False,
) -> None:
    State.db = db or default_db_location()
    with _errors():
        if postgres_url(State.db) is None:
            sqlite_path(State.db)  # a URL no backend serves fails here, before any command writes


@app.command("import")
def import_(
    source: Annotated[str, typer.Argument(help="Source name: see `threatscope sources`.")],
    path: Annotated[Path | None, typer.Argument(help="File or directory to import.")] = None,
    more_paths: Annotated[
        list[Path] | None,
        typer.Argument(help="`import reports`: more report files or directories."),
    ] = None,
    mapping: Annotated[
        Path | None,
        typer.Option("--mapping", help="Mapping file for `import table` (TOML; see README)."),
    ] = None,
    on_bad_row: Annotated[
        str,
        typer.Option(
            "--on-bad-row",
            help="`import table`: fail (stop at the first bad row) or skip (import the good "
            "rows, list the bad ones).",
        ),
    ] = "fail",
    rejects_file: Annotated[
        Path | None,
        typer.Option("--rejects", help="With --on-bad-row skip: write the skipped rows (CSV)."),
    ] = None,
    allow_foreign_versions: AllowForeignOption = False,
    json: JsonOption = False,
) -> None:
    """Import a file or directory through one source, in one transaction. (A TAXII 2.1
    collection: `threatscope import taxii URL --collection ID`, see its --help.)"""
    paths = [p for p in (path, *(more_paths or ())) if p]
    progress = count_progress(err)
    task = progress.add_task(clean(f"Reading {path or source}"), total=None)

    def update(stage: str, done: int, total: int | None) -> None:
        label = "Reading reports" if source == "reports" else f"Reading {path or source}"
        if stage == "storing":
            label = f"Storing {total} objects"
        progress.update(task, description=clean(label), completed=done, total=total)

    with _kb(write=True) as kb, progress:
        result = kb.import_file(
            source,
            paths,
            mapping=mapping,
            on_bad_row=on_bad_row,
            rejects_file=rejects_file,
            allow_foreign_versions=allow_foreign_versions,
            progress=update,
        )
    report, incidents = result, result.incidents
    skipped = list(result.skipped or ())
    if json:
        _print_json(result.as_dict())
        return
    out.print(
        styled(
            "[bold]{}[/] {}: {} objects read, [green]{} added[/], {} updated, {} unchanged, "
            "{} older than stored",
            source, paths[0] if len(paths) == 1 else report.path, report.received,
            report.added, report.updated,
            report.unchanged, report.older,
        )
    )
    if report.foreign:
        out.print(f"{report.foreign} stored objects replaced by another producer's version")
    if incidents:
        _print_incident_summary(incidents)
    if skipped:
        out.print(f"Skipped {len(skipped)} bad rows:", highlight=False)
        for row in skipped:
            out.print(f"  row {row['row']}: {row['reason']}", markup=False, highlight=False)


def _print_incident_summary(summary: Mapping[str, Any]) -> None:
    out.print(f"{summary['incidents']} incidents, {summary['undated']} without a date")
    for key, title in (
        ("unmapped_sectors", "Unmapped sector values"),
        ("victims_without_country", "Victim locations that name no country"),
        ("actors_without_country", "Actor countries that name no country"),
    ):
        values = summary[key]
        if values:
            shown = ", ".join(f"{v!r} ({n})" for v, n in list(values.items())[:12])
            more = f" and {len(values) - 12} more" if len(values) > 12 else ""
            out.print(f"{title}: {shown}{more}", highlight=False)


@app.command("sync")
def sync_(
    mirror: Annotated[
        Path | None, typer.Option(help="Read the feeds from DIR (laid out like shared/data).")
    ] = None,
    only: Annotated[
        list[str] | None, typer.Option(help="Only these feeds or sources (repeatable).")
    ] = None,
    url: Annotated[
        list[str] | None, typer.Option(help="Override a feed URL: NAME=URL (repeatable).")
    ] = None,
    deadline: Annotated[
        float, typer.Option(help="Seconds a whole download may take, not just each read.")
    ] = DEFAULT_DEADLINE,
    allow_foreign_versions: AllowForeignOption = False,
    json: JsonOption = False,
) -> None:
    """Fetch ATT&CK, the MISP galaxy and CISA KEV from their official URLs (or a mirror) and
    import them all in one transaction."""
    urls: dict[str, str] = {}
    for item in url or ():
        name, sep, value = item.partition("=")
        if not sep:
            _fail(ConfigError(f"--url takes NAME=URL, got {item!r}"))
        urls[name] = value
    progress = Progress(
        TextColumn("{task.description}", markup=False),
        BarColumn(),
        DownloadColumn(),
        TimeElapsedColumn(),
        console=err,
        transient=True,
        disable=not err.is_terminal,
    )

    def on_fetch(feed: Any) -> Callable[[int, int | None], None]:
        task = progress.add_task(f"Fetching {feed.name}", total=None)
        return lambda done, total: progress.update(task, completed=done, total=total)

    with _kb(write=True) as kb, progress:
        reports = kb.sync(
            mirror=mirror,
            only=only,
            urls=urls,
            deadline=deadline,
            allow_foreign_versions=allow_foreign_versions,
            on_fetch=on_fetch,
        )
    if json:
        _print_json([r.as_dict() for r in reports])
        return
    for r in reports:
        out.print(
            styled(
                "[bold]{}[/] {}: {} added, {} updated, {} unchanged",
                r.source, r.path, r.added, r.updated, r.unchanged,
            )
        )


@app.command("serve")
def serve_(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port to listen on.")] = 8000,
    anonymous_read: Annotated[
        bool,
        typer.Option(help="Answer unauthenticated reads (TLP:CLEAR objects only; never writes)."),
    ] = False,
) -> None:
    """Serve the knowledge base over HTTP (TAXII 2.1, REST, web UI) until interrupted."""
    from threatscope.server.serve import serve

    with _errors():
        serve(State.db, host, port, anonymous_read=anonymous_read)


# `users`, `tokens`, `audit`: the server's user accounts (cli_access.py).
register_access_commands(app, _kb, _print_json, out, err)
register_taxii_commands(app, _kb, _print_json, out, err)


@app.command("sources")
def sources_(json: JsonOption = False) -> None:
    """List the sources `import` understands."""
    sources = all_sources()
    if json:
        _print_json({name: s.summary for name, s in sources.items()})
        return
    table = Table("source", "reads")
    for name, source in sources.items():
        table.add_row(name, source.summary)
    out.print(table)


@app.command("stats")
def stats(json: JsonOption = False) -> None:
    """Counts of current, non-revoked objects per STIX type, and actors per nexus."""
    with _kb() as kb:
        result = kb.stats().as_dict()
        history = kb.imports()
    if json:
        _print_json(result)
        return
    table = Table("STIX type", "objects", title=f"Knowledge base {State.db}")
    for stix_type, count in result["objects"].items():
        table.add_row(stix_type, f"{count:,}")
    table.add_row("relationship", f"{result['relationships']:,}", style="dim")
    out.print(table)
    nexus = Table("nexus", "actors", title=f"{result['actors']:,} resolved actors")
    for code, count in list(result["actors_by_nexus"].items())[:12]:
        nexus.add_row(code, f"{count:,}")
    out.print(nexus)
    out.print(f"{len(history)} imports recorded")


@app.command("imports")
def imports_(json: JsonOption = False) -> None:
    """The import history: which source brought what, when, and what it changed."""
    with _kb() as kb:
        history = kb.imports().as_list()
    if json:
        _print_json(history)
        return
    table = Table("#", "source", "path", "finished", "read", "added", "updated", "unchanged")
    for row in history:
        table.add_row(
            str(row["id"]),
            row["source"],
            row["path"],
            row["finished"] or "—",
            *(f"{row[k]:,}" for k in ("received", "added", "updated", "unchanged")),
        )
    out.print(table)


@app.command("migrate")
def migrate_(json: JsonOption = False) -> None:
    """Upgrade the knowledge base to this version's schema (every command does so on opening)."""
    with _store(write=True) as store:
        upgrade = store.upgrade
    if json:
        _print_json({"database": store.location, **upgrade.as_dict()})
        return
    if upgrade.from_version == upgrade.to_version:
        out.print(f"{store.location}: schema version {upgrade.to_version} is current")
        return
    out.print(
        f"{store.location}: upgraded schema version {upgrade.from_version} to {upgrade.to_version}"
    )
    for version, description in upgrade.steps:
        out.print(f"  {version}: {description}")


@actor_app.command("show")
def actor_show(
    name: Annotated[str, typer.Argument(help="Any name, alias, ATT&CK id or STIX id.")],
    json: JsonOption = False,
) -> None:
    """One resolved actor: aliases with the sources asserting them, nexus, conflicts, members,
    and the CVEs it is linked to with the sources linking them."""
    with _kb() as kb:
        doc = kb.actor(name).as_dict()
    if json:
        _print_json(doc)
        return
    out.print(styled("[bold]{}[/]  {}", doc["name"], doc["id"]))
    out.print(
        f"nexus: {doc['nexus'] or 'unknown'}   ATT&CK: {', '.join(doc['external_ids']) or '—'}"
    )
    if doc["motivations"]:
        out.print(f"motivations: {', '.join(doc['motivations'])}")
    aliases = Table("alias", "asserted by")
    for alias in doc["aliases"]:
        aliases.add_row(alias["alias"], ", ".join(alias["sources"]))
    out.print(aliases)
    members = Table("member", "source", "matched by")
    members.columns[0].overflow = "fold"
    for member in doc["members"]:
        members.add_row(
            f"{member['name']}\n{member['id']}",
            member["source"],
            "\n".join(member["matched_by"]) or "—",
        )
    out.print(members)
    for conflict in doc["conflicts"]:
        if conflict["type"] == "nexus":
            claims = ", ".join(
                f"{c['nexus']} ({c['source']} {c['basis']})" for c in conflict["claims"]
            )
            out.print(styled("[yellow]conflict[/] nexus claims disagree: {}", claims))
        else:
            out.print(
                styled(
                    "[yellow]conflict[/] {} also claimed by {}",
                    repr(conflict["alias"]), ", ".join(conflict["also_claimed_by"]),
                )
            )
    for other in doc.get("other_matches", []):
        out.print(styled("[dim]also matches: {} ({})[/]", other["name"], other["id"]))
    if doc["cves"]:
        cves = Table("CVE", "CISA KEV", "linked by", title="Exploited CVEs", title_justify="left")
        cves.columns[2].overflow = "fold"
        for row in doc["cves"]:
            kev = ("KEV" if row["in_kev"] else "—") + (
                ", ransomware" if row["known_ransomware_use"] else ""
            )
            cves.add_row(row["cve"], kev, "\n".join(s["label"] for s in row["sources"]))
        out.print(cves)


@actor_app.command("list")
def actor_list(
    nexus: Annotated[
        str | None,
        typer.Option(help="Only this nexus (any spelling: China, CN, CHN, Chinese; or 'unknown')."),
    ] = None,
    json: JsonOption = False,
) -> None:
    """Resolved actors, optionally of one nexus."""
    with _kb() as kb:
        actors = kb.actors(nexus=nexus)
    if json:
        _print_json(actors.as_list())
        return
    # The title says how --nexus was read ("China" -> CN), so an empty list is never silent.
    title = f"{len(actors)} actors" + (f" with nexus {actors.nexus}" if actors.nexus else "")
    table = Table("actor", "nexus", "ATT&CK", "aliases", "sources", "conflicts", title=title)
    for a in actors:
        table.add_row(
            a.name,
            a.nexus or "—",
            ", ".join(a.external_ids),
            str(a.aliases),
            ", ".join(a.sources),
            str(a.conflicts) if a.conflicts else "",
        )
    out.print(table)


@actor_app.command("split")
def actor_split(
    actor: Annotated[str, typer.Argument(help="The actor, by any name.")],
    member: Annotated[str, typer.Argument(help="Member to take out: object id, source or name.")],
    json: JsonOption = False,
) -> None:
    """Undo a merge: the member becomes an actor of its own and stays so across imports."""
    with _store(write=True) as store:
        moved = split_member(store, actor, member)
    if json:
        _print_json({"split": moved["id"], "from": actor})
        return
    out.print(
        f"split {moved['name']} ({moved['source']}, {moved['id']}) out of {actor!r}; "
        f"undo with: threatscope actor join {moved['id']}"
    )


@actor_app.command("join")
def actor_join(
    object_id: Annotated[str, typer.Argument(help="The object id a split took out.")],
) -> None:
    """Undo a split: resolution may merge the object again."""
    with _store(write=True) as store:
        join_member(store, object_id)
    out.print(f"{object_id} may merge again")


@export_app.command("stix")
def export_stix(
    output: Annotated[Path, typer.Option("-o", "--output", help="Bundle file to write.")],
    type_: Annotated[
        list[str] | None, typer.Option("--type", help="Only this STIX type (repeatable).")
    ] = None,
    include_revoked: Annotated[bool, typer.Option(help="Include revoked objects.")] = False,
) -> None:
    """Write current objects as one STIX 2.1 bundle."""
    with _kb() as kb:
        count = kb.export(output, types=type_, include_revoked=include_revoked).objects
    err.print(f"wrote {count} objects to {output}")


# -- landscape -------------------------------------------------------------------------------


@app.command("landscape")
@landscape_filters
def landscape_(
    *,
    filters: LandscapeFilters,
    infer_nexus: Annotated[
        bool,
        typer.Option(
            "--infer-nexus",
            help="Also count unattributed incidents at their inferred nexus (expected counts).",
        ),
    ] = False,
    min_n: MinNOption = 10,
    json: JsonOption = False,
) -> None:
    """Who attacks whom: nexus shares with 95% intervals, change, trend, sectors, regions."""
    with _kb() as kb, err.status(literal("Computing…"), spinner="dots"):
        result = kb.landscape(
            **filters.as_kwargs(),
            infer_nexus=infer_nexus,
            min_n=min_n,
        ).as_dict()
    if json:
        _print_json(result)
        return
    print_landscape(out, result)


@app.command("report")
@landscape_filters
def report_(
    *,
    output: Annotated[
        Path, typer.Option("--output", "-o", help="HTML file to write (self-contained).")
    ] = Path("report.html"),
    pdf: Annotated[
        bool, typer.Option("--pdf", help="Also print it to PDF (beside it) with Chromium.")
    ] = False,
    filters: LandscapeFilters,
    infer_nexus: Annotated[
        bool,
        typer.Option("--infer-nexus", help="Add unattributed incidents at their inferred nexus."),
    ] = False,
    tlp: Annotated[
        str | None,
        typer.Option(
            "--tlp",
            help="TLP 2.0 marking: clear, green, amber, amber+strict or red (default: clear "
            "when every source is public; see README).",
        ),
    ] = None,
    min_n: MinNOption = 10,
) -> None:
    """Write the landscape as an HTML report with charts (and PDF with --pdf)."""
    with _kb() as kb, err.status(literal("Rendering charts…"), spinner="dots"):
        written = kb.report(
            output,
            pdf=pdf,
            tlp=tlp,
            **filters.as_kwargs(),
            infer_nexus=infer_nexus,
            min_n=min_n,
        ).written
    for path in written:
        out.print(f"wrote {path}", highlight=False)


@app.command("sectors")
def sectors_(json: JsonOption = False) -> None:
    """The victim sector tree `--sector` takes (id or label; sub-sectors included)."""
    from threatscope.taxonomy import sectors

    taxonomy = sectors()
    rows = [
        {"id": s.id, "label": s.label, "parent": s.parent, "also": list(s.also)}
        for s in taxonomy.by_id.values()
    ]
    if json:
        _print_json(rows)
        return
    table = Table("sector", "label", "also counts in")

    def add(sector_id: str, depth: int) -> None:
        sector = taxonomy.by_id[sector_id]
        table.add_row("  " * depth + sector_id, sector.label, ", ".join(sector.also))
        for child in taxonomy.children(sector_id):
            add(child, depth + 1)

    for root in taxonomy.children(None):
        add(root, 0)
    out.print(table)


@app.command("regions")
def regions_(json: JsonOption = False) -> None:
    """The victim regions `--victim-region` takes (id, label or alias), with their countries."""
    from threatscope.taxonomy import region_catalogue

    rows = region_catalogue()
    if json:
        _print_json(rows)
        return
    table = Table("region", "label", "kind", "also called", "countries")
    for row in rows:
        table.add_row(
            row["id"],
            row["label"],
            row["kind"],
            ", ".join(row["aliases"]),
            f"{len(row['countries'])}: " + " ".join(row["countries"]),
        )
    out.print(table)


# -- extract ---------------------------------------------------------------------------------

ModelOption = Annotated[
    Path | None,
    typer.Option("--model", help="Technique model file (default: the one `train` wrote)."),
]


def _technique_model(path: Path | None) -> Any:
    """The trained classifier: the named file must exist; the default one may not yet."""
    from threatscope.extract.techniques import default_model_path, load_model

    if path is None and not default_model_path().is_file():
        return None
    return load_model(path)


@app.command("train")
def train_(
    data: Annotated[
        Path | None,
        typer.Option(
            "--data", help="Shared data dir with TRAM2/AnnoCTR (default: THREATSCOPE_DATA)."
        ),
    ] = None,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Model file (default: user data dir).")
    ] = None,
    seed: Annotated[int, typer.Option("--seed", help="Random seed (same seed, same model).")] = 0,
    json: JsonOption = False,
) -> None:
    """Train the ATT&CK technique classifier from the knowledge base (+ TRAM2, AnnoCTR train)."""
    from threatscope.extract.techniques import model_file, save_model
    from threatscope.extract.training import train_model

    root = data or shared_data_dir()
    with _errors():
        target = model_file(output)  # a bad --output fails now, not after the training
    with _store() as store, err.status(literal("Training (a few minutes with the shared data)…")):
        model = train_model(store, data_dir=root if root.is_dir() else None, seed=seed)
        path = save_model(model, target)
    info = {**model.info, "path": str(path)}
    if json:
        _print_json(info)
        return
    out.print(
        f"{info['techniques']} techniques from {sum(info['examples'].values()):,} examples"
        f" ({', '.join(f'{k} {v:,}' for k, v in info['examples'].items())}),"
        f" {_cuts(info)}, {info['seconds']} s -> {path}",
        highlight=False,
    )


def _cuts(info: dict[str, Any]) -> str:
    """ "threshold 0.5", or a report-level model's cut per level and how many reports taught it."""
    deciders = info.get("deciders")
    if not deciders:
        return f"threshold {info['threshold']:g}"
    return "report deciders " + ", ".join(
        f"{level} (cut {d['threshold']:g}, {d['reports']} reports)" for level, d in deciders.items()
    )


@eval_app.command("techniques")
def eval_techniques(
    dataset: Annotated[
        str, typer.Option("--dataset", help="annoctr-dev, annoctr-train-cv or tram2-cv.")
    ] = "annoctr-dev",
    model: ModelOption = None,
    data: Annotated[Path | None, typer.Option("--data", help="Shared data dir.")] = None,
    baseline: Annotated[
        bool,
        typer.Option(
            "--baseline",
            help="Also fit the plain TF-IDF + LinearSVC baseline (minutes) and print it beside.",
        ),
    ] = False,
    json: JsonOption = False,
) -> None:
    """Per-document precision, recall and F1 (micro and macro) of the technique classifier,
    at exact and parent level and closed-set (`--json` prints every view)."""
    from threatscope.extract.evaluate import evaluate_techniques
    from threatscope.extract.techniques import load_model

    with _errors():
        classifier = load_model(model)
    store_for_cv = None
    if dataset == "tram2-cv" and not classifier.deciders:  # a report model kept its CV
        with _errors():
            store_for_cv = open_store(State.db, create=False, read_only=True)
    if baseline:
        with _errors():
            store_for_cv = open_store(State.db, create=False, read_only=True)
    with _errors(), err.status(literal(f"Evaluating on {dataset}…")):
        if baseline:
            from threatscope.extract.baseline_comparison import compare_with_baseline

            root = data or shared_data_dir()
            result = compare_with_baseline(classifier, dataset, root, store_for_cv)
        else:
            result = evaluate_techniques(classifier, dataset, data_dir=data, store=store_for_cv)
    if json:
        _print_json(result)
        return
    for scope in ("micro", "macro"):
        figures = result.get(scope)
        if figures:
            out.print(
                f"{dataset} {scope}: precision {figures['precision']:.3f}"
                f" recall {figures['recall']:.3f} F1 {figures['f1']:.3f}",
                highlight=False,
            )
    for view, scores in (result.get("views") or {}).items():
        level = " (the level this dataset labels)" if view == result.get("label_level") else ""
        out.print(
            f"{dataset} {view}: per-document F1 {scores['macro']['f1']:.3f}"
            f" micro F1 {scores['micro']['f1']:.3f}{level}",
            highlight=False,
        )
    compared = result.get("baseline")
    if compared:
        out.print("plain TF-IDF + LinearSVC baseline, same documents (per-document F1):")
        for view in (v for v in compared if isinstance(compared[v], dict)):
            row = compared[view]
            diff = row["per_doc_f1_difference"]
            out.print(
                f"  {view:<14} model {row['shipped']['per_doc_f1']:.3f}"
                f"  baseline {row['baseline']['per_doc_f1']:.3f}"
                f"  difference {diff['mean_difference']:+.3f}"
                f" [95% CI {diff['low']:+.3f}, {diff['high']:+.3f}]",
                highlight=False,
            )


@app.command("extract")
def extract_(
    file: Annotated[Path, typer.Argument(help="Report to read: .txt, .md, .html or .pdf.")],
    store_it: Annotated[
        bool, typer.Option("--store", help="Write the result into the knowledge base.")
    ] = False,
    bundle: Annotated[
        Path | None, typer.Option("--bundle", "-o", help="Also write the STIX 2.1 bundle here.")
    ] = None,
    model: ModelOption = None,
    json: JsonOption = False,
) -> None:
    """IOCs, CVEs, ATT&CK techniques, actors, malware, sectors and countries in a report."""
    # The knowledge base resolves names if it exists; it is created only once the file has
    # been read, so unreadable input leaves no new database behind (KnowledgeBase sees to it).
    with _kb(write=store_it) as kb, err.status(literal(f"Reading {file}…"), spinner="dots"):
        summary = kb.extract(file, store=store_it, bundle=bundle, model=model).as_dict()
    if json:
        _print_json(summary)
        return
    print_extraction(out, summary)


# -- attribution -----------------------------------------------------------------------------


@app.command("attribute")
def attribute_(
    technique: Annotated[
        list[str] | None, typer.Option("--technique", help="ATT&CK id; repeatable.")
    ] = None,
    software: Annotated[
        list[str] | None, typer.Option("--software", help="Malware or tool name; repeatable.")
    ] = None,
    cve: Annotated[
        list[str] | None, typer.Option("--cve", help="Exploited CVE; repeatable.")
    ] = None,
    ioc: Annotated[
        list[str] | None, typer.Option("--ioc", help="IP, domain, URL or hash; repeatable.")
    ] = None,
    sector: Annotated[
        list[str] | None, typer.Option("--sector", help="Victim sector; repeatable.")
    ] = None,
    victim_country: Annotated[
        list[str] | None, typer.Option("--victim-country", help="Victim country; repeatable.")
    ] = None,
    first_seen: Annotated[
        str | None, typer.Option("--first-seen", help="YYYY-MM or YYYY-MM-DD.")
    ] = None,
    bundle: Annotated[
        Path | None, typer.Option("--bundle", help="A STIX bundle to take evidence from.")
    ] = None,
    text: Annotated[
        Path | None, typer.Option("--text", help="A report to read through `extract`.")
    ] = None,
    model: ModelOption = None,
    json: JsonOption = False,
) -> None:
    """Which actor, and which nexus, best explains the evidence: calibrated probabilities."""
    with _kb() as kb:
        try:
            result = kb.attribute(
                techniques=technique,
                software=software,
                cves=cve,
                iocs=ioc,
                sectors=sector,
                victim_countries=victim_country,
                first_seen=first_seen,
                bundle=bundle,
                report=text,
                model=model,
            ).as_dict()
        except NoEvidenceError:
            raise ConfigError("give some evidence: --technique, --software, --text, …") from None
    if json:
        _print_json(result)
        return
    print_attribution(out, result)


@eval_app.command("attribution")
def eval_attribution(
    dataset: Annotated[
        str | None,
        typer.Option(
            "--dataset",
            help="attack-groups, attack-reports, attack-campaigns (the default) or"
            " annoctr-masked (the default with --split).",
        ),
    ] = None,
    split: Annotated[
        str | None,
        typer.Option(
            "--split",
            help="annoctr-masked: AnnoCTR reports with the actor's names masked, run through"
            " `attribute --text`; dev, train or all (each split reported apart).",
        ),
    ] = None,
    model: ModelOption = None,
    seeds: Annotated[int, typer.Option("--seeds", help="How many seeds (from 0).")] = 3,
    open_set: Annotated[
        bool,
        typer.Option(
            "--open-set",
            help="Take every 4th group out of the knowledge base (right answer: unknown/other),"
            " as the calibration was fitted; groups and reports only.",
        ),
    ] = False,
    json: JsonOption = False,
) -> None:
    """Top-1, top-3, nexus accuracy, ECE and Brier on ATT&CK groups or campaigns, or on
    masked report text (`--split`)."""
    from threatscope.attribution.evaluate import evaluate_attribution

    dataset = dataset or ("annoctr-masked" if split else "attack-campaigns")
    if dataset == "annoctr-masked" or split is not None:
        _eval_masked(dataset, split or "all", model, json)
        return
    known = ("attack-groups", "attack-reports", "attack-campaigns")
    with _store() as store:
        if dataset not in known:
            raise ConfigError(f"unknown dataset {dataset!r}; known: {', '.join(known)}")
        if open_set and dataset == "attack-campaigns":
            raise ConfigError("--open-set applies to attack-groups and attack-reports")
        result = evaluate_attribution(store, dataset, tuple(range(seeds)), open_set=open_set)
    if json:
        _print_json(result)
        return
    print_evaluation(out, result)


def _eval_masked(dataset: str, split: str, model: Path | None, json: bool) -> None:
    from threatscope.attribution.masked_eval import evaluate_masked

    with _errors():  # checked before the knowledge base is opened: bad options fail alike
        if dataset != "annoctr-masked":
            raise ConfigError("--split applies to --dataset annoctr-masked only")
        if split not in ("dev", "train", "all"):
            raise ConfigError(f"unknown split {split!r}; known: dev, train, all")
    with _store() as store:
        classifier = _technique_model(model)
        with err.status(literal("Attributing masked AnnoCTR reports…")):
            result = evaluate_masked(store, split, classifier)
    if json:
        _print_json(result)
        return
    for name, figures in result["splits"].items():
        base = figures["baselines"]
        out.print(
            f"{name}: {figures['reports']} of {figures['reports_read']} reports"
            f" ({figures['replacements']} names masked),"
            f" top-1 {figures['top1']:.3f} top-3 {figures['top3']:.3f}"
            f" nexus {figures['nexus']:.3f} (of {figures['reports_with_nexus']});"
            f" Jaccard baseline top-1 {base['jaccard']['top1']:.3f}"
            f" top-3 {base['jaccard']['top3']:.3f}, majority nexus"
            f" {base['majority_nexus']['accuracy']:.3f}, chance top-1 {base['chance']['top1']:.3f}",
            highlight=False,
        )
    out.print(f"technique model: {result['technique_model']}", highlight=False)
