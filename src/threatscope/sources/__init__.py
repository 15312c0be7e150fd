"""Importers, one module each. Importing this package registers the built-in sources."""

from threatscope.sources import attack, kev, misp_galaxy, stix_bundle  # noqa: F401  (registration)
from threatscope.sources.base import Source, all_sources, get_source, register

__all__ = ["Source", "all_sources", "get_source", "register"]
