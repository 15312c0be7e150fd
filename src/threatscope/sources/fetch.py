"""Where `threatscope sync` gets the public sources: their official URLs, or a local mirror
directory laid out like `../shared/data`."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import httpx

from threatscope import __version__
from threatscope.errors import ConfigError, NetworkError
from threatscope.files import atomic_output

__all__ = ["FEEDS", "Feed", "fetch_feed"]


@dataclass(frozen=True)
class Feed:
    name: str
    source: str  # the importer that reads it
    url: str
    mirror_glob: str  # relative to a mirror directory; the last match in sort order wins


FEEDS = (
    Feed(
        "attack-enterprise",
        "attack",
        "https://raw.githubusercontent.com/mitre-attack/attack-stix-data/master/"
        "enterprise-attack/enterprise-attack.json",
        "attack/enterprise-attack*.json",
    ),
    Feed(
        "attack-ics",
        "attack",
        "https://raw.githubusercontent.com/mitre-attack/attack-stix-data/master/"
        "ics-attack/ics-attack.json",
        "attack/ics-attack*.json",
    ),
    Feed(
        "misp-galaxy",
        "misp-galaxy",
        "https://raw.githubusercontent.com/MISP/misp-galaxy/main/clusters/threat-actor.json",
        "misp-galaxy/threat-actor.json",
    ),
    Feed(
        "kev",
        "kev",
        "https://www.cisa.gov/sites/default/files/feeds/known_exploited_vulnerabilities.json",
        "kev/known_exploited_vulnerabilities.json",
    ),
    # EuRepoC publishes through its own portal; this is the reduced export the shared data
    # holds, as published on GitHub (the Global Database 1.1 stops in 2023).
    Feed(
        "eurepoc",
        "eurepoc",
        "https://raw.githubusercontent.com/com-480-data-visualization/visec/main/data/"
        "cyber_incidents_ref.csv",
        "incidents/eurepoc-reduced*/cyber_incidents_ref.csv",
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
) -> Path:
    """A local file holding the feed: found in `mirror`, or downloaded into `cache_dir`."""
    if mirror is not None:
        matches = sorted(mirror.glob(feed.mirror_glob), key=_version_key)
        if not matches:
            raise ConfigError(f"{mirror}: mirror has no {feed.mirror_glob} for {feed.name}")
        return matches[-1]
    suffix = Path(feed.mirror_glob).suffix or ".json"
    return _download(url or feed.url, cache_dir / f"{feed.name}{suffix}", progress)


def _download(url: str, target: Path, progress: ByteProgress | None) -> Path:
    headers = {"User-Agent": f"threatscope/{__version__}"}
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        with httpx.stream("GET", url, headers=headers, follow_redirects=True, timeout=60) as resp:
            resp.raise_for_status()
            total = (
                int(resp.headers["Content-Length"]) if "Content-Length" in resp.headers else None
            )
            done = 0
            # A private temporary file per download: two syncs never share one, and nothing
            # planted in the cache directory is written through.
            with atomic_output(target) as out:
                for chunk in resp.iter_bytes():
                    out.write(chunk)
                    done += len(chunk)
                    if progress:
                        progress(done, total)
    except httpx.HTTPStatusError as exc:
        raise NetworkError(f"{url}: HTTP {exc.response.status_code}") from None
    except httpx.HTTPError as exc:
        raise NetworkError(f"{url}: download failed: {exc}") from None
    except httpx.InvalidURL as exc:  # not an HTTPError: raised before any request is made
        raise ConfigError(f"{url}: not a valid URL: {exc}") from None
    except OSError as exc:  # the cache cannot be written (disk full, permissions)
        raise ConfigError(f"{target}: cannot write the download: {exc.strerror}") from None
    return target
