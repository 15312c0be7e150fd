"""Sources -> store: read and validate everything first, then write it in one transaction.

Nothing touches the database until the whole input has parsed, so bad input leaves the store
byte-for-byte as it was; a failure while writing rolls the transaction back.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from pathlib import Path

from threatscope.actors import resolve_actors
from threatscope.actors.cves import refresh_cve_links
from threatscope.errors import ConfigError, InputError
from threatscope.landscape.facts import refresh_incident_facts
from threatscope.sources import get_source
from threatscope.sources.fetch import DEFAULT_DEADLINE, FEEDS, ByteProgress, Feed, fetch_feed
from threatscope.sources.table import RejectedRow
from threatscope.stix import validate_object
from threatscope.store import ImportReport, Store
from threatscope.store.base import Progress, Writer

__all__ = [
    "LoadedFeed",
    "fetch_feeds",
    "incident_summary",
    "load_source",
    "run_import",
    "store_feeds",
    "write_objects",
]


def load_source(
    source_name: str,
    path: Path | None,
    mapping: Path | None = None,
    rejects: list[RejectedRow] | None = None,
) -> tuple[Path, list[dict]]:
    """Parse a source's input without opening any database. `rejects` (sources read through a
    mapping only): a list to collect bad rows in, which are then left out, instead of failing."""
    source = get_source(source_name)
    if path is None:
        if source.default_path is None:
            raise ConfigError(f"source {source_name!r} needs a PATH")
        path = source.default_path()
    if source.load_mapped is not None:
        if mapping is None:
            raise ConfigError(f"source {source_name!r} needs --mapping MAP.toml (see the README)")
        if rejects is None:
            return path, _valid(path, source.load_mapped(path, mapping))
        return path, _valid(path, source.load_mapped(path, mapping, rejects))
    if rejects is not None:
        raise ConfigError(
            f"source {source_name!r} takes no --on-bad-row skip (only sources read through"
            " --mapping, such as `import table`)"
        )
    if mapping is not None:
        raise ConfigError(f"source {source_name!r} takes no --mapping")
    assert source.load is not None
    return path, _valid(path, source.load(path))


def _valid(path: Path, objects: list[dict]) -> list[dict]:
    """`objects`, once each is checked as a bundle's are (STIX rules and the shape of every
    property we read): a source converting a file, or a plugin, must not store what later
    commands, or our own `import stix` of an export, would fail on."""
    for index, obj in enumerate(objects):
        reason = validate_object(obj)
        if reason is not None:
            ident = obj.get("id") if isinstance(obj, dict) else None
            where = f"object {index}" + (f" ({ident})" if isinstance(ident, str) else "")
            raise InputError(str(path), reason, where=where)
    return objects


def write_objects(
    store: Store,
    source_name: str,
    path: Path | str,
    objects: list[dict],
    progress: Progress | None = None,
    allow_foreign: bool = False,
    then: Callable[[Writer, ImportReport], None] | None = None,
) -> ImportReport:
    """`allow_foreign`: a newer version from another producer than the stored version's
    replaces it instead of refusing the import (store/versions.py). `then(writer, report)`
    runs last, in the same transaction (what an importer records beside its import)."""
    with store.write() as writer:
        # Provenance names the absolute file, so it still means something from another directory.
        report = writer.upsert(
            objects,
            source=source_name,
            # A str is a URL (`import taxii`), kept as it is.
            path=str(path.absolute()) if isinstance(path, Path) else path,
            progress=progress,
            allow_foreign=allow_foreign,
        )
        if report.added or report.updated:
            _refresh_derived(writer, [objects])
        if then is not None:
            then(writer, report)
    return report


def run_import(store: Store, source_name: str, path: Path | None = None) -> ImportReport:
    path, objects = load_source(source_name, path)
    return write_objects(store, source_name, path, objects)


def incident_summary(objects: list[dict]) -> dict | None:
    """What an incident import could not place: unmapped sector values, and victim and actor
    country values that name no country, with counts. None when the input held no incidents."""
    incidents = [o for o in objects if o.get("type") == "incident"]
    if not incidents:
        return None
    sectors: Counter[str] = Counter()
    countries: Counter[str] = Counter()
    actor_countries: Counter[str] = Counter()
    for incident in incidents:
        for initiator in incident.get("x_threatscope_initiators") or ():
            raw = initiator.get("raw_country")
            if raw and not initiator.get("country"):
                actor_countries[raw] += 1
        for victim in incident.get("x_threatscope_victims") or ():
            sectors.update(victim.get("unmapped_sectors") or ())
            raw = victim.get("raw_country")
            if raw and not victim.get("country"):
                countries[raw] += 1
    return {
        "incidents": len(incidents),
        "undated": sum(1 for i in incidents if not i.get("x_threatscope_first_seen")),
        "unmapped_sectors": dict(sectors.most_common()),
        "victims_without_country": dict(countries.most_common()),
        "actors_without_country": dict(actor_countries.most_common()),
    }


LoadedFeed = tuple[Feed, Path, list[dict]]
_LONGEST_DEADLINE = 7 * 24 * 3600.0


def fetch_feeds(
    cache_dir: Path,
    mirror: Path | None = None,
    urls: dict[str, str] | None = None,
    only: list[str] | None = None,
    on_fetch: Callable[[Feed], ByteProgress | None] | None = None,
    deadline: float = DEFAULT_DEADLINE,
) -> list[LoadedFeed]:
    """Fetch and parse every selected public feed, each download within `deadline` seconds;
    touches no database."""
    names = {f.name for f in FEEDS} | {f.source for f in FEEDS}
    unknown = set(only or ()) - names
    if unknown:
        raise ConfigError(f"unknown feed(s): {', '.join(sorted(unknown))}; known: {_feed_names()}")
    bad_urls = set(urls or ()) - {f.name for f in FEEDS}
    if bad_urls:
        raise ConfigError(
            f"--url for unknown feed(s): {', '.join(sorted(bad_urls))}; known: {_feed_names()}"
        )
    empty = sorted(name for name, url in (urls or {}).items() if not url.strip())
    if empty:  # not "use the official URL": the user meant another one and did not say it
        raise ConfigError(f"--url {empty[0]}= gives no URL")
    if not 0 < deadline <= _LONGEST_DEADLINE:  # also refuses nan and inf
        raise ConfigError(
            f"--deadline takes seconds above 0 and up to {_LONGEST_DEADLINE:g}, got {deadline:g}"
        )
    loaded = []
    for feed in FEEDS:
        if only and feed.name not in only and feed.source not in only:
            continue
        progress = on_fetch(feed) if on_fetch else None
        url = (urls or {}).get(feed.name)
        path = fetch_feed(feed, cache_dir, mirror, url, progress, deadline)
        loaded.append((feed, path, load_source(feed.source, path)[1]))
    return loaded


def store_feeds(
    store: Store, loaded: list[LoadedFeed], allow_foreign: bool = False
) -> list[ImportReport]:
    """Write fetched feeds in one transaction, one import record each."""
    reports = []
    with store.write() as writer:
        for feed, path, objects in loaded:
            reports.append(
                writer.upsert(
                    objects,
                    source=feed.source,
                    path=str(path.absolute()),
                    allow_foreign=allow_foreign,
                )
            )
        if any(r.added or r.updated for r in reports):
            _refresh_derived(writer, [objects for _, _, objects in loaded])
    return reports


# Incident facts read incident objects and ATT&CK technique names, nothing else (an actor's
# nexus is joined at query time): other imports need not rebuild them.
_FACT_TYPES = frozenset({"incident", "attack-pattern"})


def _refresh_derived(writer: Writer, batches: list[list[dict]]) -> None:
    resolve_actors(writer)
    # Links read relationships, actors, campaigns, incidents, reports and vulnerabilities: nearly
    # any import can change them, and rebuilding takes well under a second.
    refresh_cve_links(writer)
    if any(obj.get("type") in _FACT_TYPES for objects in batches for obj in objects):
        refresh_incident_facts(writer)


def _feed_names() -> str:
    return ", ".join(f.name for f in FEEDS)
