"""Schemathesis against the REST API's own OpenAPI document (/api/v1/openapi.json), through the
ASGI transport, as an analyst cleared for TLP:RED (so every operation is reached past the role
and clearance checks): whatever the generated request, no answer is a 5xx. Examples are few per
operation (the report renders charts, extraction reads text): the whole run stays near a
minute on the small real knowledge base of tests/rest_fixture.py."""

from __future__ import annotations

from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.generation.case import Case
from schemathesis.schemas import BaseSchema

import rest_fixture
from threatscope import KnowledgeBase
from threatscope.server import create_app
from threatscope.server.auth import TokenAuthenticator

# The operations, by label ("GET /api/v1/landscape"), as the document lists them. Schemathesis'
# own pytest plugin does not run under pytest 9 (it reads Function._nodeid), so each operation is
# a parametrized test drawing its cases from the operation's Hypothesis strategy.
OPERATIONS = [
    "GET /api/v1/landscape",
    "GET /api/v1/report",
    "GET /api/v1/actors",
    "GET /api/v1/actors/{name}",
    "POST /api/v1/actors/{name}/split",
    "POST /api/v1/actors/{object_id}/join",
    "POST /api/v1/attribute",
    "POST /api/v1/extract",
    "POST /api/v1/extract/store",
    "POST /api/v1/import/{source}",
    "GET /api/v1/stats",
]


@pytest.fixture(scope="module")
def rest_schema(tmp_path_factory: pytest.TempPathFactory) -> tuple[BaseSchema, str]:
    """The schema as the app serves it, and an analyst's token (TLP:RED)."""
    folder: Path = tmp_path_factory.mktemp("schemathesis")
    location = str(folder / "kb.db")
    rest_fixture.build(location, folder)
    with KnowledgeBase(location) as kb:
        kb.add_user("ada", "analyst", "red")
        token = kb.create_token("ada").token
    app = create_app(location, authenticator=TokenAuthenticator(location))
    return schemathesis.openapi.from_asgi("/api/v1/openapi.json", app), token


def test_the_document_lists_these_operations(rest_schema: tuple[BaseSchema, str]) -> None:
    schema, _ = rest_schema
    labels = [result.ok().label for result in schema.get_all_operations()]
    assert sorted(labels) == sorted(OPERATIONS)


@pytest.mark.parametrize("label", OPERATIONS)
def test_no_operation_answers_a_server_error(
    rest_schema: tuple[BaseSchema, str], label: str
) -> None:
    schema, token = rest_schema
    operation = schema.find_operation_by_label(label)
    assert operation is not None
    headers = {"Authorization": f"Bearer {token}"}

    @given(case=operation.as_strategy())
    @settings(
        max_examples=EXAMPLES.get(label, 10),
        deadline=None,
        suppress_health_check=list(HealthCheck),
        derandomize=True,  # the same requests every run: a failure here is reproducible
        database=None,
    )
    def check(case: Case) -> None:
        case.call_and_validate(headers=headers, checks=[not_a_server_error])

    check()


# The report renders its charts (and a PDF through Chromium) on every call: fewer of those.
EXAMPLES = {"GET /api/v1/report": 5}
