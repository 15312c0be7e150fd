"""`threatscope import taxii URL --collection ID`: the objects of a TAXII 2.1 collection, pulled
page by page with `taxii2-client` (`limit`, then `next` while the server says `more`).

Nothing here touches the knowledge base: `connect()` finds the API root (a discovery URL names
its default one), `TaxiiFeed.pull()` fetches every page and checks every object as `import stix`
does (stix.parse_bundle), and `KnowledgeBase.import_taxii` stores them in one transaction with
the resume point: the newest `X-TAXII-Date-Added-Last` the server sent, which the next pull
sends as `added_after`.

A token goes as HTTP Basic with the user name (what the TAXII 2.1 specification requires), or as
`Authorization: Bearer` when no user is named. Every network or HTTP failure is one
NetworkError line: the URL, the status and the title of the server's error body.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import partial
from typing import Any
from urllib.parse import urljoin

import orjson
import requests
from requests.structures import CaseInsensitiveDict
from taxii2client.common import _HTTPConnection
from taxii2client.exceptions import AccessError, TAXIIServiceException
from taxii2client.v21 import Collection

from threatscope.errors import NetworkError, ParameterError
from threatscope.stix.parse import parse_bundle
from threatscope.stix.validate import normalise_timestamp

__all__ = ["PAGE_SIZE", "PageProgress", "TaxiiFeed", "TaxiiPull", "check_added_after", "connect"]

PAGE_SIZE = 1000  # objects asked for per request; a server may send fewer
_TIMEOUT = 60.0  # seconds for each connect or read; requests has no default
_MAX_EMPTY_PAGES = 3  # `more` with nothing in it this often in a row: a server that loops
PageProgress = Callable[[int, int], None]
"""Called as `progress(objects fetched, pages fetched)` after each page."""


class _BearerAuth(requests.auth.AuthBase):
    def __init__(self, token: str) -> None:
        self.token = token

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        request.headers["Authorization"] = f"Bearer {self.token}"
        return request


@dataclass(frozen=True)
class TaxiiPull:
    """What one pull fetched: valid STIX 2.1 objects in the server's order, the pages asked for,
    and the newest date_added the server reported (None when no page held an object)."""

    url: str  # the collection's objects URL
    objects: list[dict[str, Any]]
    pages: int
    added_last: str | None


@dataclass
class TaxiiFeed:
    """An API root, reached with one user's credentials."""

    api_root: str
    conn: _HTTPConnection
    # Of the latest response; header names are case-insensitive (HTTP/2 and uvicorn send them
    # in lower case).
    headers: CaseInsensitiveDict[str] = field(default_factory=CaseInsensitiveDict)

    def collection_url(self, collection: str) -> str:
        return f"{self.api_root}collections/{collection}/"

    def pull(
        self,
        collection: str,
        added_after: str | None = None,
        page_size: int = PAGE_SIZE,
        progress: PageProgress | None = None,
    ) -> TaxiiPull:
        """Every object of `collection` added after `added_after`, validated."""
        url = self.collection_url(collection)
        with _network_errors(url):
            source = Collection(url, conn=self.conn)
            objects, pages, added_last = self._pages(source, added_after, page_size, progress)
        # The checks of `import stix`: a bad object fails the whole pull, naming its id.
        bundle = parse_bundle(orjson.dumps({"type": "bundle", "objects": objects}), url)
        return TaxiiPull(f"{url}objects/", bundle.objects, pages, added_last)

    def _pages(
        self,
        source: Collection,
        added_after: str | None,
        page_size: int,
        progress: PageProgress | None,
    ) -> tuple[list[Any], int, str | None]:
        objects: list[Any] = []
        pages = empty = 0
        added_last: str | None = None
        filters: dict[str, Any] = {} if added_after is None else {"added_after": added_after}
        next_key: str | None = None
        while True:
            self.headers.clear()
            envelope = source.get_objects(
                limit=page_size, **filters, **({"next": next_key} if next_key else {})
            )
            pages += 1
            page = envelope.get("objects", []) if isinstance(envelope, dict) else None
            if not isinstance(page, list):
                raise NetworkError(f"{source.objects_url}: the answer is not a TAXII envelope")
            objects.extend(page)
            last = self.headers.get("X-TAXII-Date-Added-Last")
            if page and last is not None:
                added_last = _later(added_last, last)
            if progress is not None:
                progress(len(objects), pages)
            if not envelope.get("more"):
                return objects, pages, added_last
            empty = 0 if page else empty + 1
            if empty >= _MAX_EMPTY_PAGES:
                raise NetworkError(
                    f"{source.objects_url}: the server keeps answering `more` with no objects"
                )
            next_key = envelope.get("next")
            if not next_key:
                # A server that pages by date alone (TAXII 2.1 section 3.4): ask after the last.
                if last is None:
                    raise NetworkError(
                        f"{source.objects_url}: the server says `more` but gives neither `next`"
                        " nor X-TAXII-Date-Added-Last"
                    )
                filters["added_after"] = last


