"""What `KnowledgeBase` methods return: frozen dataclasses whose `as_dict()` is the CLI's JSON.

Each result's fields are declared in the order of the keys `threatscope COMMAND --json` prints,
so `as_dict()` rebuilds that document key for key (orjson keeps insertion order: the output is
byte-identical). Nested JSON (a window, a coverage table, an actor's aliases) is held frozen:
mappings as read-only proxies and lists as tuples, so no result can be changed after the fact.
A field in `_OMITTED_WHEN_NONE` is left out of `as_dict()` when it is None, as the CLI leaves
out keys that do not apply (`inferred` without `infer_nexus`, `stored` without `store`).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, fields
from pathlib import Path
from types import MappingProxyType
from typing import Any, ClassVar, Self

from threatscope.frames import data_frame

__all__ = [
    "Actor",
    "ActorList",
    "ActorSummary",
    "Attribution",
    "Candidate",
    "Export",
    "Extraction",
    "ImportHistory",
    "ImportResult",
    "Landscape",
    "NexusShare",
    "ReportFiles",
    "Result",
    "Stats",
    "TaxiiImport",
]


def freeze(value: Any) -> Any:
    """A JSON value that cannot be changed: dicts become read-only mappings, lists tuples."""
    if isinstance(value, Mapping):
        return MappingProxyType({key: freeze(item) for key, item in value.items()})
    if isinstance(value, list | tuple):
        return tuple(freeze(item) for item in value)
    return value


def thaw(value: Any) -> Any:
    """The plain JSON value back: results, mappings and tuples as dicts and lists."""
    if isinstance(value, Result):
        return value.as_dict()
    if isinstance(value, Mapping):
        return {key: thaw(item) for key, item in value.items()}
    if isinstance(value, tuple):
        return [thaw(item) for item in value]
    return value


@dataclass(frozen=True)
class Result:
    """Base of every result: `as_dict()` and `from_dict()` over the fields in key order."""

    _OMITTED_WHEN_NONE: ClassVar[frozenset[str]] = frozenset()
    # Fields for Python and the CLI's tables only, never in the JSON.
    _NOT_IN_JSON: ClassVar[frozenset[str]] = frozenset()
    # Fields holding a list of smaller results: field name -> that result's class.
    _NESTED: ClassVar[Mapping[str, type[Result]]] = MappingProxyType({})

    def as_dict(self) -> dict[str, Any]:
        return {
            field.name: thaw(getattr(self, field.name))
            for field in fields(self)
            if field.name not in self._NOT_IN_JSON
            and not (field.name in self._OMITTED_WHEN_NONE and getattr(self, field.name) is None)
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Self:
        """The result for one JSON document; a key it has no field for is a bug, not data to
        drop silently (the JSON contract would lose it)."""
        names = [field.name for field in fields(cls)]
        unknown = set(data) - set(names)
        if unknown:
            raise ValueError(f"{cls.__name__}: no field for {', '.join(sorted(unknown))}")
        values: dict[str, Any] = {}
        for name in names:
            if name not in data:
                continue  # the field's default (None) stands for a key the CLI leaves out
            nested = cls._NESTED.get(name)
            if nested is not None and data[name] is not None:
                values[name] = tuple(nested.from_dict(item) for item in data[name])
            else:
                values[name] = freeze(data[name])
        return cls(**values)


@dataclass(frozen=True)
class ImportResult(Result):
    """One import: `threatscope import --json`. `incidents` only for incident sources,
    `skipped` (row and reason of each bad row left out) only with `on_bad_row="skip"`."""

    _OMITTED_WHEN_NONE = frozenset({"incidents", "skipped"})

    import_id: int
    source: str
    path: str
    received: int
    added: int
    updated: int
    unchanged: int
    older: int
    foreign: int
    incidents: Mapping[str, Any] | None = None
    skipped: tuple[Mapping[str, Any], ...] | None = None


@dataclass(frozen=True)
class ImportHistory(Result):
    """Every import recorded: `threatscope imports --json` is `as_list()`."""

    imports: tuple[Mapping[str, Any], ...]

    def as_list(self) -> list[dict[str, Any]]:
        return thaw(self.imports)

    def __len__(self) -> int:
        return len(self.imports)


@dataclass(frozen=True)
class Stats(Result):
    """Current, non-revoked objects per STIX type and actors per nexus: `stats --json`."""

    objects: Mapping[str, int]
    relationships: int
    actors: int
    actors_by_nexus: Mapping[str, int]


@dataclass(frozen=True)
class NexusShare(Result):
    """One nexus's share of the incidents in a window, with its 95% Wilson interval."""

    nexus: str
    label: str
    count: float
    share: float
    ci95: tuple[float, float]


@dataclass(frozen=True)
class Landscape(Result):
    """Every figure of `threatscope landscape --json`; `by_nexus` typed, the rest as JSON."""

    _OMITTED_WHEN_NONE = frozenset({"inferred"})
    _NESTED = MappingProxyType({"by_nexus": NexusShare})

    window: Mapping[str, str]
    window_label: str
    filters: Mapping[str, Any]
    incidents: int
    by_nexus: tuple[NexusShare, ...]
    previous_window: Mapping[str, Any]
    trend: tuple[Mapping[str, Any], ...]
    sectors: Mapping[str, Any]
    victim_regions: Mapping[str, Any]
    incident_types: Mapping[str, Any]
    initial_access: Mapping[str, Any]
    exploited_cves: Mapping[str, Any]
    coverage: Mapping[str, Any]
    unmapped: Mapping[str, Any]
    sources: tuple[Mapping[str, Any], ...]
    inferred: Mapping[str, Any] | None = None
    warnings: tuple[Mapping[str, Any], ...] = ()
    headline: tuple[str, ...] = ()

    def to_frame(self) -> Any:
        """The nexus shares as a pandas DataFrame, one row per nexus (needs pandas)."""
        return data_frame(
            [
                {
                    "nexus": s.nexus,
                    "label": s.label,
                    "count": s.count,
                    "share": s.share,
                    "ci95_low": s.ci95[0],
                    "ci95_high": s.ci95[1],
                }
                for s in self.by_nexus
            ],
            columns=["nexus", "label", "count", "share", "ci95_low", "ci95_high"],
        )


