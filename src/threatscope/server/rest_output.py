"""What every REST route shares: answers as the CLI's `--json` prints them (byte for byte), the
library's parameter errors worded in the API's query names, and the error statuses documented
in the OpenAPI document."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import orjson
from fastapi import Request, Response

from threatscope.errors import ConfigError, ParameterError

__all__ = ["ERRORS", "as_cli_prints", "errors", "query_names", "writes_nothing"]

_FLAG = re.compile(r"--([a-z][a-z-]*)")

_ERROR_BODY = {
    "content": {
        "application/json": {
            "schema": {
                "type": "object",
                "properties": {
                    "title": {"type": "string"},
                    "http_status": {"type": "string"},
                    "description": {"type": "string"},
                },
                "required": ["title", "http_status"],
            }
        }
    }
}


def _error(description: str) -> dict[str, Any]:
    return {"description": description, **_ERROR_BODY}


# The statuses a route may answer besides its success, each body one JSON line (app.py).
ERRORS: dict[int | str, dict[str, Any]] = {
    400: _error("Bad input (the one line the CLI prints for it)"),
    401: _error("No or bad credentials"),
    403: _error("The role or the TLP clearance does not allow it"),
    404: _error("Not found"),
    413: _error("Request body too large"),
    422: _error("A parameter of the wrong shape"),
    429: _error("Too many failed logins"),
    503: _error("The knowledge base, or a tool the answer needs, is unavailable"),
}


def errors(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """The documented error answers of a route."""
    return {status: ERRORS[status] for status in statuses}


def as_cli_prints(value: Any) -> Response:
    """`value` exactly as `threatscope … --json` prints it (indented, one final newline)."""
    body = orjson.dumps(value, option=orjson.OPT_INDENT_2) + b"\n"
    return Response(body, media_type="application/json")


@contextmanager
def query_names() -> Iterator[None]:
    """A ParameterError says its flag message with each `--flag` as the query parameter the
    API takes for it (`--victim-region` -> `victim_region`): one name per option everywhere."""
    try:
        yield
    except ParameterError as error:
        named = _FLAG.sub(lambda m: m[1].replace("-", "_"), error.flag_message)
        raise ConfigError(named) from None


def writes_nothing(request: Request) -> None:
    """Mark a POST that only reads (attribute, extract): the app's audit safety net records
    every successful POST it is not told about, and these change nothing to record."""
    request.state.audited = True
