"""`import reports PATH…`: each report file becomes one incident, built from what `extract` finds.

Fields and the rules that fill them (each recorded with a confidence and the sentence it came
from in `x_threatscope_evidence`):

* date: the first date written in the first paragraph (a report's dateline), else the latest
  date anywhere in the text, never one after today; else the incident is undated. The file's
  modification time is not used: it says when the file was copied, not when anything happened.
* victims: the countries `attribution.victims` reads as victims, and the sectors named in a
  sentence that speaks of targeting (down to the technology sub-sectors of the sector
  taxonomy); when no sentence does, every sector the report names, at a lower confidence;
  when it names none, the sector a model learnt from EuRepoC's coded incidents reads in its
  words (`sources.report_sectors`, when the shared data holds EuRepoC), at its probability.
* initiator: the actors the report attributes the activity to (`attribution.named`), resolved
  against the knowledge base, so the actor's nexus follows through actor resolution; when it
  names none, a country it writes as the attacker's ("Chinese state-sponsored actors").
* techniques, CVEs, IOCs (those on no MISP warning list), and the file (path and SHA-256) as
  provenance.

The incident itself is built by `sources.incidents` like every other incident source's, keyed
by the file's SHA-256: importing the same report twice names the same incident.
"""

from __future__ import annotations

import hashlib
import re
from bisect import bisect_right
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from threatscope.actors.described_nexus import DEMONYMS
from threatscope.attribution.named import _DENIED, _attributes, named_actors
from threatscope.attribution.victims import _ACTOR_AFTER, _ACTOR_BEFORE, victim_countries
from threatscope.errors import InputError
from threatscope.extract.document import _model_techniques, _technique_mentions
from threatscope.extract.entities import build_gazetteer, find_entities
from threatscope.extract.gazetteer import Gazetteer, sentences
from threatscope.extract.iocs import extract_iocs, unique_iocs
from threatscope.extract.techniques import TechniqueModel
from threatscope.extract.text import read_report
from threatscope.sources.incidents import (
    IncidentRecord,
    Initiator,
    Victim,
    incident_objects,
    source_identity,
)
from threatscope.sources.report_sectors import SectorModel
from threatscope.sources.reports import REPORT_SUFFIXES
from threatscope.store.base import Store

__all__ = [
    "ReportIncident",
    "load_reports",
    "report_date",
    "report_files",
    "report_incident",
]

SOURCE = "reports"
# ATT&CK Enterprise's Initial Access techniques (TA0001, v18): the landscape counts these.
_INITIAL_ACCESS = frozenset(
    {"T1189", "T1190", "T1133", "T1200", "T1566", "T1091", "T1195", "T1199", "T1078", "T1659"}
)
# Confidences (0-100, as STIX writes them) of each rule: how often a field so found is right
# is measured on EuRepoC in bench/bench_import_reports.py.
DATELINE, LATEST_DATE = 80, 50
SECTOR_WITH_CUE, SECTOR_MENTIONED = 70, 40
SECTOR_LEARNT_MAX = 35  # a sector read from the words, never surer than one written out
COUNTRY_VICTIM, COUNTRY_MENTIONED = 70, 40
NAMED_ACTOR, ATTACKER_COUNTRY, ACTOR_MENTIONED = 70, 50, 40
IOC_LISTED = 90  # written in the report and on no warning list; still the report's claim

_MONTHS = {
    name: number
    for number, names in enumerate(
        (
            ("january", "jan"),
            ("february", "feb"),
            ("march", "mar"),
            ("april", "apr"),
            ("may",),
            ("june", "jun"),
            ("july", "jul"),
            ("august", "aug"),
            ("september", "sep", "sept"),
            ("october", "oct"),
            ("november", "nov"),
            ("december", "dec"),
        ),
        start=1,
    )
    for name in names
}
_MONTH = r"(?P<month>" + "|".join(sorted(_MONTHS, key=len, reverse=True)) + r")\.?"
_YEAR = r"(?P<year>(?:19|20)\d\d)"
_DAY = r"(?P<day>[0-3]?\d)(?:st|nd|rd|th)?"
_DATES = [
    re.compile(r"\b(?P<year>(?:19|20)\d\d)-(?P<month>[01]\d)-(?P<day>[0-3]\d)\b"),
    re.compile(rf"\b{_MONTH}\s+{_DAY},?\s+{_YEAR}\b", re.IGNORECASE),
    re.compile(rf"\b{_DAY}\s+(?:of\s+)?{_MONTH},?\s+{_YEAR}\b", re.IGNORECASE),
]
_ANY_COMPANY = "private-sector"
_ATTACKER_NAME = re.compile(
    r"\b(?:" + "|".join(sorted(map(re.escape, DEMONYMS), key=len, reverse=True)) + r")\b",
    re.IGNORECASE,
)
# "Russian state-sponsored": the attacker's country is a state's only when the words say so.
_STATE_WORDS = re.compile(
    r"^[\s-]*(?:state|government|military|intelligence|nation[\s-]state)", re.IGNORECASE
)


