"""The landscape filter options, declared once in cli_options.py for `landscape` and `report`."""

from __future__ import annotations

import dataclasses
import inspect
import json
from typing import Annotated, Any

import pytest
import typer
from typer.testing import CliRunner

from threatscope.cli import app
from threatscope.cli_options import LandscapeFilters, landscape_filters
from threatscope.knowledge_base import KnowledgeBase

SHARED = [
    "--sector",
    "--victim-region",
    "--victim-country",
    "--actor-category",
    "--count",
    "--ending",
    "--months",
    "--window",
    "--source",
]


def _options(command: str) -> list[tuple[str, str | None, Any]]:
    click_command = typer.main.get_command(app).commands[command]  # type: ignore[attr-defined]
    return [
        (param.opts[0], param.help, param.default)
        for param in click_command.params
        if param.opts[0].startswith("--")
    ]


def test_landscape_and_report_take_the_same_filters_in_the_same_place() -> None:
    landscape, report = _options("landscape"), _options("report")
    shared_landscape = [o for o in landscape if o[0] in SHARED]
    assert [o[0] for o in shared_landscape] == SHARED
    assert shared_landscape == [o for o in report if o[0] in SHARED]
    # Where each command lists them: first in landscape, after --output/--pdf in report.
    assert [o[0] for o in landscape][:9] == SHARED
    assert [o[0] for o in report][2:11] == SHARED
    assert dict((o[0], o[2]) for o in shared_landscape) == {
        "--sector": None,
        "--victim-region": None,
        "--victim-country": None,
        "--actor-category": None,
        "--count": "any",
        "--ending": None,
        "--months": 12,
        "--window": None,
        "--source": None,
    }


def test_the_command_receives_them_as_one_dataclass() -> None:
    probe = typer.Typer()

    @probe.command()
    @landscape_filters
    def show(
        *,
        filters: LandscapeFilters,
        verbose: Annotated[bool, typer.Option("--verbose")] = False,
    ) -> None:
        print(json.dumps({"filters": dataclasses.asdict(filters), "verbose": verbose}))

    result = CliRunner().invoke(
        probe,
        ["--sector", "finance", "--actor-category", "criminal", "--actor-category", "state",
         "--months", "24", "--source", "eurepoc", "--verbose"],
    )
    assert result.exit_code == 0, result.output
    assert json.loads(result.output) == {
        "filters": {
            "sector": "finance",
            "victim_region": None,
            "victim_country": None,
            "actor_category": ["criminal", "state"],
            "count": "any",
            "ending": None,
            "months": 24,
            "window": None,
            "source": ["eurepoc"],
        },
        "verbose": True,
    }
    bad = CliRunner().invoke(probe, ["--months", "twelve"])
    assert bad.exit_code == 2
    assert "Invalid value for '--months'" in bad.output


def test_the_filters_are_keyword_arguments_of_the_library() -> None:
    kwargs = LandscapeFilters().as_kwargs()
    for method in (KnowledgeBase.landscape, KnowledgeBase.report):
        parameters = inspect.signature(method).parameters
        assert set(kwargs) <= set(parameters)
        assert all(parameters[name].default == value for name, value in kwargs.items())


def test_a_command_without_a_filters_parameter_is_refused() -> None:
    def plain(*, json: bool = False) -> None: ...

    with pytest.raises(TypeError, match="plain has no `filters` parameter"):
        landscape_filters(plain)
