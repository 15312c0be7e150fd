"""Importers, one module each. Importing this package registers the built-in sources."""

from threatscope.sources import (  # noqa: F401  (registration)
    attack,
    eurepoc,
    kev,
    misp_galaxy,
    reports,
    stix_bundle,
    table,
)
from threatscope.sources.base import Source, all_sources, get_source, register

__all__ = ["Source", "all_sources", "get_source", "register"]