@dataclass
class Finding:
    """One extracted value, how sure the rule is (0-100) and the sentence that says it."""

    value: Any
    confidence: int
    sentence: str

    def as_dict(self) -> dict[str, Any]:
        return {"value": self.value, "confidence": self.confidence, "sentence": self.sentence}


@dataclass
class ReportIncident:
    """What one report says about the incident it describes."""

    file: str
    sha256: str
    title: str
    day: Finding | None
    countries: list[Finding] = field(default_factory=list)
    sectors: list[Finding] = field(default_factory=list)
    actors: list[Finding] = field(default_factory=list)  # value: {"id", "name", "nexus"}
    attacker_countries: list[Finding] = field(default_factory=list)  # value: {"country", "state"}
    techniques: list[Finding] = field(default_factory=list)
    cves: list[Finding] = field(default_factory=list)
    iocs: list[Finding] = field(default_factory=list)  # value: {"type", "value"}

    def nexus(self) -> str | None:
        """The attacker's country: a named actor's nexus first, else the country written."""
        for actor in self.actors:
            if actor.value.get("nexus"):
                return str(actor.value["nexus"])
        return self.attacker_countries[0].value["country"] if self.attacker_countries else None


def report_files(paths: Iterable[Path]) -> list[Path]:
    """The files named, and the report files (by suffix) under each directory, sorted."""
    found: list[Path] = []
    for path in paths:
        if path.is_dir():
            found += sorted(
                p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in REPORT_SUFFIXES
            )
        elif path.exists():
            found.append(path)
        else:
            raise InputError(str(path), "no such file or directory")
    return list(dict.fromkeys(found))


def report_date(text: str, today: date | None = None) -> Finding | None:
    """The dateline: the first date of the first paragraph; else the latest date of the text;
    never a date after `today` (a typo or a placeholder); None when the text has no date."""
    today = today or datetime.now(UTC).date()
    found = sorted(_dates(text), key=lambda d: d[0])
    valid = [(at, day) for at, day in found if day <= today]
    if not valid:
        return None
    first_paragraph = _first_paragraph_end(text)
    at, day = valid[0]
    if at < first_paragraph:
        return Finding(day.isoformat(), DATELINE, _sentence_at(text, at))
    at, day = max(valid, key=lambda d: (d[1], -d[0]))
    return Finding(day.isoformat(), LATEST_DATE, _sentence_at(text, at))


def _dates(text: str) -> Iterable[tuple[int, date]]:
    for pattern in _DATES:
        for match in pattern.finditer(text):
            month = match.group("month")
            number = int(month) if month.isdigit() else _MONTHS[month.casefold()]
            try:
                yield match.start(), date(int(match.group("year")), number, int(match.group("day")))
            except ValueError:  # 31 February is no date
                continue


def _first_paragraph_end(text: str) -> int:
    """Where the first paragraph with words in it ends (a title line alone is not one)."""
    start = len(text) - len(text.lstrip())
    blank = re.compile(r"\n[ \t]*\n")
    for match in blank.finditer(text, start):
        if len(text[start : match.start()].split()) > 12:
            return match.start()
    return len(text)


