"""`import table PATH --mapping MAP.toml`: incidents from any CSV, TSV or JSON Lines file.

The mapping file says which column holds what (like OpenCTI's CSV mappers); see the README for a
full example. Every row is checked before anything is written: by default a bad row (wrong number
of cells, an unreadable date, an actor category no value map covers, …) stops the import with its
row number; given a `rejects` list, bad rows are left out and listed there instead. A row with an
empty date cell is not bad: it becomes an undated incident, as in EuRepoC's own importer.
Rows are numbered from 1 for the first row after the header (JSON Lines: by line).
"""

from __future__ import annotations

import csv
import hashlib
import io
import tomllib
from collections import Counter
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

import orjson

from threatscope import json_input
from threatscope.errors import InputError
from threatscope.files import MiB, read_input
from threatscope.ids import is_cve_id
from threatscope.sources.base import Source, register
from threatscope.sources.incident_fields import initiator, normalise_types, victim
from threatscope.sources.incidents import (
    IncidentRecord,
    dataset_version,
    incident_objects,
    source_identity,
)
from threatscope.taxonomy import SCHEMES

__all__ = ["RejectedRow", "load_mapping", "load_table", "table_to_stix", "write_rejects"]

FIELDS = (
    "id",
    "date",
    "end_date",
    "title",
    "description",
    "actor",
    "actor_country",
    "actor_category",
    "confidence",
    "victim",
    "victim_country",
    "sector",
    "incident_type",
    "initial_access",
    "cve",
    "source_url",
)
_SETTINGS = {"date_format", "sector_scheme", "format", "delimiter", "source", "encoding"}
_SECTIONS = ("columns", "split", "values", "defaults")
_FORMATS = ("csv", "tsv", "jsonl")


@dataclass(frozen=True)
class RejectedRow:
    """A row `--on-bad-row skip` left out: its number, why, and its cells as the file wrote
    them (one CSV line, or the JSON line)."""

    row: int
    reason: str
    content: str
# What a report credits the data with (see the README); optional, beside `source`.
_CREDITS = ("citation", "licence")


# A mapping is written by hand: a few kilobytes.
MAPPING_MAX_BYTES = 4 * MiB


def load_mapping(path: Path) -> dict[str, Any]:
    text = read_input(path, "a TOML mapping file", MAPPING_MAX_BYTES)
    try:
        mapping = tomllib.loads(text.decode("utf-8"))
    except (UnicodeDecodeError, tomllib.TOMLDecodeError) as error:
        raise InputError(str(path), f"not a valid TOML mapping: {error}") from None
    file = str(path)
    # A misspelt section (`[value.sector]`) would otherwise be ignored without a word.
    unknown_sections = sorted(set(mapping) - set(_SECTIONS))
    if unknown_sections:
        raise InputError(
            file,
            f"unknown key(s) {', '.join(map(repr, unknown_sections))}; known: "
            + ", ".join(_SECTIONS),
        )
    columns = mapping.get("columns")
    if not isinstance(columns, dict) or "date" not in columns:
        raise InputError(file, "[columns] must name at least the `date` column")
    unknown = set(columns) - set(FIELDS) - _SETTINGS - set(_CREDITS)
    if unknown:
        raise InputError(
            file,
            f"[columns]: unknown field(s) {', '.join(sorted(unknown))}; known: "
            + ", ".join(FIELDS),
        )
    for section in ("split", "values", "defaults"):
        if not isinstance(mapping.setdefault(section, {}), dict):
            raise InputError(file, f"[{section}] must be a table")
    for section in ("split", "defaults"):
        for name in mapping[section]:
            if name not in FIELDS:
                raise InputError(
                    file, f"[{section}]: unknown field {name!r}; known: {', '.join(FIELDS)}"
                )
    for name, table in mapping["values"].items():
        if name not in FIELDS:
            raise InputError(
                file, f"[values.{name}]: unknown field {name!r}; known: {', '.join(FIELDS)}"
            )
        if not isinstance(table, dict):
            raise InputError(file, f"[values.{name}] must be a table")
    _check_types(file, mapping)
    return mapping


