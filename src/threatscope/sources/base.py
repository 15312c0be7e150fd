"""The importer extension point. Built-in sources register exactly as a plugin would.

A source turns files into validated STIX 2.1 dicts and never touches the store: the ingest layer
runs it first, then writes everything it produced in one transaction.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any

from threatscope.errors import ConfigError

__all__ = ["Source", "all_sources", "get_source", "producer_identity", "register"]

Loader = Callable[[Path], list[dict[str, Any]]]
# load_mapped(path, mapping) or load_mapped(path, mapping, rejects): see ingest.load_source.
MappedLoader = Callable[..., list[dict[str, Any]]]


@dataclass(frozen=True)
class Source:
    """`load(path)` returns valid STIX 2.1 objects or raises InputError; `default_path` is used
    when the user names no path (None: a path is required). A source that reads through a
    mapping file sets `load_mapped(path, mapping)` instead and leaves `load` None.

    What a report says about the data: `citation` (who published it, where) and `licence` (the
    terms it may be used under), both None when the data brings its own (a STIX bundle, a table
    whose mapping declares them); `public` when anyone may obtain the data, which lets a report
    default to TLP:CLEAR; `selection`, for an incident source, which incidents it records."""

    name: str
    summary: str
    load: Loader | None
    default_path: Callable[[], Path] | None = None
    load_mapped: MappedLoader | None = None
    citation: str | None = None
    licence: str | None = None
    public: bool = False
    selection: str | None = None


_REGISTRY: dict[str, Source] = {}
_PLUGINS_LOADED = False


def register(source: Source) -> Source:
    _REGISTRY[source.name] = source
    return source


def _load_plugins() -> None:
    global _PLUGINS_LOADED
    if _PLUGINS_LOADED:
        return
    _PLUGINS_LOADED = True
    for entry in entry_points(group="threatscope.sources"):
        plugin = entry.load()
        if isinstance(plugin, Source):
            register(plugin)


def all_sources() -> dict[str, Source]:
    _load_plugins()
    return dict(sorted(_REGISTRY.items()))


def get_source(name: str) -> Source:
    sources = all_sources()
    if name not in sources:
        raise ConfigError(f"unknown source {name!r}; known sources: {', '.join(sources)}")
    return sources[name]


def producer_identity(identity_id: str, name: str, created: str) -> dict[str, Any]:
    """The STIX identity a converted feed names as `created_by_ref` of what it produces."""
    return {
        "type": "identity",
        "spec_version": "2.1",
        "id": identity_id,
        "created": created,
        "modified": created,
        "name": name,
        "identity_class": "organization",
    }