class _Sentences:
    """The sentence around any offset of one text, split once (a report with a thousand CVEs
    must not be split a thousand times)."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.bounds = list(sentences(text))
        self.starts = [start for start, _ in self.bounds]

    def at(self, offset: int) -> str:
        index = bisect_right(self.starts, offset) - 1
        if index < 0:
            return ""
        start, end = self.bounds[index]
        return " ".join(self.text[start:end].split()) if offset < end else ""


def _sentence_at(text: str, at: int) -> str:
    return _Sentences(text).at(at)


def _first_sentence(mentions: Iterable[dict[str, Any]]) -> str:
    for mention in mentions:
        if mention.get("sentence"):
            return " ".join(str(mention["sentence"]).split())
    return ""


def report_incident(
    text: str,
    file: str,
    sha256: str,
    gazetteer: Gazetteer,
    store: Store | None,
    model: TechniqueModel | None = None,
    today: date | None = None,
    sector_model: SectorModel | None = None,
) -> ReportIncident:
    """Everything the incident needs from one report's text."""
    entities = find_entities(gazetteer, text)
    attackers = _attacker_countries(text)
    countries = [c for c in entities["countries"] if c["id"] in victim_countries([c])]
    victims = [
        Finding(c["id"], COUNTRY_VICTIM, _victim_sentence(c["mentions"])) for c in countries
    ] or _countries_named(text, entities["countries"], {a.value["country"] for a in attackers})
    cued = [
        Finding(s["id"], SECTOR_WITH_CUE, _victim_sentence(s["mentions"]))
        for s in entities["sectors"]
        if victim_countries([{"id": s["id"], "mentions": s["mentions"]}])
    ]
    sectors = cued or [
        Finding(s["id"], SECTOR_MENTIONED, _first_sentence(s["mentions"]))
        for s in entities["sectors"]
    ]
    if any(s.value != _ANY_COMPANY for s in sectors):
        # "a power company" is a company of the power sector: the generic word says no more.
        sectors = [s for s in sectors if s.value != _ANY_COMPANY]
    if not sectors and sector_model is not None:
        sectors = _learnt_sector(text, sector_model)
    named = named_actors(entities["actors"])
    nexus = _actor_nexus(store, list(named))
    actors = [
        Finding(
            {"id": actor["id"], "name": actor["name"], "nexus": nexus.get(actor["id"])},
            NAMED_ACTOR,
            _attribution_sentence(actor["mentions"]),
        )
        for actor in entities["actors"]
        if actor["id"] in named
    ]
    if not actors and not attackers:
        actors = _actors_mentioned(entities["actors"], store)
    split = _Sentences(text)
    if model is not None:
        found = _model_techniques(text, model)
    else:
        found = _technique_mentions(text, store)
    techniques = [
        Finding(
            t["id"],
            round(100 * float(t["confidence"])),
            split.at(t["evidence"][0]["start"]) if t["evidence"] else "",
        )
        for t in found
    ]
    cves: dict[str, Finding] = {}
    iocs: list[Finding] = []
    for ioc in unique_iocs(extract_iocs(text)):
        if ioc.type == "cve":
            cves.setdefault(ioc.value, Finding(ioc.value, 100, split.at(ioc.start)))
        elif not ioc.warninglists:  # a public resolver or a top site is no indicator
            value = {"type": str(ioc.type), "value": ioc.value}
            iocs.append(Finding(value, IOC_LISTED, split.at(ioc.start)))
    return ReportIncident(
        file=file,
        sha256=sha256,
        title=_title(text, file),
        day=report_date(text, today),
        countries=victims,
        sectors=sectors,
        actors=actors,
        attacker_countries=attackers,
        techniques=techniques,
        cves=sorted(cves.values(), key=lambda f: f.value),
        iocs=iocs,
    )


def _learnt_sector(text: str, model: SectorModel) -> list[Finding]:
    split = _Sentences(text)
    written = [" ".join(text[start:end].split()) for start, end in split.bounds]
    guess = model.guess(text, written)
    if guess is None:
        return []
    confidence = min(SECTOR_LEARNT_MAX, round(100 * guess.probability))
    return [Finding(guess.sector, confidence, guess.sentence)]