def _check_types(file: str, mapping: dict[str, Any]) -> None:
    """Every value the mapping gives has the type its key needs, so a wrong one (`sector = 1`,
    `delimiter = ";;"`) is an error naming the key rather than a crash, or a silent no-op,
    somewhere inside the import."""
    columns = mapping["columns"]
    for key, value in columns.items():
        if not isinstance(value, str):
            raise InputError(file, f"[columns] {key} must be a string, got {value!r}")
    scheme = columns.get("sector_scheme", "stix")
    if scheme not in SCHEMES:
        raise InputError(file, f"sector_scheme {scheme!r}: expected one of {', '.join(SCHEMES)}")
    kind = columns.get("format")
    if kind is not None and kind not in _FORMATS:
        raise InputError(file, f"[columns] format {kind!r}: expected one of {', '.join(_FORMATS)}")
    delimiter = columns.get("delimiter")
    if delimiter is not None and (len(delimiter) != 1 or delimiter in '"\r\n'):
        raise InputError(
            file,
            f"[columns] delimiter {delimiter!r}: expected one character (not a quote or a line"
            " break)",
        )
    encoding = columns.get("encoding")
    if encoding is not None and not _text_encoding(encoding):
        raise InputError(file, f"[columns] encoding {encoding!r}: not a known text encoding")
    if not str(columns.get("source", "table")).strip():
        raise InputError(file, "[columns] source must not be empty")
    for field, separator in mapping["split"].items():
        if not isinstance(separator, str) or not separator:
            raise InputError(
                file, f"[split] {field} must be a non-empty string, got {separator!r}"
            )
    for field, table in mapping["values"].items():
        for value, mapped in table.items():
            if not _cell_value(mapped):
                raise InputError(
                    file,
                    f"[values.{field}] {value!r} must map to a string or a whole number,"
                    f" got {mapped!r}",
                )
    for field, default in mapping["defaults"].items():
        if not _cell_value(default):
            raise InputError(
                file, f"[defaults] {field} must be a string or a whole number, got {default!r}"
            )


def _cell_value(value: Any) -> bool:
    """What a mapping may put where a cell was: text, or a whole number (`confidence = 80`)."""
    return isinstance(value, str) or (isinstance(value, int) and not isinstance(value, bool))


def _text_encoding(name: str) -> bool:
    try:
        "".encode(name)  # LookupError for unknown names and for codecs not of text (hex, rot13)
    except (LookupError, ValueError):  # ValueError: a name with a NUL in it
        return False
    return True


def load_table(
    path: Path, mapping_path: Path, rejects: list[RejectedRow] | None = None
) -> list[dict[str, Any]]:
    """`rejects`: None stops at the first bad row; a list collects the bad rows, left out."""
    mapping = load_mapping(mapping_path)
    data = read_input(path, "a CSV, TSV or JSON Lines file")
    encoding = mapping["columns"].get("encoding", "utf-8-sig")
    try:
        text = data.decode(encoding)
    except (UnicodeDecodeError, LookupError) as error:
        raise InputError(str(path), f"cannot decode as {encoding}: {error}") from None
    return table_to_stix(text, str(path), mapping, rejects)


def write_rejects(path: Path, rejects: list[RejectedRow]) -> None:
    """The rows `--on-bad-row skip` left out, as CSV: row, reason, content."""
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["row", "reason", "content"])
    writer.writerows([r.row, r.reason, r.content] for r in rejects)
    path.write_text(buffer.getvalue(), encoding="utf-8")


# (row number, the row's cells by column, why it is bad or None, the row as the file wrote it)
_RawRow = tuple[int, dict[str, Any], str | None, str]


def _kind(file: str, columns: dict[str, Any]) -> str:
    return str(
        columns.get("format")
        or {".tsv": "tsv", ".jsonl": "jsonl", ".ndjson": "jsonl"}.get(
            Path(file).suffix.lower(), "csv"
        )
    )