def _later(current: str | None, candidate: str) -> str:
    """The later of two server timestamps, compared as instants (precision varies)."""
    if normalise_timestamp(candidate) is None:
        return current or candidate
    if current is None or normalise_timestamp(candidate) > normalise_timestamp(current):  # type: ignore[operator]
        return candidate
    return current


def check_added_after(value: str) -> str:
    """`added_after` as given, once it is a STIX timestamp."""
    if normalise_timestamp(value) is None:
        raise ParameterError(
            f"added_after takes a timestamp such as 2025-01-01T00:00:00Z, got {value!r}",
            f"--added-after takes a timestamp such as 2025-01-01T00:00:00Z, got {value!r}",
        )
    return value


def connect(url: str, user: str | None = None, token: str | None = None) -> TaxiiFeed:
    """The API root at `url`, or the default one of the discovery resource at `url`."""
    if not url.startswith(("http://", "https://")):
        raise ParameterError(
            f"url must be an http:// or https:// TAXII URL, got {url!r}",
            f"URL must be an http:// or https:// TAXII URL, got {url!r}",
        )
    if user is not None and not token:
        raise ParameterError(
            "user needs a token", "--user needs --token (or THREATSCOPE_TAXII_TOKEN)"
        )
    auth: requests.auth.AuthBase | None = None
    if token:
        auth = requests.auth.HTTPBasicAuth(user, token) if user else _BearerAuth(token)
    conn = _HTTPConnection(version="2.1", auth=auth)
    # requests waits forever by default; taxii2-client passes no timeout.
    conn.session.request = partial(conn.session.request, timeout=_TIMEOUT)
    feed = TaxiiFeed("", conn)

    def keep_headers(response: requests.Response, *args: Any, **kwargs: Any) -> None:
        feed.headers.update(response.headers)

    conn.session.hooks["response"].append(keep_headers)
    root = url if url.endswith("/") else f"{url}/"
    with _network_errors(root):
        info = conn.get(root)
    if isinstance(info, dict) and "api_roots" in info:
        default = info.get("default")
        roots = [r for r in info.get("api_roots") or [] if isinstance(r, str)]
        if not isinstance(default, str):
            if len(roots) != 1:
                raise NetworkError(
                    f"{root}: the discovery resource names no default API root; give one of"
                    f" {', '.join(roots) or '(none)'} as URL"
                )
            default = roots[0]
        root = urljoin(root, default if default.endswith("/") else f"{default}/")
        with _network_errors(root):
            info = conn.get(root)
    if not isinstance(info, dict) or "versions" not in info:
        raise NetworkError(f"{root}: not a TAXII 2.1 API root or discovery resource")
    feed.api_root = root
    return feed


@contextmanager
def _network_errors(url: str) -> Iterator[None]:
    try:
        yield
    except requests.HTTPError as exc:
        response = exc.response
        status = response.status_code if response is not None else "?"
        raise NetworkError(
            f"{response.url if response is not None else url}: HTTP {status}"
            f"{_title(response)}"
        ) from None
    except requests.RequestException as exc:
        raise NetworkError(f"{url}: cannot reach the server: {_reason(exc)}") from None
    except AccessError as exc:
        raise NetworkError(f"{url}: {exc}") from None
    except TAXIIServiceException as exc:
        first = str(exc).splitlines()[0] if str(exc) else "unexpected answer"
        raise NetworkError(f"{url}: not a TAXII 2.1 answer: {first}") from None
    except ValueError as exc:  # a body that is not JSON
        raise NetworkError(f"{url}: the answer is not JSON: {exc}") from None


def _title(response: requests.Response | None) -> str:
    """`: title` of a TAXII error body (section 3.6.1), else `: reason`."""
    if response is None:
        return ""
    try:
        body = response.json()
    except ValueError:
        body = None
    title = body.get("title") if isinstance(body, dict) else None
    text = title if isinstance(title, str) and title else response.reason
    return f": {' '.join(str(text).split())[:200]}" if text else ""


def _reason(exc: Exception) -> str:
    # requests nests the socket's error several levels deep: its errno part says what failed.
    text = " ".join(str(exc).split())
    errno = re.search(r"\[Errno -?\d+\] [^)\"']+", text)
    if errno is not None:
        return errno.group(0).strip()
    return text[-300:] if text else type(exc).__name__