def _actors_mentioned(
    mentioned: list[dict[str, Any]], store: Store | None
) -> list[Finding]:
    """When the report attributes the activity to no one in so many words: the actor it names
    most ("The hacking group Patchwork conducted…"), unless only ever in contrast ("unlike
    APT28"), at a lower confidence."""
    for actor in mentioned:
        if not any(_plain_mention(m) for m in actor["mentions"]):
            continue
        nexus = _actor_nexus(store, [actor["id"]]).get(actor["id"])
        value = {"id": actor["id"], "name": actor["name"], "nexus": nexus}
        return [Finding(value, ACTOR_MENTIONED, _first_sentence(actor["mentions"]))]
    return []


def _plain_mention(mention: dict[str, Any]) -> bool:
    sentence, written = str(mention.get("sentence") or ""), str(mention.get("text") or "")
    at = sentence.find(written) if written else -1
    return at >= 0 and not _DENIED.search(sentence[max(0, at - 80) : at])


def _victim_sentence(mentions: list[dict[str, Any]]) -> str:
    for mention in mentions:
        if victim_countries([{"id": "x", "mentions": [mention]}]):
            return " ".join(str(mention["sentence"]).split())
    return _first_sentence(mentions)


def _attribution_sentence(mentions: list[dict[str, Any]]) -> str:
    for mention in mentions:
        if _attributes(mention):
            return " ".join(str(mention.get("sentence") or "").split())
    return _first_sentence(mentions)


def _attacker_countries(text: str) -> list[Finding]:
    """Countries written as the attacker's ("Chinese threat actors", "linked to Iran"), most
    often written first: the demonyms and names the actor descriptions use, each in an
    attribution phrase of the victim rule (`attribution.victims`)."""
    found: dict[str, Finding] = {}
    counts: Counter[str] = Counter()
    for start, end in sentences(text):
        sentence = text[start:end]
        for match in _ATTACKER_NAME.finditer(sentence):
            after = sentence[match.end() : match.end() + 40]
            before = sentence[max(0, match.start() - 40) : match.start()]
            if not (_ACTOR_AFTER.match(after) or _ACTOR_BEFORE.search(before)):
                continue
            country = DEMONYMS[" ".join(match.group(0).split()).casefold()]
            counts[country] += 1
            state = bool(_STATE_WORDS.match(after))
            previous = found.get(country)
            if previous is None or (state and not previous.value["state"]):
                value = {"country": country, "state": state}
                found[country] = Finding(value, ATTACKER_COUNTRY, " ".join(sentence.split()))
    return [found[country] for country, _ in counts.most_common()]


def _countries_named(
    text: str, countries: list[dict[str, Any]], attackers: set[str]
) -> list[Finding]:
    """When no sentence reads as targeting a country: the countries the report names, by name
    or adjective ("Venezuelan army computer"), other than as the attacker's, in the order
    written, at a lower confidence."""
    places = [(m["start"], c["id"], str(m["sentence"]), m["text"]) for c in countries
              for m in c["mentions"]]  # fmt: skip
    for start, end in sentences(text):
        sentence = text[start:end]
        for match in _ATTACKER_NAME.finditer(sentence):
            country = DEMONYMS[" ".join(match.group(0).split()).casefold()]
            places.append((start + match.start(), country, sentence, match.group(0)))
    found: dict[str, Finding] = {}
    for _, country, sentence, written in sorted(places, key=lambda p: p[0]):
        at = sentence.find(written)
        after = sentence[at + len(written) : at + len(written) + 40]
        before = sentence[max(0, at - 40) : at]
        if country in attackers or country in found or at < 0:
            continue
        if _ACTOR_AFTER.match(after) or _ACTOR_BEFORE.search(before):
            continue
        found[country] = Finding(country, COUNTRY_MENTIONED, " ".join(sentence.split()))
    return list(found.values())


def _actor_nexus(store: Store | None, actor_ids: list[str]) -> dict[str, str]:
    if store is None or not actor_ids:
        return {}
    return store.actor_nexus(actor_ids)


def _attack_ids(store: Store | None, actor_ids: list[str]) -> dict[str, str]:
    """The ATT&CK group id of each resolved actor that has one: it links the report's actor to
    ATT&CK's however the report spelt the name."""
    if store is None or not actor_ids:
        return {}
    return store.actor_attack_group_ids(actor_ids)


def _title(text: str, file: str) -> str:
    for line in text.splitlines():
        words = " ".join(line.strip(" #*=").split())
        if words:
            return words[:200]
    return Path(file).name


