"""`import eurepoc PATH`: the European Repository of Cyber Incidents as STIX incidents.

Two layouts are recognised from the header:

* the official Global Database (84 columns, `ID` first): list cells are Python literals such as
  `['China']` or `[['Not available']]`; initiators are parallel lists (`initiator_name`,
  `initiator_country`, `initiator_category`, `initiator_category_subcode`), receivers are
  parallel lists with one inner list of categories (and sub-categories) per receiver;
* the reduced 13-column export: multi-valued cells joined with `; `, receivers separated by
  ` - ` in `receiver_category` and `receiver_region`. It has no incident id, so a row's key is a
  hash of its content (an unchanged row keeps its id across exports).

`modified` is the latest start date in the file: a newer export replaces older versions of the
same incident and re-importing a file changes nothing.
"""

from __future__ import annotations

import ast
import csv
import hashlib
import io
from collections import Counter
from datetime import date
from pathlib import Path
from typing import Any

from threatscope.errors import InputError
from threatscope.files import read_input
from threatscope.sources.base import Source, register
from threatscope.sources.incident_fields import initiator, normalise_types, parse_day, victim
from threatscope.sources.incidents import IncidentRecord, dataset_version, incident_objects

__all__ = ["eurepoc_to_stix", "load_eurepoc"]

SOURCE = "eurepoc"
_GLOBAL_COLUMNS = {"ID", "name", "start_date", "receiver_category_subcode", "initiator_category"}
_REDUCED_COLUMNS = {
    "start_date",
    "incident_type",
    "receiver_country",
    "receiver_category",
    "initiator_country",
    "initiator_category",
}
_MISSING = {"not available", "unknown", "none", ""}


def load_eurepoc(path: Path) -> list[dict[str, Any]]:
    data = read_input(path, "a EuRepoC CSV export")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise InputError(
            str(path), f"not UTF-8 text ({error.reason} at byte {error.start})"
        ) from None
    return eurepoc_to_stix(text, str(path))


def eurepoc_to_stix(text: str, file: str) -> list[dict[str, Any]]:
    csv.field_size_limit(1 << 30)
    reader = csv.DictReader(io.StringIO(text, newline=""))
    header = set(reader.fieldnames or ())
    if header >= _GLOBAL_COLUMNS:
        convert = _global_record
    elif header >= _REDUCED_COLUMNS:
        convert = _reduced_record
    else:
        raise InputError(
            file,
            "not a EuRepoC export: expected the Global Database columns (ID, name, start_date, …)"
            f" or the reduced export's ({', '.join(sorted(_REDUCED_COLUMNS))})",
        )
    rows = list(reader)
    modified = _dataset_version(rows, file)
    seen: Counter[str] = Counter()
    objects: list[dict[str, Any]] = []
    for number, row in enumerate(rows, start=1):
        # Data rows count from 1 after the header (cells may span lines, so lines would not).
        where = f"row {number}"
        if None in row or any(v is None for v in row.values()):
            raise InputError(file, "wrong number of cells for the header", where=where)
        try:
            record = convert(row, number, file, modified, seen)
        except (ValueError, SyntaxError, TypeError) as error:
            raise InputError(file, str(error), where=where) from None
        objects.extend(incident_objects(record))
    return objects


def _dataset_version(rows: list[dict[str, str]], file: str) -> str:
    days: list[date] = []
    for number, row in enumerate(rows, start=1):
        try:
            day = parse_day(row.get("start_date"))
        except ValueError:
            raise InputError(
                file, f"start_date {row.get('start_date')!r} is not a date", f"row {number}"
            ) from None
        if day:
            days.append(day)
    return dataset_version(days)


# -- the official Global Database ------------------------------------------------------------


def _literal(row: dict[str, str], column: str) -> list[Any]:
    cell = (row.get(column) or "").strip()
    if not cell:
        return []
    if not cell.startswith("["):
        return [cell]
    try:
        value = ast.literal_eval(cell)
    except (ValueError, SyntaxError):
        raise ValueError(f"column {column!r}: not a list literal: {cell[:80]!r}") from None
    if not isinstance(value, list):
        raise ValueError(f"column {column!r}: expected a list, got {cell[:80]!r}")
    return value


def _at(values: list[Any], index: int) -> Any:
    """Parallel lists are sometimes shorter than their siblings; a single value applies to all."""
    if len(values) == 1:
        return values[0]
    return values[index] if index < len(values) else None


def _strings(value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, list):
        return [s for v in value for s in _strings(v)]
    return [str(value)]


def _semicolons(cell: str | None) -> list[str]:
    return [part.strip() for part in (cell or "").split(";") if part.strip()]


