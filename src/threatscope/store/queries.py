"""The questions analysis asks the knowledge base, one named method each.

Everything above `store/` reads derived tables and objects through these protocols, never through
SQL: a PostgreSQL backend answers the same questions with its own SQL. Days are day numbers
(days since `landscape.facts.EPOCH`); documents come back parsed (dicts), never as cursors.
The landscape's working set (`select_landscape` … `end_landscape`) lives in the backend between
those calls, so its aggregations can run where the data is.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

__all__ = [
    "ActorQueries",
    "Analytics",
    "DocumentQueries",
    "IncidentAttribute",
    "IncidentSelection",
    "LandscapeQueries",
    "VictimFilter",
]

IncidentAttribute = Literal["victim_sector", "initiator_category"]
"""A coded incident attribute a source may or may not record."""


@dataclass(frozen=True)
class VictimFilter:
    """Incidents pass when one victim has a sector in `sectors` and a country in `countries`
    (None: any; an empty tuple: no victim passes)."""

    sectors: tuple[str, ...] | None = None
    countries: tuple[str, ...] | None = None


@dataclass(frozen=True)
class IncidentSelection:
    """Which initiator rows a landscape counts: those dated `first_day` to `last_day` of one of
    `categories` (from `sources`, all when empty) with a victim passing `victims`. An initiator
    of one of `state_categories` speaks for its country, any other for its resolved actor."""

    first_day: int
    last_day: int
    categories: tuple[str, ...]
    state_categories: tuple[str, ...]
    sources: tuple[str, ...] = ()
    victims: VictimFilter = field(default_factory=VictimFilter)


class LandscapeQueries(Protocol):
    """Incident facts: what `landscape` counts and checks."""

    def latest_incident_day(self) -> int | None:
        """The latest incident day of any source."""
        ...

    def incident_source_names(self) -> list[str]:
        """Every source with incidents, in name order."""
        ...

    def incident_source_summaries(self) -> list[tuple[str, int, int, int | None, int | None]]:
        """(source, incidents, dated incidents, first day, last day), in source order."""
        ...

    def source_has_incident_between(self, source: str, first_day: int, last_day: int) -> bool:
        """Whether `source` has an incident dated within the days."""
        ...

    def source_incident_count(self, source: str, first_day: int, last_day: int) -> int:
        """How many incidents of `source` are dated within the days."""
        ...

    def source_codes_any(
        self, source: str, attribute: IncidentAttribute, values: Iterable[str]
    ) -> bool:
        """Whether any incident of `source` codes `attribute` as one of `values`."""
        ...

    def source_coded_values(self, source: str, attribute: IncidentAttribute) -> set[str]:
        """Every value of `attribute` the incidents of `source` code."""
        ...

    def latest_import_finished(self) -> str | None:
        """When the latest import finished (ISO timestamp), if any did."""
        ...

    def dated_incident_counts(self) -> list[tuple[str, int]]:
        """(source, dated incidents) per source, in source order."""
        ...

    def source_day_counts_before(self, source: str, day: int) -> list[tuple[int, int]]:
        """(day, incidents) of `source` before `day`, by day."""
        ...

    def source_latest_days(self, source: str, earliest: int, limit: int) -> list[int]:
        """The latest `limit` incident days of `source` from `earliest` on, latest first (one
        entry per incident)."""
        ...

    def source_incidents_after(self, source: str, day: int) -> int:
        """How many incidents of `source` are dated after `day`."""
        ...

    def source_day_at(self, source: str, earliest: int, offset: int) -> int | None:
        """The incident day of `source` at `offset` from its latest (from `earliest` on)."""
        ...

    def source_first_day(self, source: str, earliest: int) -> int | None:
        """The first incident day of `source` from `earliest` on."""
        ...

    def select_landscape(self, selection: IncidentSelection) -> None:
        """Start a landscape: one (day, nexus, incident, weight) row per selected incident and
        nexus (weight 1/k over its k nexuses; `unknown` only when it has no known one)."""
        ...

    def landscape_lookups(
        self, sector_roots: Sequence[tuple[str, str]], country_regions: Sequence[tuple[str, str]]
    ) -> None:
        """The (sector, top-level sector) and (country, region) pairs breakdowns group by."""
        ...

    def landscape_window(self, first_day: int, last_day: int) -> None:
        """Make the selected rows within these days the window the breakdowns count."""
        ...

    def landscape_nexus_counts(
        self, first_day: int, last_day: int, weighted: bool
    ) -> tuple[int, list[tuple[str, float]]]:
        """Distinct selected incidents within the days, and (nexus, count or weight sum)."""
        ...

    def landscape_day_counts(
        self, first_day: int, last_day: int, weighted: bool
    ) -> tuple[list[tuple[int, str, float]], dict[int, int]]:
        """(day, nexus, count or weight sum) of the selected rows within the days, and the
        distinct incidents per day."""
        ...

    def landscape_group_counts(
        self, by: Literal["sector", "region"]
    ) -> tuple[dict[tuple[str, str], int], dict[str, int], dict[str, int]]:
        """Window incidents per (nexus, top-level victim sector or region), per group (distinct
        incidents), and window rows per nexus."""
        ...

    def landscape_label_counts(
        self, kind: str
    ) -> tuple[list[tuple[str, int]], list[tuple[str, str, int]]]:
        """Window incidents per label value of `kind`, most first, and per (nexus, value)."""
        ...

    def landscape_lacking(self) -> dict[str, int]:
        """Window rows of unknown nexus (`nexus`) and window incidents lacking `victim_sector`,
        `victim_country`, `type`, `technique` or `cve`."""
        ...

    def end_landscape(self) -> None:
        """Drop the landscape's working set."""
        ...

    def label_value_counts(self, kinds: Sequence[str]) -> list[tuple[str, str, int]]:
        """(kind, value, incidents) over the whole knowledge base for labels of `kinds`."""
        ...

    def incident_import_path(self, source: str) -> str | None:
        """The file of an import that brought an incident of `source`."""
        ...

    def unattributed_incidents(
        self, first_day: int, last_day: int, victims: VictimFilter, counted: Sequence[str]
    ) -> list[tuple[int, int]]:
        """(incident, day) within the days, passing `victims`, outside the landscape's known
        nexuses and with initiators only of `counted` categories."""
        ...

    def incident_victims_and_labels(
        self, facts: Sequence[int]
    ) -> tuple[list[tuple[int, str | None, str | None]], list[tuple[int, str, str]]]:
        """(incident, sector, country) victims and (incident, kind, value) technique and CVE
        labels of the incidents."""
        ...


