"""Which incoming version may replace a stored object: the rules the store's upsert applies.

A newer `modified` alone proves nothing: any bundle can reuse ATT&CK's id for APT41 with
`modified` 9999-12-31 and would then outrank every official release forever. So:

- a `created` or `modified` more than FUTURE_SKEW past the clock (read once per import) is bad
  input, and the whole import is refused;
- a new version must come from the stored version's producer: the same `created_by_ref`, or,
  when neither version names one, the same importer (the source that brought the stored version:
  `eurepoc` incidents may only be replaced by `import eurepoc`). A version from anyone else is
  bad input unless the user allows foreign versions explicitly.

The importer of a version is the import's source, unless the object names the importer that
first brought it in IMPORTER_PROPERTY, which `export stix` writes so that importing an export
restores every object's importer.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from threatscope.errors import InputError
from threatscope.stix.validate import normalise_timestamp

__all__ = [
    "FUTURE_SKEW",
    "IMPORTER_PROPERTY",
    "Classified",
    "Producer",
    "classify",
    "count_foreign",
    "foreign_version",
    "importer_of",
    "newest_versions",
    "refuse_future",
]

FUTURE_SKEW = timedelta(days=1)
IMPORTER_PROPERTY = "x_threatscope_importer"


def refuse_future(objects: Sequence[dict[str, Any]], file: str, now: datetime) -> None:
    """`now` is read once per import, so every object is held to the same limit."""
    limit = (now + FUTURE_SKEW).strftime("%Y-%m-%dT%H:%M:%S.%fZ")  # as normalise_timestamp
    for obj in objects:
        for key in ("created", "modified"):
            stamp = normalise_timestamp(obj.get(key))
            if stamp is not None and stamp > limit:
                raise InputError(
                    file,
                    f"'{key}' {obj[key]} is in the future (now is {now:%Y-%m-%dT%H:%M:%SZ},"
                    " at most a day ahead is accepted): it would outrank every real later"
                    " version",
                    where=_where(obj),
                )


def importer_of(obj: dict[str, Any], source: str) -> str:
    named = obj.get(IMPORTER_PROPERTY)
    return named if isinstance(named, str) and named else source


@dataclass(frozen=True)
class Producer:
    """Who published a version: its `created_by_ref`, else the importer that brought it."""

    created_by_ref: str | None
    importer: str

    @classmethod
    def of(cls, created_by_ref: Any, importer: str) -> Producer:
        ref = created_by_ref if isinstance(created_by_ref, str) and created_by_ref else None
        return cls(ref, importer)

    def same_as(self, other: Producer) -> bool:
        if self.created_by_ref is None and other.created_by_ref is None:
            return self.importer == other.importer
        return self.created_by_ref == other.created_by_ref

    def describe(self, names: dict[str, str]) -> str:
        if self.created_by_ref is None:
            return f"importer {self.importer!r} (no created_by_ref)"
        name = names.get(self.created_by_ref)
        return self.created_by_ref + (f" ({name})" if name else "")


def foreign_version(
    obj: dict[str, Any], new: Producer, stored: Producer, file: str, names: dict[str, str]
) -> InputError:
    return InputError(
        file,
        f"a new version from {new.describe(names)} would replace the stored one from "
        f"{stored.describe(names)}; only an object's producer may publish a new version of it "
        "(--allow-foreign-versions replaces it anyway)",
        where=_where(obj),
    )


def _where(obj: dict[str, Any]) -> str:
    name = obj.get("name")
    return f"object {obj.get('id')}" + (f" ({name})" if isinstance(name, str) and name else "")


def newest_versions(objects: Sequence[dict[str, Any]]) -> dict[str, tuple[str, dict[str, Any]]]:
    """id -> (modified, object) of each id's newest version in one input."""
    newest: dict[str, tuple[str, dict[str, Any]]] = {}
    for obj in objects:
        modified = normalise_timestamp(obj.get("modified") or obj.get("created")) or ""
        held = newest.get(obj["id"])
        if held is None or modified > held[0]:
            newest[obj["id"]] = (modified, obj)
    return newest


@dataclass(slots=True)
class Classified:
    """What an import does with each newest version, against the stored ones."""

    added: int = 0
    updated: int = 0
    unchanged: int = 0
    older: int = 0
    changed: list[tuple[str, dict[str, Any]]] = field(default_factory=list)  # to write
    replaced: list[str] = field(default_factory=list)  # stored ids a newer version replaces


def classify(
    newest: Mapping[str, tuple[str, dict[str, Any]]], stored: Mapping[str, str]
) -> Classified:
    """New, newer, the same or older than the stored version (`stored`: id -> modified)."""
    result = Classified()
    for object_id, (modified, obj) in newest.items():
        current = stored.get(object_id)
        if current is None:
            result.added += 1
        elif modified > current:
            result.updated += 1
            result.replaced.append(object_id)
        else:
            if modified == current:
                result.unchanged += 1
            else:
                result.older += 1
            continue
        result.changed.append((modified, obj))
    return result


def count_foreign(
    updates: Sequence[dict[str, Any]],
    held: Mapping[str, Producer],
    source: str,
    file: str,
    allow: bool,
    names: Callable[[list[str]], dict[str, str]],
) -> int:
    """How many of `updates` (newer versions of stored objects, whose stored producers are
    `held`) come from another producer; without `allow`, the first of them is refused."""
    foreign = 0
    for obj in updates:
        new = Producer.of(obj.get("created_by_ref"), importer_of(obj, source))
        stored = held[obj["id"]]
        if new.same_as(stored):
            continue
        if not allow:
            refs = [p.created_by_ref for p in (new, stored) if p.created_by_ref]
            raise foreign_version(obj, new, stored, file, names(refs))
        foreign += 1
    return foreign
