"""Which MISP warning lists know an indicator: RFC 1918, public resolvers, top sites, clouds.

The lists come from `pymispwarninglists`, which ships them inside the package (no network). Its
own `search` walks every list for every value, and its exact-match mode ignores CIDR and
hostname semantics, so we build our own index instead, once per pymispwarninglists release, and
keep it in the user's cache as an SQLite file:

- `string` and `hostname` lists (2.4 million entries): rows (value, list) of one indexed table,
  probed with the value, and for hostname lists with each of its parent domains. Opening the
  file reads none of them, so a process pays for the few values its report holds, not for
  loading millions of entries (issue 12: that load was most of `extract`'s own start-up);
- `cidr` lists: per list, its single addresses as rows of that table, and its blocks as merged
  integer ranges searched with bisect;
- `substring` lists: per list, an Aho-Corasick automaton of its entries;
- `regex` lists: compiled.
The small structures (CIDR, substring, regex, which list is which) are pickled into the file.

That file is a cache of a Python package's data, private to this module and rebuilt at will, not
the knowledge base: its SQL stays here, whatever backend holds the knowledge base (the one entry
of tests/test_store_owns_sql.py's allow-list).

A list applies to an indicator type when its `matching_attributes` name one of that type's MISP
attribute types; names are the lists' `name` fields, the keys of `pymispwarninglists`.
"""

from __future__ import annotations

import contextlib
import gc
import ipaddress
import pickle
import re
import sqlite3
import threading
from bisect import bisect_right
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import ahocorasick
import orjson

from threatscope.errors import ConfigError
from threatscope.files import write_atomically

__all__ = ["Category", "load_warninglists", "lookup"]

Category = str  # "ip", "domain", "url", "email", "md5", "sha1", "sha256", "sha512"

# MISP attribute types -> our categories. "domain|ip" is everywhere; it means the IP for CIDR
# lists and the domain for the others, which the list type sorts out below.
_ATTRIBUTE_CATEGORIES: dict[str, tuple[Category, ...]] = {
    "ip-src": ("ip",),
    "ip-dst": ("ip",),
    "ip-src|port": ("ip",),
    "ip-dst|port": ("ip",),
    "domain|ip": ("domain", "ip"),
    "domain": ("domain",),
    "hostname": ("domain",),
    "hostname|port": ("domain",),
    "url": ("url",),
    "uri": ("url",),
    "email-src": ("email",),
    "email-dst": ("email",),
    "target-email": ("email",),
    "md5": ("md5",),
    "filename|md5": ("md5",),
    "sha1": ("sha1",),
    "filename|sha1": ("sha1",),
    "sha256": ("sha256",),
    "filename|sha256": ("sha256",),
    "sha512": ("sha512",),
    "filename|sha512": ("sha512",),
}
_Ranges = tuple[list[int], list[int]]


@dataclass
class _CidrList:
    name: str
    # Most entries are single addresses: rows of the entries table under this id, as strings
    # (no parsing at build time, nothing to load at open time).
    list_id: int
    ranges: dict[int, _Ranges]  # IP version -> (starts, ends), merged and sorted

    def spans(self, version: int, first: int, last: int) -> bool:
        starts, ends = self.ranges[version]
        i = bisect_right(starts, first) - 1
        return i >= 0 and last <= ends[i]


class _SubstringList:
    """Entries searched for inside a value, all at once, by an Aho-Corasick automaton built on
    first use (a pickled automaton is many times the size of its entries)."""

    def __init__(self, name: str, entries: frozenset[str]) -> None:
        self.name = name
        self.entries = entries
        self._automaton: ahocorasick.Automaton | None = None

    def __getstate__(self) -> dict[str, Any]:
        return {"name": self.name, "entries": self.entries}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__init__(state["name"], state["entries"])  # type: ignore[misc]

    def found_in(self, value: str) -> bool:
        if self._automaton is None:
            self._automaton = _automaton(self.entries)
        # An automaton with no entry is never made, and cannot be searched.
        return len(self._automaton) > 0 and next(self._automaton.iter(value), None) is not None