class ActorQueries(Protocol):
    """Actors, their members and what ATT&CK, MISP, incidents and reports say of them."""

    def actor_rows(self) -> list[tuple[str, str, str | None]]:
        """(id, name, nexus) of every resolved actor, by id."""
        ...

    def actor_members(self) -> dict[str, str]:
        """Member object id -> the resolved actor it belongs to."""
        ...

    def actor_member_pairs(self) -> list[tuple[str, str]]:
        """(object id, actor id) of every member, by object id."""
        ...

    def import_summary(self) -> tuple[int | None, int]:
        """The latest import id and the number of imports."""
        ...

    def holds_source(self, source: str) -> bool:
        """Whether any stored object came from `source`."""
        ...

    def actor_name_variants(self, actor_ids: Iterable[str]) -> set[str]:
        """Every name of the actors: their own, their members' names, aliases and ATT&CK ids."""
        ...

    def actor_nexus(self, actor_ids: Sequence[str]) -> dict[str, str]:
        """Actor id -> nexus, for those of `actor_ids` with one."""
        ...

    def actor_attack_group_ids(self, actor_ids: Sequence[str]) -> dict[str, str]:
        """Actor id -> the lowest ATT&CK group id (G…) among its members."""
        ...

    def current_object_ids(self, types: Sequence[str]) -> set[str]:
        """Ids of current, not deprecated objects of `types`."""
        ...

    def current_objects_by_id(self, ids: Sequence[str]) -> dict[str, dict[str, Any]]:
        """The current (non-revoked) objects among `ids`."""
        ...

    def vulnerability_names(self) -> list[tuple[str, str | None]]:
        """(id, name) of current vulnerabilities."""
        ...

    def vulnerability_by_name(self, name: str) -> dict[str, Any] | None:
        """A vulnerability object named `name`."""
        ...

    def vulnerabilities_named(self, names: Sequence[str]) -> dict[str, dict[str, Any]]:
        """Upper-cased name -> the current vulnerability of that name, for `names`."""
        ...

    def ransomware_cve_names(self) -> set[str]:
        """CVEs CISA KEV marks as known to be used by ransomware campaigns."""
        ...

    def name_and_attack_id(self, object_id: str) -> tuple[str | None, str | None] | None:
        """An object's name and ATT&CK id; None when it is not stored."""
        ...

    def cve_relationships(self) -> Iterator[tuple[dict[str, Any], str]]:
        """Current relationships from a group, actor or campaign that target a vulnerability
        or mention a CVE, with the importer of each."""
        ...

    def holders_mentioning_cves(self) -> Iterator[tuple[dict[str, Any], str]]:
        """Current groups, actors and campaigns whose document mentions a CVE, with importer."""
        ...

    def incidents_mentioning_cves(self) -> Iterator[tuple[dict[str, Any], str]]:
        """Current incidents whose document mentions a CVE, with importer."""
        ...

    def current_reports(self) -> Iterator[tuple[dict[str, Any], str]]:
        """Current report objects, with importer."""
        ...

    def attributions(self, prefix: str) -> list[tuple[str, str]]:
        """(source, target) of current attributed-to relationships from `prefix` objects."""
        ...

    def stored_cve_links(self) -> list[tuple[str, str, str, str, str, str, list[str]]] | None:
        """The derived actor -> CVE links (holder, cve, kind, via, label, origin, citations),
        ordered; None when the knowledge base predates them."""
        ...

    def attack_techniques(self) -> list[tuple[str, str, str | None]]:
        """(object id, ATT&CK id, name) of current, not deprecated techniques."""
        ...

    def attack_technique_names(self) -> dict[str, str | None]:
        """ATT&CK id -> name of current techniques."""
        ...

    def attack_pattern_ids(self, attack_ids: Sequence[str]) -> dict[str, str]:
        """ATT&CK id -> object id of the current techniques among `attack_ids`."""
        ...

    def technique_descriptions(self) -> list[str | None]:
        """The description of every technique."""
        ...

    def software_names(self) -> dict[str, str | None]:
        """Object id -> name of current, not deprecated malware and tools."""
        ...

    def software_aliases(self) -> list[tuple[str, str]]:
        """(normalised alias, object id) of current, not deprecated malware and tools."""
        ...

    def group_attack_ids(self) -> dict[str, str]:
        """Intrusion-set object id -> its ATT&CK id."""
        ...

    def current_campaigns(self) -> Iterator[dict[str, Any]]:
        """Current, not deprecated campaign objects."""
        ...

    def actor_relationships(self) -> Iterator[tuple[str, str, str, dict[str, Any] | None]]:
        """(source, type, target, document) of current uses, attributed-to and targets
        relationships; the document only for uses/targets from a group, actor or campaign."""
        ...

    def actor_object_docs(self) -> Iterator[tuple[dict[str, Any], str]]:
        """Current intrusion-set and threat-actor objects, with importer."""
        ...

    def named_initiators(self) -> list[tuple[int, int | None, str]]:
        """(incident, day, actor ref) of every initiator naming an actor."""
        ...

    def incident_victims(self, facts: Iterable[int]) -> list[tuple[int, str | None, str | None]]:
        """(incident, country, sector) of the incidents' victims."""
        ...

    def value_relationships(self) -> list[tuple[str, str, str]]:
        """(source, type, target) of current indicates, uses-infrastructure and
        infrastructure consists-of relationships."""
        ...

    def current_sightings(self) -> Iterator[dict[str, Any]]:
        """Current sighting objects."""
        ...

    def relationships_citing(self, text: str) -> set[str]:
        """Ids of relationships whose document contains `text` (a report's URL slug)."""
        ...

    def gazetteer_actor_names(self) -> list[tuple[str, str, str]]:
        """(alias or ATT&CK id, actor id, actor name) the gazetteer finds actors by."""
        ...

    def gazetteer_software_names(self) -> list[tuple[str, str, str | None, str]]:
        """(alias, object id, name, type) of current malware and tools, by object id."""
        ...


