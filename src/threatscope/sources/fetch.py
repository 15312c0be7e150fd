"""Where `threatscope sync` gets the public sources: their official URLs, or a local mirror
directory laid out like `../shared/data`."""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from threatscope import __version__
from threatscope.errors import ConfigError, InputError, NetworkError
from threatscope.files import MiB, atomic_output, byte_size

__all__ = ["DEFAULT_DEADLINE", "FEEDS", "Feed", "fetch_feed"]

# Seconds a whole download may take: ATT&CK's 33 MB need a few seconds on a usual line.
DEFAULT_DEADLINE = 300.0
# httpx's own timeout applies to each read, connect or write, never to the whole download.
_STEP_TIMEOUT = 60.0


@dataclass(frozen=True)
class Feed:
    name: str
    source: str  # the importer that reads it
    url: str
    mirror_glob: str  # relative to a mirror directory; the last match in sort order wins
    max_bytes: int  # a download stops past this many bytes (decoded), about 10x today's size


FEEDS = (
    Feed(
        "attack-enterprise",
        "attack",
        "https://raw.githubusercontent.com/mitre-attack/attack-stix-data/master/"
        "enterprise-attack/enterprise-attack.json",
        "attack/enterprise-attack*.json",
        512 * MiB,
    ),
    Feed(
        "attack-ics",
        "attack",
        "https://raw.githubusercontent.com/mitre-attack/attack-stix-data/master/"
        "ics-attack/ics-attack.json",
        "attack/ics-attack*.json",
        64 * MiB,
    ),
    Feed(
        "misp-galaxy",
        "misp-galaxy",
        "https://raw.githubusercontent.com/MISP/misp-galaxy/main/clusters/threat-actor.json",
        "misp-galaxy/threat-actor.json",
        64 * MiB,
    ),
    Feed(
        "kev",
        "kev",
        "https://www.cisa.gov/sites/default/files/feeds/known_exploited_vulnerabilities.json",
        "kev/known_exploited_vulnerabilities.json",
        64 * MiB,
    ),
    # EuRepoC publishes through its own portal; this is the reduced export the shared data
    # holds, as published on GitHub (the Global Database 1.1 stops in 2023).
    Feed(
        "eurepoc",
        "eurepoc",
        "https://raw.githubusercontent.com/com-480-data-visualization/visec/main/data/"
        "cyber_incidents_ref.csv",
        "incidents/eurepoc-reduced*/cyber_incidents_ref.csv",
        256 * MiB,
    ),
)

ByteProgress = Callable[[int, int | None], None]


def _version_key(path: Path) -> list[object]:
    # enterprise-attack-9.0.json sorts before enterprise-attack-18.1.json
    parts: list[object] = []
    for chunk in path.name.replace("-", ".").split("."):
        parts.append((0, int(chunk), "") if chunk.isdigit() else (1, 0, chunk))
    return parts


def fetch_feed(
    feed: Feed,
    cache_dir: Path,
    mirror: Path | None = None,
    url: str | None = None,
    progress: ByteProgress | None = None,
    deadline: float = DEFAULT_DEADLINE,
) -> Path:
    """A local file holding the feed: found in `mirror`, or downloaded into `cache_dir` within
    `deadline` seconds and `feed.max_bytes`."""
    if mirror is not None:
        matches = sorted(mirror.glob(feed.mirror_glob), key=_version_key)
        if not matches:
            raise ConfigError(f"{mirror}: mirror has no {feed.mirror_glob} for {feed.name}")
        return _inside(mirror, matches[-1])
    suffix = Path(feed.mirror_glob).suffix or ".json"
    target = cache_dir / f"{feed.name}{suffix}"
    return _download(feed.url if url is None else url, target, feed, progress, deadline)


