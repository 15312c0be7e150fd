"""Victim regions: UN M49 continent and sub-region of each country, EU and NATO membership
(`regions.csv`), and names, aliases and further groups such as Five Eyes (`regions.toml`)."""

from __future__ import annotations

import csv
import re
import tomllib
from functools import cache
from importlib.resources import files
from typing import Any

from threatscope.errors import ConfigError

__all__ = [
    "country_regions",
    "known_regions",
    "region_catalogue",
    "region_label",
    "region_members",
    "regions_of",
    "resolve_region",
]


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


@cache
def _described() -> dict[str, dict[str, Any]]:
    text = files("threatscope.taxonomy").joinpath("regions.toml").read_text("utf-8")
    return tomllib.loads(text)["regions"]


def _key(text: str) -> str:
    # "South-East Asia", "southeast asia" and "SOUTHEAST-ASIA" are one name.
    return re.sub(r"[^0-9a-z]+", "", text.casefold())


@cache
def _members() -> dict[str, frozenset[str]]:
    """Every region id -> its countries: regions.csv's columns, then regions.toml's groups."""
    found: dict[str, set[str]] = {}
    for country, regions in _table().items():
        for region in regions:
            found.setdefault(region, set()).add(country)
    described = _described()

    def expand(region: str, path: tuple[str, ...]) -> set[str]:
        if region in found:
            return found[region]
        if region in path or "members" not in described.get(region, {}):
            where = path[-1] if path else region
            raise ConfigError(f"regions.toml: {where} lists unknown or circular {region!r}")
        countries: set[str] = set()
        for member in described[region]["members"]:
            if member in _table():
                countries.add(member)
            else:
                countries |= expand(member, (*path, region))
        found[region] = countries
        return countries

    for region, spec in described.items():
        if "members" in spec:
            expand(region, ())
        elif region not in found:
            raise ConfigError(f"regions.toml: {region} has no members and is not in regions.csv")
    return {region: frozenset(countries) for region, countries in found.items()}


@cache
def _names() -> dict[str, str]:
    """Normalised id, label and alias -> region id."""
    names: dict[str, str] = {}
    for region in _members():
        spec = _described().get(region, {})
        for name in (region, spec.get("label", ""), *spec.get("aliases", ())):
            if name:
                names.setdefault(_key(name), region)
    return names


def country_regions() -> dict[str, tuple[str, ...]]:
    """Every known country with its regions of regions.csv, continent first."""
    return dict(_table())


def regions_of(country: str | None) -> tuple[str, ...]:
    """`DE` -> ("europe", "western-europe", "eu", "nato")."""
    return _table().get(country or "", ())


@cache
def known_regions() -> tuple[str, ...]:
    return tuple(sorted(_members()))


def resolve_region(text: str) -> str:
    """The region id for an id, label or alias (`Southeast Asia` -> south-eastern-asia)."""
    region = _names().get(_key(text))
    if region is None:
        raise ConfigError(
            f"unknown region {text!r}; known: {', '.join(known_regions())}"
            " (`threatscope regions` lists their names and countries)"
        )
    return region


def region_members(region: str) -> frozenset[str]:
    """Countries in a region (id, label or alias in any case, e.g. `Europe`, `eastern-asia`,
    `EU`, `Five Eyes`, `APAC`)."""
    return _members()[resolve_region(region)]


def region_label(region: str) -> str:
    spec = _described().get(region)
    return spec["label"] if spec else region.replace("-", " ").title()


def _kind(region: str) -> str:
    columns = {"continent": 0, "sub-region": 1}
    for kind, index in columns.items():
        if any(len(r) > index and r[index] == region for r in _table().values()):
            return kind
    return "group"


def region_catalogue() -> list[dict[str, Any]]:
    """Every region with its label, kind, aliases and member countries (`threatscope regions`)."""
    order = {"continent": 0, "sub-region": 1, "group": 2}
    rows = [
        {
            "id": region,
            "label": region_label(region),
            "kind": _kind(region),
            "aliases": list(_described().get(region, {}).get("aliases", ())),
            "countries": sorted(countries),
        }
        for region, countries in _members().items()
    ]
    return sorted(rows, key=lambda row: (order[row["kind"]], row["id"]))