class DocumentQueries(Protocol):
    """What a report credits and marks."""

    def marking_definitions(self) -> list[dict[str, Any]]:
        """Every marking-definition object."""
        ...

    def marking_ref_counts(self) -> list[tuple[str | None, int]]:
        """(marking ref, current objects carrying it as object or granular marking)."""
        ...

    def changing_imports(self) -> list[tuple[str, str, str | None]]:
        """(source, path, finished) of every import that added or updated objects, in order."""
        ...

    def object_sources(self) -> list[str]:
        """The importers of current objects, in name order."""
        ...

    def declared_sources(self) -> list[tuple[str, str | None, str | None]]:
        """(source, citation, licence) declared by identity objects of table mappings."""
        ...

    def table_import_sources(self) -> list[tuple[str, str, str | None]]:
        """(incident source, path, finished) of the latest table import of each source."""
        ...

    def attack_matrix_domains(self) -> list[str | None]:
        """The x_mitre_domains (JSON text) of every imported ATT&CK matrix."""
        ...

    def attack_collection_versions(self) -> list[str | None]:
        """The x_mitre_version of every imported ATT&CK collection."""
        ...

    def latest_modified(self, source: str, stix_type: str) -> str | None:
        """The latest `modified` of `stix_type` objects from `source`."""
        ...


class Analytics(LandscapeQueries, ActorQueries, DocumentQueries, Protocol):
    """Every read question; a store and a write transaction both answer them."""