def _rows(text: str, file: str, columns: dict[str, Any]) -> list[_RawRow]:
    kind = _kind(file, columns)
    if kind == "jsonl":
        return _json_lines(text)
    delimiter = columns.get("delimiter") or ("\t" if kind == "tsv" else ",")
    # A cell as long as the file (EuRepoC's importer allows the same): the file is in memory
    # already, and the csv module's default limit (131,072 characters) is no safety.
    csv.field_size_limit(1 << 30)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        header = next(reader, [])
    except csv.Error as error:
        raise InputError(file, f"unreadable header: {error}") from None
    missing = [
        f"{field} -> {columns[field]!r}"
        for field in FIELDS
        if isinstance(columns.get(field), str) and columns[field] not in header
    ]
    if missing:
        raise InputError(file, f"mapped column(s) not in the header: {', '.join(missing)}")
    rows: list[_RawRow] = []
    number = 0
    while True:
        try:
            cells = next(reader)
        except StopIteration:
            break
        except csv.Error as error:
            raise InputError(file, f"unreadable CSV: {error}", where=f"row {number + 1}") from None
        if not cells:  # a blank line, as csv.DictReader skips it
            continue
        number += 1
        line = io.StringIO(newline="")
        csv.writer(line, delimiter=delimiter, lineterminator="").writerow(cells)
        problem = None
        if len(cells) != len(header):
            # Most often a truncated last line, or a cell with an unquoted delimiter.
            problem = f"wrong number of cells for the header ({len(cells)}, not {len(header)})"
        rows.append((number, dict(zip(header, cells, strict=False)), problem, line.getvalue()))
    return rows


def _json_lines(text: str) -> list[_RawRow]:
    rows: list[_RawRow] = []
    # JSON Lines ends lines at \n only; str.splitlines would also split inside strings at
    # U+0085 or U+2028.
    for number, line in enumerate(text.split("\n"), start=1):
        if not line.strip():
            continue
        try:
            row = json_input.loads(line)
        except json_input.JSONInputError as error:
            rows.append((number, {}, str(error), line))
            continue
        if not isinstance(row, dict):
            rows.append((number, {}, "expected a JSON object", line))
            continue
        rows.append((number, row, None, line))
    return rows


class _Row:
    """One row read through the mapping: column lookup, splitting, value maps, defaults."""

    def __init__(self, row: dict[str, Any], mapping: dict[str, Any]) -> None:
        self.row = row
        self.columns = mapping["columns"]
        self.split = mapping["split"]
        self.values = mapping["values"]
        self.defaults = mapping["defaults"]

    def many(self, field: str) -> list[str]:
        column = self.columns.get(field)
        raw = self.row.get(column) if isinstance(column, str) else None
        if raw is None or raw == "":
            raw = self.defaults.get(field)
        if raw is None:
            return []
        items = raw if isinstance(raw, list) else [raw]
        out: list[str] = []
        for item in items:
            text = str(item)
            parts = text.split(self.split[field]) if field in self.split else [text]
            for part in parts:
                part = part.strip()
                if part:
                    mapped = self.values.get(field, {}).get(part, part)
                    out.append(str(mapped))
        return out

    def one(self, field: str) -> str | None:
        values = self.many(field)
        return values[0] if values else None


def _parse_date(value: str | None, fmt: str | None, field: str) -> date | None:
    if value is None:
        return None
    try:
        if fmt:
            return datetime.strptime(value, fmt).date()
        text = value.strip()
        if len(text) == 4:
            return date(int(text), 1, 1)
        if len(text) == 7:
            return date(int(text[:4]), int(text[5:7]), 1)
        return date.fromisoformat(text[:10])
    except ValueError:
        expected = fmt or "YYYY-MM-DD, YYYY-MM or YYYY"
        raise ValueError(f"{field} {value!r} does not match {expected}") from None


