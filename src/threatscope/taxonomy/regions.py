"""Victim regions: UN M49 continent and sub-region of each country, plus EU and NATO membership."""

from __future__ import annotations

import csv
from functools import cache
from importlib.resources import files

from threatscope.errors import ConfigError

__all__ = ["country_regions", "known_regions", "region_members", "regions_of"]


@cache
def _table() -> dict[str, tuple[str, ...]]:
    text = files("threatscope.taxonomy").joinpath("regions.csv").read_text("utf-8")
    rows = csv.DictReader(line for line in text.splitlines() if not line.startswith("#"))
    return {
        row["country"]: tuple(
            r for r in (row["continent"], row["subregion"], *row["groups"].split()) if r
        )
        for row in rows
    }


def country_regions() -> dict[str, tuple[str, ...]]:
    """Every known country with its regions, continent first."""
    return dict(_table())


def regions_of(country: str | None) -> tuple[str, ...]:
    """`DE` -> ("europe", "western-europe", "eu", "nato")."""
    return _table().get(country or "", ())


@cache
def known_regions() -> tuple[str, ...]:
    return tuple(sorted({r for regions in _table().values() for r in regions}))


def region_members(region: str) -> frozenset[str]:
    """Countries in a region (case-insensitive name, e.g. `Europe`, `eastern-asia`, `EU`)."""
    key = region.strip().casefold().replace(" ", "-")
    if key not in known_regions():
        raise ConfigError(f"unknown region {region!r}; known: {', '.join(known_regions())}")
    return frozenset(c for c, regions in _table().items() if key in regions)