@dataclass
class _Index:
    # Per category, the lists that apply to it, as (name, id of its rows in the entries table).
    exact: dict[Category, list[tuple[str, int]]] = field(default_factory=dict)
    hostname: dict[Category, list[tuple[str, int]]] = field(default_factory=dict)
    cidr: list[_CidrList] = field(default_factory=list)
    substring: dict[Category, list[_SubstringList]] = field(default_factory=dict)
    regex: dict[Category, list[tuple[str, re.Pattern[str]]]] = field(default_factory=dict)


@dataclass
class _Loaded:
    index: _Index
    entries: sqlite3.Connection  # table entries(value, list)

    def rows(self, values: list[str]) -> set[tuple[str, int]]:
        """(value, list id) of the string and hostname list entries among `values`."""
        unique = list(dict.fromkeys(values))
        with _lock:  # one connection, shared by the threads that look up
            return set(
                self.entries.execute(
                    "SELECT value, list FROM entries WHERE value IN"
                    f" ({','.join('?' * len(unique))})",
                    unique,
                )
            )


_lock = threading.RLock()
_index: _Loaded | None = None


def load_warninglists() -> None:
    """Build the index now rather than on the first lookup (it takes about a second)."""
    _get_index()


def lookup(category: Category, value: str) -> tuple[str, ...]:
    """Names of the warning lists of `category` that hold `value`, sorted.

    `value` is normalised already (lowercase domain, lowercase hash). IP values may be CIDR
    blocks: a block is on a list when the whole block lies inside one of its ranges. URLs are
    checked whole and by host.
    """
    return _lookup(category, value)


@lru_cache(maxsize=131072)
def _lookup(category: Category, value: str) -> tuple[str, ...]:
    loaded = _get_index()
    index = loaded.index
    names: set[str] = set()
    probes = [value]
    suffixes: list[str] = []
    if category in ("domain", "url"):
        host = _url_host(value) if category == "url" else value
        if host and host != value:
            probes.append(host)
        suffixes = _suffixes(host)
    hostname_lists = index.hostname.get(category, []) if suffixes else []
    exact_lists = index.exact.get(category, [])
    cidr_lists = index.cidr if category == "ip" else []
    rows = loaded.rows(probes + suffixes) if hostname_lists or exact_lists or cidr_lists else set()
    network = _parse_network(value) if cidr_lists else None
    if network is not None:
        version, first, last = network
        names.update(
            c.name
            for c in cidr_lists
            if (value, c.list_id) in rows or c.spans(version, first, last)
        )
    if rows:  # most indicators are on no list: nothing to sort out
        in_hostname_lists = {list_id for entry, list_id in rows if entry in suffixes}
        in_exact_lists = {list_id for entry, list_id in rows if entry in probes}
        names.update(name for name, list_id in hostname_lists if list_id in in_hostname_lists)
        names.update(name for name, list_id in exact_lists if list_id in in_exact_lists)
    for substring_list in index.substring.get(category, ()):
        if substring_list.found_in(value):
            names.add(substring_list.name)
    for name, pattern in index.regex.get(category, ()):
        if pattern.search(value):
            names.add(name)
    return tuple(sorted(names))


def _suffixes(host: str) -> list[str]:
    """`a.b.c` -> [`a.b.c`, `b.c`, `c`]: a hostname list entry matches itself and subdomains."""
    labels = host.split(".")
    return [".".join(labels[i:]) for i in range(len(labels))] if host else []


def _url_host(url: str) -> str:
    rest = url.partition("://")[2] or url
    authority = re.split(r"[/?#]", rest, maxsplit=1)[0]
    host = authority.rpartition("@")[2]
    if host.startswith("["):
        return host[1:].partition("]")[0]
    return host.partition(":")[0]


def _get_index() -> _Loaded:
    global _index
    if _index is None:
        with _lock:
            if _index is None:
                # Millions of new objects set off the cyclic collector again and again, for
                # nothing: none of them is in a cycle. Pausing it cuts the load time by a third.
                collecting = gc.isenabled()
                gc.disable()
                try:
                    _index = _cached_index()
                finally:
                    if collecting:
                        gc.enable()
    return _index