def table_to_stix(
    text: str,
    file: str,
    mapping: dict[str, Any],
    rejects: list[RejectedRow] | None = None,
) -> list[dict[str, Any]]:
    """`rejects`: None stops at the first bad row with an InputError naming it; a list collects
    the bad rows, which are left out."""
    columns = mapping["columns"]
    source = str(columns.get("source") or "table")
    unit = "line" if _kind(file, columns) == "jsonl" else "row"

    def reject(number: int, reason: str, content: str) -> None:
        if rejects is None:
            raise InputError(file, reason, where=f"{unit} {number}")
        rejects.append(RejectedRow(number, reason, content))

    raw_rows = _rows(text, file, columns)
    parsed: list[tuple[int, _Row, date | None, str]] = []
    for number, raw, problem, content in raw_rows:
        if problem is not None:
            reject(number, problem, content)
            continue
        row = _Row(raw, mapping)
        try:
            first = _parse_date(row.one("date"), columns.get("date_format"), "date")
        except ValueError as error:
            reject(number, str(error), content)
            continue
        parsed.append((number, row, first, content))
    modified = dataset_version(first for _, _, first, _ in parsed)
    seen: Counter[str] = Counter()
    first_row_of: dict[str, int] = {}  # id -> the row that used it first
    objects: list[dict[str, Any]] = []
    for number, row, first, content in parsed:
        try:
            record = _record(row, number, file, source, first, modified, seen, columns)
        except ValueError as error:
            reject(number, str(error), content)
            continue
        # A second row with the same id would name the same STIX objects: the store would keep
        # one of them while the summary counted both.
        used = first_row_of.setdefault(record.key, number)
        if used != number:
            reject(number, f"id {record.key!r} already used by {unit} {used}", content)
            continue
        objects.extend(incident_objects(record))
    if rejects is not None:
        rejects.sort(key=lambda rejected: rejected.row)  # two passes found them
    if any(columns.get(key) for key in _CREDITS):
        objects.append(
            source_identity(source, columns.get("citation"), columns.get("licence"), modified)
        )
    return objects


def _record(
    row: _Row,
    number: int,
    file: str,
    source: str,
    first: date | None,
    modified: str,
    seen: Counter[str],
    columns: dict[str, Any],
) -> IncidentRecord:
    last = _parse_date(row.one("end_date"), columns.get("date_format"), "end_date")
    names, countries = row.many("actor"), row.many("actor_country")
    categories, confidences = row.many("actor_category"), row.many("confidence")
    initiators = []
    for i in range(max(len(names), len(countries), len(categories))):
        confidence = _pick(confidences, i)
        if confidence is not None and not (confidence.isdigit() and 0 <= int(confidence) <= 100):
            raise ValueError(f"confidence {confidence!r} is not an integer 0-100")
        initiators.append(
            initiator(
                _pick(names, i),
                _pick(countries, i),
                _pick(categories, i) or "unknown",
                confidence=int(confidence) if confidence is not None else None,
            )
        )
    scheme = columns.get("sector_scheme", "stix")
    # No country column still gives one victim, of unknown country.
    victim_countries: list[str | None] = list(row.many("victim_country")) or [None]
    victims = [
        victim(row.one("victim"), country, row.many("sector"), scheme)
        for country in victim_countries
    ]
    types, _ = normalise_types(row.many("incident_type"))
    key = row.one("id")
    if key is None:
        digest = hashlib.sha256(orjson.dumps(row.row, option=orjson.OPT_SORT_KEYS)).hexdigest()
        seen[digest] += 1
        key = f"row:{digest[:24]}:{seen[digest]}"
    return IncidentRecord(
        key=key,
        source=source,
        file=Path(file).name,
        row=number,
        name=row.one("title") or f"{source} incident {key}",
        modified=modified,
        description=row.one("description"),
        first_seen=first,
        last_seen=last,
        types=types,
        initiators=initiators,
        victims=victims,
        initial_access=row.many("initial_access"),
        cves=_cves(row.many("cve")),
        urls=[u for u in row.many("source_url") if u.startswith(("http://", "https://"))],
        external_id=row.one("id"),
    )


def _cves(values: list[str]) -> list[str]:
    cves = [value.strip().upper() for value in values]
    for cve in cves:
        if not is_cve_id(cve):
            raise ValueError(f"cve {cve!r} is not a CVE id (CVE-YYYY-NNNN)")
    return cves


def _pick(values: list[str], index: int) -> str | None:
    if len(values) == 1:
        return values[0]
    return values[index] if index < len(values) else None


register(
    Source(
        "table",
        "Incidents from any CSV/TSV/JSON Lines file through a mapping (--mapping MAP.toml)",
        load=None,
        load_mapped=load_table,
    )
)