def _global_record(
    row: dict[str, str], number: int, file: str, modified: str, seen: Counter[str]
) -> IncidentRecord:
    first_seen, last_seen = _dates(row)
    types, _ = normalise_types(_semicolons(row.get("incident_type")))
    names = _literal(row, "initiator_name")
    countries = _literal(row, "initiator_country")
    categories = _literal(row, "initiator_category")
    subcodes = _literal(row, "initiator_category_subcode")
    initiators = [
        initiator(
            _first(_at(names, i)),
            _first(_at(countries, i)),
            _first(_at(categories, i)),
            _first(_at(subcodes, i)),
        )
        for i in range(max(len(countries), len(categories)))
    ]
    receiver_names = _literal(row, "receiver_name")
    receiver_countries = _literal(row, "receiver_country")
    receiver_categories = _literal(row, "receiver_category")
    receiver_subcodes = _literal(row, "receiver_category_subcode")
    victims = []
    for i in range(max(len(receiver_countries), len(receiver_categories))):
        categories_i = _strings(_at(receiver_categories, i))
        subcodes_i = _strings(_at(receiver_subcodes, i)) if receiver_subcodes else []
        raw_sectors = [
            f"{category} > {sub}" if sub else category
            for category, sub in zip(
                categories_i, [*subcodes_i, *[""] * len(categories_i)], strict=False
            )
        ]
        victims.append(
            victim(
                _first(_at(receiver_names, i)),
                _first(_at(receiver_countries, i)),
                raw_sectors,
                "eurepoc",
            )
        )
    access = [
        a
        for a in _semicolons(_first_cell(row, "MITRE_initial_access"))
        if a.casefold() not in _MISSING
    ]
    zero_day = {"yes": True, "no": False}.get((row.get("zero_days") or "").strip().casefold())
    return IncidentRecord(
        key=f"id:{row['ID'].strip()}",
        source=SOURCE,
        file=Path(file).name,
        row=number,
        name=(row.get("name") or "").strip() or f"EuRepoC incident {row['ID']}",
        modified=modified,
        description=(row.get("description") or "").strip() or None,
        first_seen=first_seen,
        last_seen=last_seen,
        types=types,
        initiators=initiators,
        victims=victims,
        initial_access=access,
        zero_day=zero_day,
        urls=[u for u in _strings(_literal(row, "sources_url")) if u.startswith("http")],
        external_id=row["ID"].strip(),
    )


def _first(value: Any) -> str | None:
    values = _strings(value)
    return values[0] if values else None


def _first_cell(row: dict[str, str], column: str) -> str:
    values = _strings(_literal(row, column))
    return "; ".join(values)


def _dates(row: dict[str, str]) -> tuple[date | None, date | None]:
    try:
        first = parse_day(row.get("start_date"))
    except ValueError:
        raise ValueError(f"start_date {row.get('start_date')!r} is not a date") from None
    try:
        last = parse_day(row.get("end_date"))
    except ValueError:
        raise ValueError(f"end_date {row.get('end_date')!r} is not a date") from None
    return first, last


# -- the reduced 13-column export ---------------------------------------------------------------


def _reduced_record(
    row: dict[str, str], number: int, file: str, modified: str, seen: Counter[str]
) -> IncidentRecord:
    first_seen, _ = _dates(row)
    types, _ = normalise_types(_semicolons(row.get("incident_type")))
    countries = _semicolons(row.get("initiator_country"))
    categories = _semicolons(row.get("initiator_category"))
    initiators = [
        initiator(None, _at(countries, i), _at(categories, i))
        for i in range(max(len(countries), len(categories)))
    ]
    receiver_countries = _semicolons(row.get("receiver_country"))
    per_receiver = [part.strip() for part in (row.get("receiver_category") or "").split(" - ")]
    victims = [
        victim(None, _at(receiver_countries, i), _semicolons(_at(per_receiver, i)), "eurepoc")
        for i in range(max(len(receiver_countries), len([p for p in per_receiver if p])))
    ]
    digest = hashlib.sha256(
        "\x1f".join(f"{k}={v}" for k, v in sorted(row.items())).encode()
    ).hexdigest()[:24]
    seen[digest] += 1  # identical rows are distinct incidents in the export
    key = f"row:{digest}:{seen[digest]}"
    label = ", ".join(dict.fromkeys(receiver_countries)) or "unknown victims"
    return IncidentRecord(
        key=key,
        source=SOURCE,
        file=Path(file).name,
        row=number,
        name=f"{row.get('incident_type') or 'Incident'} against {label}"
        + (f" ({first_seen.isoformat()})" if first_seen else ""),
        modified=modified,
        first_seen=first_seen,
        types=types,
        initiators=initiators,
        victims=victims,
        external_id=key,
    )


register(
    Source(
        "eurepoc",
        "EuRepoC cyber-incident exports (Global Database 1.1 or the reduced 13-column CSV)",
        load_eurepoc,
        citation="European Repository of Cyber Incidents (EuRepoC), https://eurepoc.eu",
        licence="EuRepoC's terms of use (open-access data; cite EuRepoC), https://eurepoc.eu",
        public=True,
        # EuRepoC's scope (eurepoc.eu/methodology): the three inclusion criteria.
        selection="EuRepoC records cyber incidents that were publicly reported, that breached the "
        "confidentiality, integrity or availability of information, and that have a political "
        "dimension (political or state targets, or a link to state actors)",
    )
)