def _inside(mirror: Path, match: Path) -> Path:
    """`match`, unless it is a symlink to a file outside `mirror` (whose reading the importer
    then bounds: regular files only, at most its size limit)."""
    root = mirror.resolve()
    target = match.resolve()
    if not target.is_relative_to(root):
        raise InputError(str(match), f"links to {target}, outside the mirror {root}")
    return match


def _download(
    url: str, target: Path, feed: Feed, progress: ByteProgress | None, deadline: float
) -> Path:
    headers = {"User-Agent": f"threatscope/{__version__}"}
    limit = f"{byte_size(feed.max_bytes)}, the limit for {feed.name}"
    clock = _Deadline(deadline)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        with (
            clock,
            httpx.Client(timeout=min(_STEP_TIMEOUT, deadline), follow_redirects=True) as client,
            client.stream("GET", url, headers=headers, extensions={"trace": clock.trace}) as resp,
        ):
            resp.raise_for_status()
            total = _declared_length(resp)
            if total is not None and total > feed.max_bytes:
                raise NetworkError(f"{url}: announces {byte_size(total)}, over {limit}")
            done = 0
            # A private temporary file per download: two syncs never share one, and nothing
            # planted in the cache directory is written through. Raising inside the block
            # leaves nothing behind.
            with atomic_output(target) as out:
                # Decoded bytes: a small gzip body must not become a huge file.
                for chunk in resp.iter_bytes():
                    clock.check(url)
                    done += len(chunk)
                    if done > feed.max_bytes:
                        raise NetworkError(f"{url}: larger than {limit}")
                    out.write(chunk)
                    if progress:
                        progress(done, total)
                clock.check(url)  # the timer may have cut the connection: the body is short
    except httpx.HTTPStatusError as exc:
        raise NetworkError(f"{url}: HTTP {exc.response.status_code}") from None
    except httpx.HTTPError as exc:
        clock.check(url)  # a read cut short by the deadline says so, not "connection closed"
        raise NetworkError(f"{url}: download failed: {exc}") from None
    except httpx.InvalidURL as exc:  # not an HTTPError: raised before any request is made
        raise ConfigError(f"{url}: not a valid URL: {exc}") from None
    except OSError as exc:  # the cache cannot be written (disk full, permissions)
        raise ConfigError(f"{target}: cannot write the download: {exc.strerror}") from None
    return target


def _declared_length(resp: httpx.Response) -> int | None:
    """The body size the server announces, when that is the size we will store."""
    if "Content-Encoding" in resp.headers or "Content-Length" not in resp.headers:
        return None
    return int(resp.headers["Content-Length"])


class _Deadline:
    """A wall clock over a whole download. httpx's timeouts bound each read, so a server
    sending a byte every few seconds would keep a download alive for ever: when the time is
    up, a timer shuts the download's sockets down, which wakes a read blocked on them, and
    `check` turns what follows into one NetworkError naming the limit."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.expired = False
        self._sockets: list[socket.socket] = []
        self._lock = threading.Lock()
        self._timer = threading.Timer(seconds, self._expire)
        self._timer.daemon = True

    def __enter__(self) -> _Deadline:
        self._started = time.monotonic()
        self._timer.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._timer.cancel()

    def trace(self, event: str, info: dict[str, Any]) -> None:
        """httpcore's trace hook: remember every socket this download opens (redirects too)."""
        if event.endswith(("connect_tcp.complete", "start_tls.complete")):
            sock = info["return_value"].get_extra_info("socket")
            with self._lock:
                if sock is not None:
                    self._sockets.append(sock)
                expired = self.expired
            if expired:  # connected after the time was up
                self._shut(sock)

    def check(self, url: str) -> None:
        if self.expired or time.monotonic() - self._started > self.seconds:
            raise NetworkError(f"{url}: not complete after {self.seconds:g} s, the deadline")

    def _expire(self) -> None:
        with self._lock:
            self.expired = True
            sockets = list(self._sockets)
        for sock in sockets:
            self._shut(sock)

    @staticmethod
    def _shut(sock: socket.socket | None) -> None:
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