@dataclass(frozen=True)
class ActorSummary(Result):
    """One row of `threatscope actor list --json`: counts of aliases, members and conflicts
    (`sources`, the importers its members came from, is not in the JSON)."""

    _NOT_IN_JSON = frozenset({"sources"})

    id: str
    name: str
    nexus: str | None
    external_ids: tuple[str, ...]
    aliases: int
    members: int
    conflicts: int
    sources: tuple[str, ...] = ()


@dataclass(frozen=True)
class ActorList(Result):
    """Resolved actors; `as_list()` is `threatscope actor list --json`. `nexus`: the code the
    `nexus` filter was read as ("China" -> CN), so an empty list is never silent."""

    _NESTED = MappingProxyType({"actors": ActorSummary})

    actors: tuple[ActorSummary, ...]
    nexus: str | None = None

    def as_list(self) -> list[dict[str, Any]]:
        return [actor.as_dict() for actor in self.actors]

    def __iter__(self) -> Iterator[ActorSummary]:
        return iter(self.actors)

    def __len__(self) -> int:
        return len(self.actors)

    def to_frame(self) -> Any:
        """One row per actor (needs pandas); `external_ids` joined with ", "."""
        rows = [
            actor.as_dict()
            | {"external_ids": ", ".join(actor.external_ids), "sources": ", ".join(actor.sources)}
            for actor in self.actors
        ]
        return data_frame(rows, columns=[field.name for field in fields(ActorSummary)])


@dataclass(frozen=True)
class Actor(Result):
    """One resolved actor: `threatscope actor show --json` (the stored document's keys in
    their stored, sorted order, then `other_matches` when the query matched several, then the
    CVEs it is linked to)."""

    _OMITTED_WHEN_NONE = frozenset({"nexus_claims", "other_matches"})

    aliases: tuple[Mapping[str, Any], ...]
    conflicts: tuple[Mapping[str, Any], ...]
    external_ids: tuple[str, ...]
    id: str
    members: tuple[Mapping[str, Any], ...]
    motivations: tuple[str, ...]
    name: str
    nexus: str | None
    nexus_claims: tuple[Mapping[str, Any], ...] | None = None
    other_matches: tuple[Mapping[str, Any], ...] | None = None
    cves: tuple[Mapping[str, Any], ...] = ()


@dataclass(frozen=True)
class Candidate(Result):
    """One actor the evidence may point to, with its calibrated probability and the reasons."""

    actor_id: str
    name: str
    nexus: str | None
    probability: float
    evidence: tuple[Mapping[str, Any], ...]


@dataclass(frozen=True)
class Attribution(Result):
    """`threatscope attribute --json`: candidates, nexus probabilities and the verdict."""

    _NESTED = MappingProxyType({"candidates": Candidate})

    candidates: tuple[Candidate, ...]
    nexus: tuple[Mapping[str, Any], ...]
    unknown: float
    verdict: str
    estimative: str
    evidence_used: Mapping[str, Any]
    named_actors: tuple[Mapping[str, Any], ...]
    knowledge_base: Mapping[str, Any]


@dataclass(frozen=True)
class Extraction(Result):
    """`threatscope extract --json`: IOCs, CVEs, techniques and named entities of one report;
    `stored` (what the import did) only when it was written into the knowledge base."""

    _OMITTED_WHEN_NONE = frozenset({"stored"})

    file: str
    sha256: str
    characters: int
    iocs: tuple[Mapping[str, Any], ...]
    cves: tuple[str, ...]
    techniques: tuple[Mapping[str, Any], ...]
    technique_model: str
    prose_analysed: bool
    actors: tuple[Mapping[str, Any], ...]
    malware: tuple[Mapping[str, Any], ...]
    tools: tuple[Mapping[str, Any], ...]
    countries: tuple[Mapping[str, Any], ...]
    sectors: tuple[Mapping[str, Any], ...]
    # The actor's origin as the text states it ("China-based", "on behalf of Iran").
    stated_nexus: tuple[Mapping[str, Any], ...] = ()
    stored: Mapping[str, Any] | None = None


@dataclass(frozen=True)
class ReportFiles(Result):
    """The files a report wrote (HTML, and the PDF when asked) and the TLP marking on them."""

    written: tuple[Path, ...]
    marking: str

    def as_dict(self) -> dict[str, Any]:
        return {"written": [str(path) for path in self.written], "marking": self.marking}


@dataclass(frozen=True)
class Export(Result):
    """A STIX bundle written: where, and how many objects it holds."""

    path: Path
    objects: int

    def as_dict(self) -> dict[str, Any]:
        return {"path": str(self.path), "objects": self.objects}


@dataclass(frozen=True)
class TaxiiImport(Result):
    """One pull of a TAXII collection: `threatscope import taxii --json`. `fetched`: objects the
    server sent; `added_after_used`: what the pull asked after (given, or `resumed_from`, the
    resume point stored by the previous pull); `resume_point`: where the next one starts."""

    url: str
    collection: str
    import_id: int
    fetched: int
    added: int
    updated: int
    unchanged: int
    older: int
    pages: int
    added_after_used: str | None
    resumed_from: str | None
    resume_point: str | None
