"""The landscape filter options `landscape` and `report` share, declared once.

A command takes them as one `filters: LandscapeFilters` parameter and is decorated with
`@landscape_filters`: the decorator shows Typer the nine options in that parameter's place (so
`--help` lists them where the command put them) and hands the command the dataclass.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from dataclasses import dataclass, fields
from typing import Annotated, Any, TypeVar

import typer

SectorOption = Annotated[
    str | None,
    typer.Option(
        "--sector",
        help="Victim sector id or label (sub-sectors included), e.g. technology; see `sectors`.",
    ),
]
RegionOption = Annotated[
    str | None,
    typer.Option(
        "--victim-region",
        help="Continent, UN sub-region or group (EU, NATO, Five Eyes, APAC, Middle East…);"
        " see `regions`.",
    ),
]
CountryOption = Annotated[
    str | None, typer.Option("--victim-country", help="Victim country (any spelling or ISO code).")
]
CategoryOption = Annotated[
    list[str] | None,
    typer.Option(
        "--actor-category",
        help="state, state-affiliated, criminal, hacktivist or unknown; repeatable "
        "(default: state and state-affiliated).",
    ),
]
CountOption = Annotated[
    str,
    typer.Option(
        "--count",
        help="any: an incident counts under each of its nexuses; fractional: 1/k under each.",
    ),
]
EndingOption = Annotated[
    str | None,
    typer.Option("--ending", help="Last day of the window (default: latest 31 March in the data)."),
]
MonthsOption = Annotated[int, typer.Option("--months", help="Window length in months.")]
WindowOption = Annotated[
    str | None,
    typer.Option("--window", help="Explicit window START..END (YYYY-MM-DD..YYYY-MM-DD)."),
]
SourceOption = Annotated[
    list[str] | None,
    typer.Option(
        "--source",
        help="Only incidents from this source (eurepoc, or a mapping's `source =`); repeatable.",
    ),
]
MinNOption = Annotated[
    int,
    typer.Option("--min-n", help="Below this many incidents, warn and write no headline."),
]

# The option each field is parsed by, in the order `--help` lists them.
_OPTIONS: dict[str, Any] = {
    "sector": SectorOption,
    "victim_region": RegionOption,
    "victim_country": CountryOption,
    "actor_category": CategoryOption,
    "count": CountOption,
    "ending": EndingOption,
    "months": MonthsOption,
    "window": WindowOption,
    "source": SourceOption,
}


@dataclass(frozen=True)
class LandscapeFilters:
    """What the nine shared options say, as parsed."""

    sector: str | None = None
    victim_region: str | None = None
    victim_country: str | None = None
    actor_category: list[str] | None = None
    count: str = "any"
    ending: str | None = None
    months: int = 12
    window: str | None = None
    source: list[str] | None = None

    def as_kwargs(self) -> dict[str, Any]:
        """The keyword arguments `KnowledgeBase.landscape()` and `.report()` take for them."""
        return {
            "sector": self.sector,
            "victim_region": self.victim_region,
            "victim_country": self.victim_country,
            "actor_categories": self.actor_category,
            "count": self.count,
            "sources": self.source,
            "window": self.window,
            "ending": self.ending,
            "months": self.months,
        }


Command = TypeVar("Command", bound=Callable[..., Any])


def _filter_parameters() -> list[inspect.Parameter]:
    defaults = {f.name: f.default for f in fields(LandscapeFilters)}
    assert list(defaults) == list(_OPTIONS), "LandscapeFilters and _OPTIONS list other fields"
    return [
        inspect.Parameter(
            name, inspect.Parameter.KEYWORD_ONLY, default=defaults[name], annotation=option
        )
        for name, option in _OPTIONS.items()
    ]


def landscape_filters(command: Command) -> Command:
    """Let Typer parse the nine filter options where `command` has its `filters` parameter."""
    signature = inspect.signature(command, eval_str=True)
    parameters: list[inspect.Parameter] = []
    for parameter in signature.parameters.values():
        if parameter.name == "filters":
            parameters += _filter_parameters()
        else:
            parameters.append(parameter.replace(kind=inspect.Parameter.KEYWORD_ONLY))
    if len(parameters) == len(signature.parameters):
        raise TypeError(f"{command.__name__} has no `filters` parameter")

    @functools.wraps(command)
    def parse(**options: Any) -> Any:
        filters = LandscapeFilters(**{name: options.pop(name) for name in _OPTIONS})
        return command(filters=filters, **options)

    parse.__signature__ = signature.replace(parameters=parameters)  # type: ignore[attr-defined]
    # Typer reads types from here too: the real objects, not the strings postponed evaluation
    # left (and none for the `filters` parameter Typer never sees).
    parse.__annotations__ = {p.name: p.annotation for p in parameters} | {
        "return": signature.return_annotation
    }
    return parse  # type: ignore[return-value]
