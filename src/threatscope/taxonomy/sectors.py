"""The sector tree and the maps from source vocabularies onto it, loaded from `sectors.toml`."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from functools import cache
from importlib.resources import files

from threatscope.errors import ConfigError

__all__ = ["SCHEMES", "VICTIM_SCHEMES", "Sector", "SectorTaxonomy", "sectors"]

SCHEMES = ("stix", "naics", "eurepoc", "cfr")  # "text" (prose keywords) is for extraction
# The vocabularies a victim sector of attribution evidence or of an actor's victimology may come
# in, in the order `victim_sectors` tries them. One order for both, so evidence and profiles
# can never map one spelling to two different sectors.
VICTIM_SCHEMES = ("stix", "cfr", "eurepoc")


@dataclass(frozen=True)
class Sector:
    id: str
    label: str
    parent: str | None
    also: tuple[str, ...] = ()


@dataclass
class SectorTaxonomy:
    by_id: dict[str, Sector]
    maps: dict[str, dict[str, tuple[str, ...]]]
    _within: dict[str, frozenset[str]] = field(default_factory=dict)

    def label(self, sector_id: str) -> str:
        sector = self.by_id.get(sector_id)
        return sector.label if sector else sector_id

    def ancestors(self, sector_id: str) -> list[str]:
        """The sector, its parents up to the root, and the groups any of them count in."""
        seen: list[str] = []
        pending = [sector_id]
        while pending:
            current = pending.pop()
            if current in seen or current not in self.by_id:
                continue
            seen.append(current)
            sector = self.by_id[current]
            if sector.parent:
                pending.append(sector.parent)
            pending.extend(sector.also)
        return seen

    def children(self, sector_id: str | None) -> list[str]:
        """The sectors whose parent is `sector_id` (None: the top-level sectors), in file order."""
        return [s for s, v in self.by_id.items() if v.parent == sector_id]

    def outline(self) -> str:
        """Every sector id, each followed by its sub-sectors in brackets, for error messages."""

        def branch(sector_id: str) -> str:
            below = self.children(sector_id)
            return sector_id + (f" ({', '.join(branch(c) for c in below)})" if below else "")

        return ", ".join(branch(s) for s in self.children(None))

    def resolve(self, text: str) -> str:
        """The sector id a user means: its id or its label, in any case, with spaces or hyphens
        (`Semiconductors`, `critical infrastructure`, `IT services and managed service
        providers`)."""
        key = " ".join(text.split()).casefold()
        for sector in self.by_id.values():
            if key in (sector.id, sector.id.replace("-", " "), sector.label.casefold()):
                return sector.id
        raise ConfigError(
            f"unknown sector {text!r}; sectors (sub-sectors in brackets): {self.outline()}"
        )

    def within(self, sector_id: str) -> frozenset[str]:
        """Every sector a filter on `sector_id` includes: itself and all that descend from it."""
        if sector_id not in self.by_id:
            sector_id = self.resolve(sector_id)
        if sector_id not in self._within:
            self._within[sector_id] = frozenset(
                s for s in self.by_id if sector_id in self.ancestors(s)
            )
        return self._within[sector_id]

    def map(self, scheme: str, value: str) -> tuple[str, ...] | None:
        """Sector ids for a source value: () for a known value that names no sector, None for
        a value no mapping covers."""
        table = self.maps[scheme]
        key = " ".join(value.split()).casefold()
        if key in self.by_id:  # our own ids are accepted in every scheme
            return (key,)
        if scheme == "naics":
            digits = key.replace("-", "")
            for end in range(len(digits), 1, -1):
                if digits[:end] in table:
                    return table[digits[:end]]
            return None
        return table.get(key)

    def victim_sectors(self, value: str) -> tuple[str, ...]:
        """Sector ids for a victim sector in any vocabulary of `VICTIM_SCHEMES`: the first
        that names a sector for it; () when none does."""
        for scheme in VICTIM_SCHEMES:
            mapped = self.map(scheme, value)
            if mapped:
                return mapped
        return ()


@cache
def sectors() -> SectorTaxonomy:
    raw = tomllib.loads(files("threatscope.taxonomy").joinpath("sectors.toml").read_text("utf-8"))
    by_id = {
        sector_id: Sector(sector_id, spec["label"], spec.get("parent"), tuple(spec.get("also", ())))
        for sector_id, spec in raw["sectors"].items()
    }
    maps = {
        scheme: {
            " ".join(value.split()).casefold(): tuple(targets) for value, targets in table.items()
        }
        for scheme, table in raw["map"].items()
    }
    for sector in by_id.values():
        for ref in (sector.parent, *sector.also):
            if ref is not None and ref not in by_id:
                raise ConfigError(f"sectors.toml: {sector.id} refers to unknown sector {ref!r}")
    for scheme, table in maps.items():
        for value, targets in table.items():
            for target in targets:
                if target not in by_id:
                    raise ConfigError(f"sectors.toml: map.{scheme} {value!r} -> unknown {target!r}")
    return SectorTaxonomy(by_id, maps)
