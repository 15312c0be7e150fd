"""`KnowledgeBase`: the front door for Python, as `sqlite_utils.Database` is for sqlite-utils.

    with KnowledgeBase("kb.db") as kb:
        kb.import_file("eurepoc", "cyber_incidents_ref.csv")
        shares = kb.landscape(ending="2026-03-31").by_nexus

Every method returns a frozen result (`threatscope.results`) whose `as_dict()` is what the
matching `threatscope COMMAND --json` prints: the CLI is a thin layer over this class.

Opening: a path or URL, as `--db` takes (store/location.py); None is the CLI's default
(`THREATSCOPE_DB`, else the user data directory). An existing knowledge base is opened at once,
so a file that is not one fails here. One that does not exist yet is created by the first method
that needs it, and only once its input has been read: a failed import leaves no empty database
behind, and `extract` without `store=True` never creates one. With `read_only=True` nothing is
ever written, and a method that would write raises StoreError naming the parameter.

Errors are the library's own (threatscope.errors) and name this class's parameters, not the
CLI's flags.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

import orjson

from threatscope.config import default_db_location
from threatscope.errors import ConfigError, NotFoundError, ParameterError, StoreError
from threatscope.results import (
    Actor,
    ActorList,
    Attribution,
    Export,
    Extraction,
    ImportHistory,
    ImportResult,
    Landscape,
    ReportFiles,
    Stats,
    TaxiiImport,
    freeze,
)
from threatscope.store import Store, open_store, postgres_url, sqlite_path
from threatscope.store.location import shown_location
from threatscope.store.taxii_state import TaxiiStateSQL

if TYPE_CHECKING:  # attribution imports numpy and scipy: not on every `import threatscope`
    from threatscope.access import AuditEvent, NewToken, Token, User
    from threatscope.attribution import Evidence
    from threatscope.user_collections import UserCollection

__all__ = ["ImportProgress", "KnowledgeBase", "NoEvidenceError", "ParameterError"]

PathLike = str | os.PathLike[str]

# Library messages written for the CLI name its flags; at this boundary they name parameters
# (a ParameterError already does, and passes through as it is).
_PARAMETERS = {
    "--sector": "sector",
    "--victim-region": "victim_region",
    "--victim-country": "victim_country",
    "--actor-category": "actor_categories",
    "--count": "count",
    "--source": "sources",
    "--window": "window",
    "--ending": "ending",
    "--months": "months",
    "--min-n": "min_n",
    "--tlp": "tlp",
    "--nexus": "nexus",
    "--mapping": "mapping=",
    "--on-bad-row": "on_bad_row=",
}
_FLAG = re.compile(r"--[a-z][a-z-]*")


class NoEvidenceError(ConfigError):
    """`attribute()` was given nothing to go on (the CLI words this in its own flags)."""


@contextmanager
def _parameter_names() -> Iterator[None]:
    try:
        yield
    except ConfigError as error:
        if type(error) is not ConfigError:
            raise
        message = str(error)
        named = _FLAG.sub(lambda m: _PARAMETERS.get(m[0], m[0]), message)
        if named == message:
            raise
        raise ParameterError(named, message) from None


def _technique_model(path: PathLike | None) -> Any:
    """The trained technique classifier: a named file must exist; the default one may not yet
    (then only ATT&CK ids written out are found)."""
    from threatscope.extract.techniques import default_model_path, load_model

    if path is None and not default_model_path().is_file():
        return None
    return load_model(path)


def _paths(path: PathLike | Sequence[PathLike] | None) -> list[Path]:
    if path is None:
        return []
    if isinstance(path, str | os.PathLike):
        return [Path(path)]
    return [Path(p) for p in path]


ImportProgress = Callable[[str, int, int | None], None]
"""`progress(stage, done, total)` of `import_file`: stage "reading", then "storing"."""


def _stage(progress: ImportProgress, stage: str) -> Callable[[int, int], None]:
    return lambda done, total: progress(stage, done, total)


def _bad_row_policy(on_bad_row: str, rejects_file: PathLike | None) -> list[Any] | None:
    """None to stop at the first bad row; a list to collect the skipped ones in. A rejects
    file is checked before anything is read, so a bad path never follows a finished import."""
    if on_bad_row not in ("fail", "skip"):
        raise ParameterError(
            f"on_bad_row {on_bad_row!r}: expected 'fail' or 'skip'",
            f"--on-bad-row {on_bad_row!r}: expected 'fail' or 'skip'",
        )
    if rejects_file is not None:
        if on_bad_row != "skip":
            raise ParameterError(
                "rejects_file needs on_bad_row='skip'", "--rejects needs --on-bad-row skip"
            )
        target = Path(rejects_file)
        if not target.parent.is_dir() or target.is_dir():
            raise ConfigError(f"{target}: cannot write the rejects file there")
    return [] if on_bad_row == "skip" else None


def _write_rejects(path: Path, rejects: list[Any]) -> None:
    from threatscope.sources.table import write_rejects

    try:
        write_rejects(path, rejects)
    except OSError as exc:
        raise ConfigError(f"{path}: cannot write: {exc.strerror}") from None


class KnowledgeBase:
    """A ThreatScope knowledge base, opened by path or URL (see the module docstring)."""

    def __init__(self, location: PathLike | None = None, *, read_only: bool = False) -> None:
        self.location = os.fspath(location) if location is not None else default_db_location()
        self.read_only = read_only
        self._store: Store | None = None
        self._closed = False
        if self._exists():
            self._store = self._open()

    # -- opening and closing ------------------------------------------------------------------

    def _exists(self) -> bool:
        if postgres_url(self.location):
            return True  # a server's database: opening it says whether it holds one
        # A URL no backend serves fails here (sqlite_path), before anything is created.
        path = sqlite_path(self.location)
        return path == ":memory:" or Path(path).exists()

    def _open(self) -> Store:
        return open_store(self.location, create=not self.read_only, read_only=self.read_only)

    @property
    def store(self) -> Store:
        """The underlying store (opened, or created, on first use)."""
        if self._closed:
            raise StoreError(f"{shown_location(self.location)}: this KnowledgeBase is closed")
        if self._store is None:
            self._store = self._open()
        return self._store

    def _existing_store(self) -> Store | None:
        """The store if the knowledge base exists; None (nothing created) if not."""
        if self._store is None and not self._closed and not self._exists():
            return None
        return self.store

    def _writable(self, what: str) -> Store | None:
        if self.read_only:
            raise StoreError(
                f"{shown_location(self.location)}: opened with read_only=True; {what} writes to the"
                " knowledge base (open it with read_only=False)"
            )
        return self._existing_store()

    def _protected_file(self) -> Path | None:
        """The database file, which no output may replace (none on a database server)."""
        return None if postgres_url(self.location) else Path(sqlite_path(self.location))

    @property
    def closed(self) -> bool:
        return self._closed

    def close(self) -> None:
        """Close the connection; closing twice is harmless."""
        if self._store is not None:
            self._store.close()
            self._store = None
        self._closed = True

    def __enter__(self) -> KnowledgeBase:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        state = "closed" if self._closed else ("read-only" if self.read_only else "writable")
        return f"<KnowledgeBase {shown_location(self.location)!r} {state}>"

    # -- importing ----------------------------------------------------------------------------

    def import_file(
        self,
        source: str,
        path: PathLike | Sequence[PathLike] | None = None,
        *,
        mapping: PathLike | None = None,
        on_bad_row: str = "fail",
        rejects_file: PathLike | None = None,
        allow_foreign_versions: bool = False,
        model: PathLike | None = None,
        progress: ImportProgress | None = None,
    ) -> ImportResult:
        """Read `path` through the importer `source` (see `threatscope sources`: attack,
        misp-galaxy, kev, stix, eurepoc, table, reports, plugins) and store it in one
        transaction; bad input raises InputError and writes nothing.

        `mapping`: the TOML mapping `table` reads through; `on_bad_row="skip"` leaves bad rows
        out and lists them in the result's `skipped` (and, with `rejects_file`, writes them there
        as CSV). `reports` takes several paths (files or directories) and `model`, the technique
        model (default: the one `train` wrote). `progress(stage, done, total)` is called as
        `reading` (reports read; total None where unknown) and then `storing` (objects) go on."""
        from threatscope.ingest import incident_summary, load_source, write_objects

        self._writable(f"import_file({source!r})")
        rejects = _bad_row_policy(on_bad_row, rejects_file)
        paths = _paths(path)
        if progress is not None:
            progress("reading", 0, None)
        if source == "reports":
            resolved, objects = self._load_reports(paths, model, progress)
        else:
            if len(paths) > 1:
                raise ParameterError(
                    f"source {source!r} takes one path", f"source {source!r} takes one PATH"
                )
            with _parameter_names():
                resolved, objects = load_source(
                    source,
                    paths[0] if paths else None,
                    Path(mapping) if mapping is not None else None,
                    rejects,
                )
        stored = None if progress is None else _stage(progress, "storing")
        report = write_objects(
            self.store, source, resolved, objects, stored, allow_foreign=allow_foreign_versions
        )
        if rejects_file is not None and rejects is not None:
            _write_rejects(Path(rejects_file), rejects)
        incidents = incident_summary(objects)
        return ImportResult.from_dict(
            {
                **report.as_dict(),
                **({"incidents": incidents} if incidents else {}),
                **(
                    {"skipped": [{"row": r.row, "reason": r.reason} for r in rejects]}
                    if rejects is not None
                    else {}
                ),
            }
        )

    def _load_reports(
        self, paths: list[Path], model: PathLike | None, progress: ImportProgress | None
    ) -> tuple[Path, list[dict[str, Any]]]:
        """Actors in the reports resolve against this knowledge base when it exists; sectors a
        report does not name come from the sector model where the shared data trains one."""
        from threatscope.sources.report_incidents import load_reports
        from threatscope.sources.report_sectors import default_sector_model

        if not paths:
            raise ParameterError(
                "source 'reports' needs path (report files or directories)",
                "source 'reports' needs a PATH (report files or directories)",
            )
        objects = load_reports(
            paths,
            self._existing_store(),
            _technique_model(model),
            progress=None if progress is None else _stage(progress, "reading"),
            sector_model=default_sector_model(),
        )
        resolved = [p.resolve() for p in paths]
        common = resolved[0] if len(resolved) == 1 else Path(os.path.commonpath(resolved))
        return common, objects

    def sync(
        self,
        *,
        mirror: PathLike | None = None,
        only: Sequence[str] | None = None,
        urls: Mapping[str, str] | None = None,
        deadline: float | None = None,
        allow_foreign_versions: bool = False,
        on_fetch: Callable[[Any], Callable[[int, int | None], None] | None] | None = None,
    ) -> tuple[ImportResult, ...]:
        """Fetch ATT&CK, the MISP galaxy and CISA KEV from their official URLs (`urls`
        overrides one by feed name; `mirror`: a directory laid out like the shared data) and
        store them all in one transaction, one import each. `only`: these feeds or sources.
        `deadline`: seconds a whole download may take. `on_fetch(feed)` may return a
        `(done, total)` byte-progress callback for that download."""
        import platformdirs

        from threatscope.ingest import DEFAULT_DEADLINE, fetch_feeds, store_feeds

        self._writable("sync()")
        folder = None if mirror is None else Path(mirror)
        if folder is not None and not folder.is_dir():
            raise ConfigError(f"{folder}: mirror directory does not exist")
        cache = Path(platformdirs.user_cache_dir("threatscope")) / "sync"
        loaded = fetch_feeds(
            cache,
            mirror=folder,
            urls=dict(urls or {}),
            only=list(only) if only is not None else None,
            on_fetch=on_fetch,
            deadline=DEFAULT_DEADLINE if deadline is None else deadline,
        )
        reports = store_feeds(self.store, loaded, allow_foreign_versions)
        return tuple(ImportResult.from_dict(r.as_dict()) for r in reports)

    def import_taxii(
        self,
        url: str,
        collection: str,
        *,
        user: str | None = None,
        token: str | None = None,
        added_after: str | None = None,
        allow_foreign_versions: bool = False,
        progress: ImportProgress | None = None,
    ) -> TaxiiImport:
        """Pull the TAXII 2.1 collection `collection` of the API root (or discovery resource)
        at `url` and store its objects as `import stix` would, in one transaction with the
        resume point. Without `added_after`, only objects added after the previous pull of the
        same collection are asked for. `token`: sent as HTTP Basic with `user`, else as Bearer.
        `progress(stage, done, total)`: "fetching" after each page (objects so far, total None),
        then "storing" (objects). A bad object is an InputError naming it, a network or HTTP
        failure a NetworkError; either writes nothing."""
        from threatscope.ingest import write_objects
        from threatscope.sources.taxii import check_added_after, connect

        self._writable(f"import_taxii({url!r})")
        if added_after is not None:
            check_added_after(added_after)
        feed = connect(url, user, token)
        existing = self._existing_store()
        previous = (
            cast(TaxiiStateSQL, existing).taxii_resume_point(feed.api_root, collection)
            if existing
            else None
        )
        resumed_from = previous.added_last if previous else None
        asked = added_after if added_after is not None else resumed_from
        fetching = None
        if progress is not None:
            fetching = lambda done, pages: progress("fetching", done, None)  # noqa: E731
        pull = feed.pull(collection, asked, progress=fetching)
        point = _later_point(resumed_from, pull.added_last)

        def remember(writer: Any, report: Any) -> None:
            if point is not None and point != resumed_from:
                writer.record_taxii_resume(feed.api_root, collection, point, report.import_id)

        report = write_objects(
            self.store,
            "taxii",
            pull.url,
            pull.objects,
            None if progress is None else _stage(progress, "storing"),
            allow_foreign=allow_foreign_versions,
            then=remember,
        )
        return TaxiiImport(
            url=feed.api_root,
            collection=collection,
            import_id=report.import_id,
            fetched=len(pull.objects),
            added=report.added,
            updated=report.updated,
            unchanged=report.unchanged,
            older=report.older,
            pages=pull.pages,
            added_after_used=asked,
            resumed_from=resumed_from,
            resume_point=point,
        )

    # -- user-defined TAXII collections (threatscope.user_collections) -------------------------

    def add_collection(
        self,
        title: str,
        *,
        sources: Sequence[str] = (),
        types: Sequence[str] = (),
        tlp: str | None = None,
        ids: Sequence[str] = (),
        description: str = "",
        by: str | None = None,
        remote: str | None = None,
    ) -> UserCollection:
        """A new collection the server offers: the objects brought by one of `sources`, of one
        of `types`, marked at most `tlp`, among `ids` (each empty: no condition). Recorded in
        the audit log as made by `by` (default: this process's OS user)."""
        from threatscope.access.audit import local_user
        from threatscope.access.tokens import now
        from threatscope.store.access import AuditEntry
        from threatscope.user_collections import UserCollection, new_collection

        self._writable("add_collection()")
        row = new_collection(
            title, sources=sources, types=types, tlp=tlp, ids=ids, description=description,
            created=now(), created_by=by or local_user(),
        )
        taken = [c.title for c in self.collections()]
        if row.title in taken:
            raise ConfigError(f"a collection titled {row.title!r} already exists")
        store = self.store
        with store.write() as writer:
            writer.insert_taxii_collection(row)  # type: ignore[attr-defined]
            audit = AuditEntry(
                row.created_by, "collection.add", row.id, remote or "local", {"title": row.title}
            )
            store.record_audit_in_transaction(audit, row.created)  # type: ignore[attr-defined]
        return UserCollection.from_row(row)

    def collections(self) -> tuple[UserCollection, ...]:
        """The user-defined collections, oldest first."""
        from threatscope.user_collections import UserCollection

        store = self._existing_store()
        rows = store.taxii_user_collections() if store else []  # type: ignore[attr-defined]
        return tuple(UserCollection.from_row(row) for row in rows)

    def remove_collection(
        self, collection_id: str, *, by: str | None = None, remote: str | None = None
    ) -> UserCollection:
        """Remove a user-defined collection (the objects stay in the knowledge base)."""
        from threatscope.access.audit import local_user
        from threatscope.access.tokens import now
        from threatscope.store.access import AuditEntry

        found = [c for c in self.collections() if c.id == collection_id]
        if not found:
            raise NotFoundError(f"no user-defined collection {collection_id!r}")
        store = self.store
        when = now()
        with store.write() as writer:
            writer.delete_taxii_collection(collection_id)  # type: ignore[attr-defined]
            audit = AuditEntry(
                by or local_user(), "collection.remove", collection_id, remote or "local",
                {"title": found[0].title},
            )
            store.record_audit_in_transaction(audit, when)  # type: ignore[attr-defined]
        return found[0]

    def imports(self) -> ImportHistory:
        """Every import recorded, oldest first (`threatscope imports --json`)."""
        return ImportHistory(imports=freeze(self.store.imports()))

    # -- users, tokens and the audit log (threatscope.access) --------------------------------

    def add_user(
        self, name: str, role: str, clearance: str, *, by: str | None = None,
        remote: str | None = None,
    ) -> User:
        """A new user: `role` reader, analyst or admin; `clearance` the strictest TLP level
        they may see (clear, green, amber, amber+strict, red). `by`/`remote`: who asks and from
        where, for the audit log (default: this process's OS user, `local`)."""
        from threatscope.access import accounts

        self._writable("add_user()")
        row = accounts.new_user(name, role, clearance)  # bad input creates no knowledge base
        return accounts.add_user(self.store, row, by=by, remote=remote)

    def users(self) -> tuple[User, ...]:
        """Every user, revoked ones too, by name."""
        from threatscope.access.users import User

        store = self._existing_store()
        return tuple(User.from_row(row) for row in store.users()) if store else ()

    def revoke_user(self, name: str, *, by: str | None = None, remote: str | None = None) -> User:
        """Revoke the user and all their tokens (at once in this process)."""
        from threatscope.access import accounts

        store = self._writable("revoke_user()")
        if store is None:
            raise accounts.no_user(name)
        return accounts.revoke_user(store, name, by=by, remote=remote)

    def create_token(
        self, name: str, *, by: str | None = None, remote: str | None = None
    ) -> NewToken:
        """A new API token for the active user `name`; its secret exists only in the result."""
        from threatscope.access import accounts

        store = self._writable("create_token()")
        if store is None:
            raise accounts.no_user(name)
        return accounts.create_token(store, name, by=by, remote=remote)

    def tokens(self, user: str | None = None) -> tuple[Token, ...]:
        """The stored tokens (prefixes and dates, never secrets), of one user or all."""
        from threatscope.access.tokens import Token

        store = self._existing_store()
        return tuple(Token.from_row(row) for row in store.tokens(user)) if store else ()

    def revoke_token(
        self, prefix: str, *, by: str | None = None, remote: str | None = None
    ) -> Token:
        """Revoke a token by its prefix (or the whole token)."""
        from threatscope.access import accounts

        store = self._writable("revoke_token()")
        if store is None:
            raise ConfigError(f"no token with prefix {prefix!r}")
        return accounts.revoke_token(store, prefix, by=by, remote=remote)

    def verify_token(self, token: str) -> User | None:
        """The active user an active `token` belongs to, else None (records its use)."""
        from threatscope.access.tokens import verify_token

        store = self._existing_store()
        return verify_token(store, token) if store else None

    def record_audit(
        self,
        user: str,
        action: str,
        target: str | None = None,
        *,
        remote: str | None = None,
        detail: dict[str, Any] | None = None,
    ) -> int:
        """Add a row to the audit log; returns its id."""
        from threatscope.access import accounts

        self._writable("record_audit()")
        return accounts.record(self.store, user, action, target, remote, detail)

    def audit_log(self, limit: int | None = None) -> tuple[AuditEvent, ...]:
        """The audit log, newest first (`limit`: only that many)."""
        from threatscope.access import accounts

        return accounts.audit_log(self._existing_store(), limit)

    # -- reading ------------------------------------------------------------------------------

    def stats(self) -> Stats:
        """Current objects per STIX type, relationships, actors per nexus."""
        return Stats.from_dict(self.store.stats())

    def actors(self, search: str | None = None, nexus: str | None = None) -> ActorList:
        """Resolved actors, by name; `nexus` in any spelling (China, CN, CHN, or 'unknown');
        `search` keeps those whose name, an alias or an ATT&CK id contains it (any case)."""
        from threatscope.actors.nexus_option import nexus_code

        with _parameter_names():
            code = None if nexus is None else nexus_code(nexus)
        docs = self.store.list_actors(code)
        if search is not None:
            needle = search.casefold()
            docs = [d for d in docs if any(needle in n.casefold() for n in _names(d))]
        return ActorList.from_dict({"actors": [_summary(d) for d in docs], "nexus": code})

    def actor(self, name_or_id: str) -> Actor:
        """One actor by any name, alias, ATT&CK id or STIX id; NotFoundError (with close names)
        when none matches."""
        from threatscope.actors import find_actor
        from threatscope.actors.cves import actor_cves

        store = self.store
        doc = find_actor(store, name_or_id)
        doc["cves"] = actor_cves(store, doc["id"])
        return Actor.from_dict(doc)

    def landscape(
        self,
        *,
        sector: str | None = None,
        victim_region: str | None = None,
        victim_country: str | None = None,
        actor_categories: Sequence[str] | None = None,
        count: str = "any",
        sources: Sequence[str] | None = None,
        window: str | None = None,
        ending: str | None = None,
        months: int = 12,
        infer_nexus: bool = False,
        min_n: int = 10,
    ) -> Landscape:
        """Nexus shares with 95% intervals, change against the window before, trend, sectors
        and regions. `window` is START..END; else the `months` ending `ending` (default: the
        latest 31 March in the data). `actor_categories` default: state and state-affiliated."""
        from threatscope.landscape.compute import landscape

        store = self.store
        with _parameter_names():
            filters = _filters(
                sector, victim_region, victim_country, actor_categories, count, sources
            )
            result = landscape(
                store,
                filters,
                window,
                ending,
                months,
                infer_nexus_with=store if infer_nexus else None,
                min_n=min_n,
            )
        return Landscape.from_dict(result)

    def report(
        self,
        path: PathLike = "report.html",
        *,
        pdf: bool = False,
        tlp: str | None = None,
        sector: str | None = None,
        victim_region: str | None = None,
        victim_country: str | None = None,
        actor_categories: Sequence[str] | None = None,
        count: str = "any",
        sources: Sequence[str] | None = None,
        window: str | None = None,
        ending: str | None = None,
        months: int = 12,
        infer_nexus: bool = False,
        min_n: int = 10,
    ) -> ReportFiles:
        """Write the landscape as a self-contained HTML report (and with `pdf`, a PDF beside
        it, printed by Chromium). `tlp`: clear, green, amber, amber+strict or red (default:
        clear when every source is public). The filters are `landscape()`'s."""
        from threatscope.landscape.compute import landscape
        from threatscope.report.html import write_report  # Altair costs 0.5 s to import
        from threatscope.report.marking import parse_tlp, report_marking

        with _parameter_names():
            requested = parse_tlp(tlp) if tlp is not None else None
        store = self.store
        marking, credits = report_marking(store, requested)
        with _parameter_names():
            filters = _filters(
                sector, victim_region, victim_country, actor_categories, count, sources
            )
            result = landscape(
                store,
                filters,
                window,
                ending,
                months,
                infer_nexus_with=store if infer_nexus else None,
                min_n=min_n,
            )
        written = write_report(
            result,
            Path(path),
            pdf=pdf,
            marking=marking,
            credits=credits,
            protect=self._protected_file(),
        )
        return ReportFiles(written=tuple(written), marking=marking.label)

    def export(
        self,
        path: PathLike,
        *,
        types: Sequence[str] | None = None,
        include_revoked: bool = False,
    ) -> Export:
        """Write current objects (only `types`, if given) as one STIX 2.1 bundle; importing it
        with source `stix` restores them."""
        from threatscope.export import export_bundle

        count = export_bundle(
            self.store,
            Path(path),
            types=list(types) if types else None,
            include_revoked=include_revoked,
            protect=self._protected_file(),
        )
        return Export(path=Path(path), objects=count)

    # -- reading reports ----------------------------------------------------------------------

    def extract(
        self,
        path: PathLike | None = None,
        *,
        text: str | None = None,
        store: bool = False,
        bundle: PathLike | None = None,
        model: PathLike | None = None,
    ) -> Extraction:
        """IOCs, CVEs, ATT&CK techniques, actors, malware, sectors and countries in a report
        file (.txt, .md, .html, .pdf) or in `text`. Names resolve against this knowledge base
        when it exists. `bundle`: also write the STIX 2.1 bundle there; `store`: write it into
        the knowledge base (files only: provenance names the file)."""
        from threatscope.extract.document import extract_file, extract_text, extraction_bundle
        from threatscope.files import write_atomically
        from threatscope.ingest import write_objects

        if (path is None) == (text is None):
            raise ConfigError("extract() takes a path or text=, exactly one of them")
        if store and text is not None:
            raise ConfigError("extract(text=..., store=True): only a file can be stored")
        # The extractors take the SQLite store; Any until the store owns their SQL (issue 13).
        kb: Any = self._writable("extract(store=True)") if store else self._existing_store()
        classifier = _technique_model(model)
        if text is not None:
            extraction = extract_text(text, kb, classifier)
        else:
            extraction = extract_file(Path(path), kb, classifier)  # type: ignore[arg-type]
        # The bundle only when written somewhere: a UUID per object is no small cost.
        stix = extraction_bundle(extraction, kb) if bundle is not None or store else {}
        if bundle is not None:
            data = orjson.dumps(stix, option=orjson.OPT_INDENT_2)
            write_atomically(Path(bundle), data, protect=self._protected_file())
        summary = extraction.summary()
        if store:
            report = write_objects(self.store, "extract", Path(path), stix["objects"])  # type: ignore[arg-type]
            summary["stored"] = report.as_dict()
        return Extraction.from_dict(summary)

    def store_extraction(
        self, summary: Mapping[str, Any], *, created: str | None = None
    ) -> Extraction:
        """Store a reviewed extraction: the JSON `extract()` returned (`as_dict()`), possibly
        edited, written as `extract(store=True)` writes one (its bundle, as source `extract`).
        `created`: the timestamp its objects carry (default: now). A malformed summary raises
        InputError and writes nothing."""
        from datetime import datetime

        from threatscope.extract.reviewed import reviewed_bundle, reviewed_extraction
        from threatscope.ingest import write_objects

        moment = None
        if created is not None:
            try:
                moment = datetime.fromisoformat(created.replace("Z", "+00:00"))
            except ValueError:
                raise ParameterError(
                    f"created {created!r}: expected an ISO 8601 timestamp",
                    f"--created {created!r}: expected an ISO 8601 timestamp",
                ) from None
        self._writable("store_extraction()")
        extraction = reviewed_extraction(dict(summary), moment)
        kb: Any = self.store
        stix = reviewed_bundle(extraction, kb)
        report = write_objects(self.store, "extract", Path(extraction.file), stix["objects"])
        return Extraction.from_dict({**extraction.summary(), "stored": report.as_dict()})

    def attribute(
        self,
        evidence: Evidence | None = None,
        *,
        techniques: Sequence[str] | None = None,
        software: Sequence[str] | None = None,
        cves: Sequence[str] | None = None,
        iocs: Sequence[str] | None = None,
        sectors: Sequence[str] | None = None,
        victim_countries: Sequence[str] | None = None,
        first_seen: str | None = None,
        bundle: PathLike | None = None,
        report: PathLike | None = None,
        text: str | None = None,
        model: PathLike | None = None,
        top: int = 10,
    ) -> Attribution:
        """Which actor, and which nexus, best explain the evidence: calibrated probabilities.

        Evidence: an `Evidence` (threatscope.attribution), the keyword lists, a STIX `bundle`
        file, and a report file (`report`) or `text` read through `extract`; all are merged.
        None at all raises NoEvidenceError."""
        from threatscope.attribution import (
            attribute,
            evidence_from_bundle,
            evidence_from_summary,
            make_evidence,
        )
        from threatscope.extract.document import extract_file, extract_text
        from threatscope.stix import parse_file

        store: Any = self.store
        found = make_evidence(
            _list(techniques),
            _list(software),
            _list(cves),
            _list(iocs),
            _list(sectors),
            _list(victim_countries),
            first_seen,
        )
        if evidence is not None:
            found = evidence.merged(found)
        if bundle is not None:
            # Checked as `import stix` checks a bundle: its objects then have the shapes read.
            objects = parse_file(Path(bundle)).objects
            found = found.merged(evidence_from_bundle({"objects": objects}))
        if report is not None or text is not None:
            classifier = _technique_model(model)
            if report is not None:
                summary = extract_file(Path(report), store, classifier).summary()
                found = found.merged(evidence_from_summary(summary))
            if text is not None:
                summary = extract_text(text, store, classifier).summary()
                found = found.merged(evidence_from_summary(summary))
        if found.is_empty():
            raise NoEvidenceError(
                "attribute() found no evidence: give techniques, software, cves, iocs, "
                "sectors, victim_countries, first_seen, bundle, report or text"
            )
        return Attribution.from_dict(attribute(store, found, top=top))


def _list(values: Sequence[str] | None) -> list[str] | None:
    if isinstance(values, str):  # one value given bare: a string is not a list of letters
        return [values]
    return None if values is None else list(values)


def _filters(
    sector: str | None,
    victim_region: str | None,
    victim_country: str | None,
    actor_categories: Sequence[str] | None,
    count: str,
    sources: Sequence[str] | None,
) -> Any:
    from threatscope.landscape.selection import Filters
    from threatscope.taxonomy import STATE_CATEGORIES

    categories = tuple(_list(actor_categories) or ()) or STATE_CATEGORIES
    return Filters(
        sector, victim_region, victim_country, categories, count, tuple(_list(sources) or ())
    )


def _names(doc: dict[str, Any]) -> Iterator[str]:
    yield doc["name"]
    yield from doc["external_ids"]
    for alias in doc["aliases"]:
        yield alias["alias"]


def _summary(doc: dict[str, Any]) -> dict[str, Any]:
    """One `actor list --json` row (and the member sources, which only the table shows)."""
    return {k: doc[k] for k in ("id", "name", "nexus", "external_ids")} | {
        "aliases": len(doc["aliases"]),
        "members": len(doc["members"]),
        "conflicts": len(doc["conflicts"]),
        "sources": sorted({m["source"] for m in doc["members"]}),
    }


def _later_point(stored: str | None, pulled: str | None) -> str | None:
    """The later resume point: a pull with --added-after before the stored point never moves
    it back."""
    from threatscope.stix.validate import normalise_timestamp

    if stored is None or pulled is None:
        return pulled or stored
    later = (normalise_timestamp(pulled) or "") > (normalise_timestamp(stored) or "")
    return pulled if later else stored