# Bump when _Index or anything it holds changes shape: old cache files are then ignored.
_CACHE_FORMAT = 5


def _cache_path() -> Path:
    from importlib.metadata import version

    import platformdirs

    lists = version("pymispwarninglists")
    name = f"warninglists-{lists}-{_CACHE_FORMAT}.sqlite"
    return Path(platformdirs.user_cache_dir("threatscope")) / name


def _cached_index() -> _Loaded:
    """The index as last built for this pymispwarninglists release: opening it reads only the
    small structures, where building it takes seconds (the cost every `extract` run would
    otherwise pay)."""
    path = _cache_path()
    with contextlib.suppress(sqlite3.Error, pickle.UnpicklingError, EOFError, AttributeError,
                             ImportError, TypeError, ValueError):  # fmt: skip
        if path.is_file():
            return _opened(sqlite3.connect(f"{path.as_uri()}?mode=ro", uri=True,
                                           check_same_thread=False))  # fmt: skip
    # Absent, stale or damaged: rebuild, in memory, then keep a copy for the next process.
    database = sqlite3.connect(":memory:", check_same_thread=False)
    _build(_raw_lists(), database)
    with contextlib.suppress(ConfigError):  # a read-only home still works, just slower
        write_atomically(path, database.serialize(), parents=True)
    return _opened(database)


def _opened(database: sqlite3.Connection) -> _Loaded:
    (blob,) = database.execute("SELECT value FROM meta WHERE key = 'index'").fetchone()
    index = pickle.loads(blob)
    if not isinstance(index, _Index):
        raise TypeError("not a warning-list index")
    return _Loaded(index, database)


def _raw_lists() -> list[dict[str, Any]]:
    import pymispwarninglists

    # The package's own loader parses with the json module; orjson on the same files is four
    # times faster. Should the layout change, fall back to the loader.
    root = Path(pymispwarninglists.__file__).parent / "data" / "misp-warninglists" / "lists"
    files = sorted(root.glob("*/list.json"))
    if files:
        return [orjson.loads(path.read_bytes()) for path in files]
    loaded = pymispwarninglists.WarningLists()
    return [loaded[name].warninglist for name in loaded]


def _build(raw_lists: list[dict[str, Any]], database: sqlite3.Connection) -> _Index:
    index = _Index()
    database.execute("CREATE TEMP TABLE loading (value TEXT NOT NULL, list INTEGER NOT NULL)")
    database.execute("CREATE TABLE meta (key TEXT PRIMARY KEY, value BLOB NOT NULL)")
    for list_id, raw in enumerate(raw_lists):
        name: str = raw["name"]
        kind: str = raw["type"]
        attributes = raw.get("matching_attributes") or list(_ATTRIBUTE_CATEGORIES)
        categories = {c for a in attributes for c in _ATTRIBUTE_CATEGORIES.get(a, ())}
        if kind == "cidr":
            if "ip" in categories:
                cidr_list, addresses = _cidr_list(name, list_id, raw["list"])
                index.cidr.append(cidr_list)
                database.executemany(
                    "INSERT INTO loading VALUES (?, ?)", ((entry, list_id) for entry in addresses)
                )
            continue
        if kind == "hostname":
            categories.discard("ip")
        entries = _normalised(raw["list"], strip="." if kind == "hostname" else "")
        if kind in ("string", "hostname") and categories:
            database.executemany(
                "INSERT INTO loading VALUES (?, ?)", ((entry, list_id) for entry in entries)
            )
        substring_list = _SubstringList(name, entries)
        for category in sorted(categories):
            if kind == "string":
                index.exact.setdefault(category, []).append((name, list_id))
            elif kind == "hostname":
                index.hostname.setdefault(category, []).append((name, list_id))
            elif kind == "substring":  # one list object for all its categories: one automaton
                index.substring.setdefault(category, []).append(substring_list)
            elif kind == "regex":
                for entry in raw["list"]:
                    pattern = _misp_regex(str(entry))
                    if pattern is not None:
                        index.regex.setdefault(category, []).append((name, pattern))
    # One B-tree keyed by (value, list), filled in key order (sorted by SQLite, in C): a probe
    # reads one leaf, and the file holds each entry once.
    database.execute(
        "CREATE TABLE entries (value TEXT NOT NULL, list INTEGER NOT NULL,"
        " PRIMARY KEY (value, list)) WITHOUT ROWID"
    )
    database.execute("INSERT INTO entries SELECT value, list FROM loading ORDER BY value, list")
    database.execute("DROP TABLE loading")
    database.execute(
        "INSERT INTO meta VALUES ('index', ?)",
        (pickle.dumps(index, protocol=pickle.HIGHEST_PROTOCOL),),
    )
    database.commit()
    return index