def incident_record(
    report: ReportIncident, modified: str, group_ids: dict[str, str]
) -> IncidentRecord:
    day = date.fromisoformat(report.day.value) if report.day else None
    sectors = [s.value for s in report.sectors]
    victims = [Victim(None, c.value, list(sectors), raw_country=c.value) for c in report.countries]
    if not victims and sectors:
        victims = [Victim(None, None, sectors)]
    initiators = []
    for actor in report.actors:
        name = actor.value["name"]
        group = group_ids.get(actor.value["id"])
        initiators.append(
            Initiator(
                name=f"{name}/Group {group}" if group else name,
                country=None,  # the resolved actor's nexus applies, as it changes
                category="state-affiliated" if actor.value.get("nexus") else "unknown",
                confidence=actor.confidence,
            )
        )
    if not initiators:
        initiators = [
            Initiator(
                name=None,
                country=c.value["country"],
                category="state-affiliated" if c.value["state"] else "unknown",
                raw_country=c.value["country"],
                confidence=c.confidence,
            )
            for c in report.attacker_countries
        ]
    return IncidentRecord(
        key=report.sha256,
        source=SOURCE,
        file=report.file,
        row=1,
        name=report.title,
        modified=modified,
        first_seen=day,
        last_seen=day,
        initiators=initiators,
        victims=victims,
        initial_access=[t.value for t in report.techniques if t.value[:5] in _INITIAL_ACCESS],
        cves=[c.value for c in report.cves],
        external_id=Path(report.file).name,
    )


def report_objects(
    report: ReportIncident, modified: str, group_ids: dict[str, str]
) -> list[dict[str, Any]]:
    objects = incident_objects(incident_record(report, modified, group_ids))
    incident = objects[0]
    incident["external_references"].append(
        {"source_name": "file", "description": report.file, "hashes": {"SHA-256": report.sha256}}
    )
    incident["x_threatscope_techniques"] = [t.as_dict() for t in report.techniques]
    incident["x_threatscope_evidence"] = {
        "date": report.day.as_dict() if report.day else None,
        "victim_countries": [c.as_dict() for c in report.countries],
        "sectors": [s.as_dict() for s in report.sectors],
        "actors": [a.as_dict() for a in report.actors],
        "attacker_countries": [c.as_dict() for c in report.attacker_countries],
        "cves": [c.as_dict() for c in report.cves],
        "iocs": [i.as_dict() for i in report.iocs],
    }
    return objects


def load_reports(
    paths: Iterable[Path],
    store: Store | None,
    model: TechniqueModel | None = None,
    progress: Callable[[int, int], None] | None = None,
    today: date | None = None,
    sector_model: SectorModel | None = None,
) -> list[dict[str, Any]]:
    """STIX objects for every report under `paths`; raises InputError on the first file that
    cannot be read, before anything is written. `sector_model`: see `report_sectors`."""
    files = report_files(paths)
    if not files:
        raise InputError(", ".join(map(str, paths)), "no report files (.txt, .md, .html, .pdf)")
    gazetteer = build_gazetteer(store)
    reports, versions = [], []
    for done, path in enumerate(files):
        data, text = read_report(path)
        versions.append(_file_version(path))
        digest = hashlib.sha256(data).hexdigest()
        reports.append(
            report_incident(text, str(path), digest, gazetteer, store, model, today, sector_model)
        )
        if progress:
            progress(done + 1, len(files))
    group_ids = _attack_ids(store, [a.value["id"] for r in reports for a in r.actors])
    objects: dict[str, dict[str, Any]] = {}
    for report, version in zip(reports, versions, strict=True):
        for obj in report_objects(report, version, group_ids):
            objects.setdefault(obj["id"], obj)
    identity = source_identity(SOURCE, None, None, max(versions))
    return [identity, *objects.values()]


def _file_version(path: Path) -> str:
    """The file's modification time versions its objects (as `extract` does): importing an
    unchanged report again changes nothing, an edited one replaces what it said before."""
    # A clock set wrong can stamp a file in the future, which the store refuses as a version.
    moment = min(datetime.fromtimestamp(path.stat().st_mtime, UTC), datetime.now(UTC))
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
