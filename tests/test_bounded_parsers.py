"""Parsers of hostile text stay linear in their input (issue 11, "bounded work on any input")."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from threatscope.actors.described_nexus import described_nexus
from threatscope.sources.incidents import _without_parentheses, initiator_aliases
from timing import assert_linear

ADVERSARIAL_DESCRIPTIONS = {
    "whitespace run": lambda n: "W is" + " " * n + "x.",
    "mixed whitespace run": lambda n: "W is a" + " \t\n" * (n // 3) + "x.",
    "unclosed link brackets": lambda n: "[" * n,
    "unclosed link targets": lambda n: "[a](" * (n // 4),
    "unclosed citations": lambda n: "(Citation:" * (n // 10),
    "repeated self phrases": lambda n: "is a suspected " * (n // 15),
}


@pytest.mark.parametrize("name", sorted(ADVERSARIAL_DESCRIPTIONS))
def test_described_nexus_is_linear(name: str) -> None:
    assert_linear(described_nexus, ADVERSARIAL_DESCRIPTIONS[name], 50_000)


def test_described_nexus_still_reads_whitespace_laden_openings() -> None:
    assert described_nexus("APT38  is a\n North   Korean state-sponsored threat group.") == "KP"
    assert described_nexus("Group5 is a threat group with a suspected\tIranian nexus.") == "IR"
    assert described_nexus("W is" + " " * 5000 + "x.") is None


@settings(max_examples=200, deadline=1000)
@given(st.text(alphabet=" \t\n[]()aisCitation:.-Chinese", max_size=3000))
def test_described_nexus_answers_any_text_quickly(text: str) -> None:
    described_nexus(text)


def test_import_of_the_2kb_repro_bundle_finishes(tmp_path: Path) -> None:
    """The issue's repro: an intrusion-set whose description is "W is" + 2000 spaces + "x."."""
    bundle = tmp_path / "hostile.json"
    bundle.write_text(json.dumps({
        "type": "bundle", "id": f"bundle--{uuid.uuid4()}",
        "objects": [{
            "type": "intrusion-set", "spec_version": "2.1", "id": f"intrusion-set--{uuid.uuid4()}",
            "created": "2024-01-01T00:00:00.000Z", "modified": "2024-01-01T00:00:00.000Z",
            "name": "W", "description": "W is" + " " * 2000 + "x.",
        }],
    }))
    done = subprocess.run(
        [str(Path(sys.executable).parent / "threatscope"), "--db", str(tmp_path / "kb.db"),
         "import", "stix", str(bundle)],
        capture_output=True, text=True, timeout=60, check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "1 objects read, 1 added" in done.stdout


def _regex_without_parentheses(text: str) -> str:
    return re.sub(r"\([^)]*\)", "", text)


@settings(max_examples=500)
@given(st.text(alphabet="()ab /", max_size=40))
def test_parenthesis_removal_matches_the_regex_it_replaced(text: str) -> None:
    assert _without_parentheses(text) == _regex_without_parentheses(text)


@pytest.mark.parametrize("make", [
    lambda n: "(" * n,
    lambda n: "APT28 (" * (n // 7),
    lambda n: "(a)/" * (n // 4),
])
def test_initiator_aliases_are_linear(make: Any) -> None:
    assert_linear(initiator_aliases, make, 100_000)


def test_an_actor_cell_of_half_a_million_brackets_imports(tmp_path: Path) -> None:
    table = tmp_path / "incidents.jsonl"
    table.write_text(json.dumps({"day": "2025-01-02", "who": "(" * 500_000}) + "\n")
    mapping = tmp_path / "map.toml"
    mapping.write_text('[columns]\nformat = "jsonl"\ndate = "day"\nactor = "who"\n')
    done = subprocess.run(
        [str(Path(sys.executable).parent / "threatscope"), "--db", str(tmp_path / "kb.db"),
         "import", "table", str(table), "--mapping", str(mapping)],
        capture_output=True, text=True, timeout=60, check=False,
    )
    assert done.returncode == 0, done.stderr
