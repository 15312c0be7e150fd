"""The sector tree and the maps from source vocabularies onto it, loaded from `sectors.toml`."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from functools import cache
from importlib.resources import files

from threatscope.errors import ConfigError

__all__ = ["SCHEMES", "Sector", "SectorTaxonomy", "sectors"]

SCHEMES = ("stix", "naics", "eurepoc", "cfr")  # "text" (prose keywords) is for extraction


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

    def within(self, sector_id: str) -> frozenset[str]:
        """Every sector a filter on `sector_id` includes: itself and all that descend from it."""
        if sector_id not in self.by_id:
            known = ", ".join(sorted(s for s, v in self.by_id.items() if v.parent is None))
            raise ConfigError(f"unknown sector {sector_id!r}; top-level sectors: {known}")
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
