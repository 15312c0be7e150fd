"""Library errors name the Python parameter; the CLI still prints its own flags."""

from __future__ import annotations

from pathlib import Path

import pytest

from threatscope.errors import ConfigError, ParameterError
from threatscope.landscape.selection import Filters, check_sources
from threatscope.report.marking import LEVELS, choose_marking, parse_tlp
from threatscope.store import SQLiteStore


def _raised(call) -> ParameterError:  # type: ignore[no-untyped-def]
    with pytest.raises(ParameterError) as caught:
        call()
    assert isinstance(caught.value, ConfigError)  # the CLI's exit code 2 still applies
    assert "--" not in str(caught.value)
    return caught.value


def test_filters_name_their_parameters() -> None:
    error = _raised(lambda: Filters(count="half"))
    assert str(error) == "count 'half': expected 'any' or 'fractional'"
    assert error.flag_message == "--count 'half': expected 'any' or 'fractional'"
    error = _raised(lambda: Filters(victim_country="Atlantis"))
    assert str(error) == "victim_country 'Atlantis' is not a country"
    assert error.flag_message == "--victim-country 'Atlantis' is not a country"


def test_an_unknown_source_names_the_sources_parameter(tmp_path: Path) -> None:
    with SQLiteStore(tmp_path / "kb.sqlite") as store:
        error = _raised(lambda: check_sources(store, Filters(sources=("nosuch", "other"))))
    reason = "'nosuch', 'other': no incidents from those sources; no incidents imported"
    assert str(error) == f"sources {reason}"
    assert error.flag_message == f"--source {reason}"


def test_tlp_errors_name_the_tlp_parameter() -> None:
    error = _raised(lambda: parse_tlp("purple"))
    assert str(error).startswith("tlp 'purple' is not a TLP 2.0 level; use one of: clear,")
    assert error.flag_message.startswith("--tlp 'purple' is not a TLP 2.0 level")
    error = _raised(lambda: choose_marking(LEVELS["green"], {"amber": 2}, []))
    held = "the knowledge base holds 2 object(s) marked TLP:AMBER, stricter than"
    assert str(error) == f"{held} tlp='green'; pass tlp='amber' or stricter"
    assert error.flag_message == f"{held} --tlp green; pass --tlp amber or stricter"
