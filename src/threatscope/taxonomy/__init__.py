"""Shared vocabularies: victim sectors, regions and actor categories, kept as data."""

from threatscope.taxonomy.categories import CATEGORIES, STATE_CATEGORIES, normalise_category
from threatscope.taxonomy.regions import (
    country_regions,
    known_regions,
    region_catalogue,
    region_label,
    region_members,
    regions_of,
    resolve_region,
)
from threatscope.taxonomy.sectors import SCHEMES, SectorTaxonomy, sectors

__all__ = [
    "CATEGORIES",
    "SCHEMES",
    "STATE_CATEGORIES",
    "SectorTaxonomy",
    "country_regions",
    "known_regions",
    "normalise_category",
    "region_catalogue",
    "region_label",
    "region_members",
    "regions_of",
    "resolve_region",
    "sectors",
]