def _automaton(entries: frozenset[str]) -> ahocorasick.Automaton:
    automaton = ahocorasick.Automaton()
    for entry in entries:
        if entry:
            automaton.add_word(entry, entry)
    if len(automaton):
        automaton.make_automaton()
    return automaton


def _normalised(entries: list[Any], strip: str) -> frozenset[str]:
    """Lowercase entries without surrounding blanks (nor `strip` characters).

    Lists hold up to a million entries: one join, lower and split in C beats a million calls
    to `str.lower`; lists that need stripping are rare enough to check for first.
    """
    entries = [str(entry) for entry in entries]
    joined = "\n" + "\n".join(entries) + "\n"
    lowered = joined.lower()
    if lowered != joined:
        entries = lowered[1:-1].split("\n")
    blanks = any(blank in joined for blank in " \t\r\f\v")
    if blanks or (strip and (f"\n{strip}" in joined or f"{strip}\n" in joined)):
        entries = [entry.strip().strip(strip) for entry in entries]
    return frozenset(entries)


def _misp_regex(entry: str) -> re.Pattern[str] | None:
    """MISP writes PHP regexes, `/body/flags`; we take the body and the `i` flag."""
    match = re.fullmatch(r"/(.*)/([a-z]*)", entry, re.DOTALL)
    if match is None:
        return None
    flags = re.IGNORECASE if "i" in match.group(2) else 0
    try:
        return re.compile(match.group(1).replace("\\@", "@"), flags)
    except re.error:
        return None


def _cidr_list(name: str, list_id: int, entries: list[Any]) -> tuple[_CidrList, set[str]]:
    """The list's blocks as merged ranges, and its single addresses as written."""
    addresses: set[str] = set()
    spans: dict[int, list[tuple[int, int]]] = {4: [], 6: []}
    for entry in map(str.strip, map(str, entries)):
        if "/" not in entry and ":" not in entry:
            addresses.add(entry)
            continue
        network = _parse_network(entry)
        if network is not None:
            spans[network[0]].append(network[1:])
    return _CidrList(name, list_id, _merged_ranges(spans)), addresses


def _merged_ranges(spans: dict[int, list[tuple[int, int]]]) -> dict[int, _Ranges]:
    merged: dict[int, _Ranges] = {}
    for version, pairs in spans.items():
        starts: list[int] = []
        ends: list[int] = []
        for first, last in sorted(pairs):
            if ends and first <= ends[-1] + 1:
                ends[-1] = max(ends[-1], last)
            else:
                starts.append(first)
                ends.append(last)
        merged[version] = (starts, ends)
    return merged


def _parse_network(value: str) -> tuple[int, int, int] | None:
    """(IP version, first address, last address) of an address or CIDR block, as integers."""
    address, slash, prefix = value.partition("/")
    octets = address.split(".")
    if len(octets) == 4 and (not slash or prefix.isdigit()):
        # Most list entries are plain IPv4, which this parses ten times faster than ipaddress.
        try:
            a, b, c, d = map(int, octets)
        except ValueError:
            return None
        if max(a, b, c, d) > 255 or min(a, b, c, d) < 0:
            return None
        first = a << 24 | b << 16 | c << 8 | d
        length = int(prefix) if slash else 32
        if length > 32:
            return None
        size = 1 << (32 - length)
        first &= ~(size - 1)
        return 4, first, first + size - 1
    try:
        network = ipaddress.ip_network(value, strict=False)
    except ValueError:
        return None
    return (
        network.version,
        int(network.network_address),
        int(network.broadcast_address),
    )
