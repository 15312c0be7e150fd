"""The README's figures are the ones a user gets by following it (issue 10): every command of
its tour runs, in order, from a fresh folder with empty user directories, and every output line
the README shows (but elisions, `…`) is printed by that command. The documentation pages that
go on with the tour's knowledge base (`readme_tour.PAGES`) are run after it, the same way."""

from __future__ import annotations

from pathlib import Path

import pytest

from conftest import shared_file
from readme_tour import PAGES, ROOT, missing_lines, run_tour, steps, tour_steps


def test_the_tour_is_read_from_the_readme() -> None:
    found = steps((ROOT / "README.md").read_text(encoding="utf-8"))
    commands = [step.command for step in found]
    assert "threatscope --db kb.db stats --json" in commands
    assert any(c.startswith("threatscope --db kb.db extract examples/") for c in commands)
    assert len(commands) >= 15


def test_the_tour_goes_on_in_the_docs_pages_in_order() -> None:
    found = tour_steps()
    readme = steps((ROOT / "README.md").read_text(encoding="utf-8"))
    assert found[: len(readme)] == readme
    pages = [step.page for step in found]
    assert set(pages) == set(PAGES)
    assert pages == sorted(pages, key=PAGES.index)
    commands = [step.command for step in found]
    # The table import writes into kb.db: the tour showed the last attribute runs after it.
    table = commands.index(
        "threatscope --db kb.db import table examples/bad-incidents.csv --mapping"
        " examples/incidents.toml --on-bad-row skip --rejects rejects.csv"
    )
    assert table < next(i for i, c in enumerate(commands) if "ShadowPad" in c)


@pytest.mark.slow
def test_every_readme_command_prints_what_the_readme_shows(tmp_path: Path) -> None:
    for relative in (
        "attack/enterprise-attack-18.1.json",
        "kev/known_exploited_vulnerabilities.json",
        "incidents/eurepoc-reduced-2026-03/cyber_incidents_ref.csv",
    ):
        shared_file(relative)
    data = shared_file("attack").parent
    problems = []
    for ran in run_tour(tmp_path / "tour", data):
        if "Traceback" in ran.output:
            problems.append(f"$ {ran.step.command}: traceback\n{ran.output}")
        missing = missing_lines(ran.step.shown, ran.output)
        if missing:
            shown = "\n".join(f"    {line}" for line in missing)
            problems.append(
                f"$ {ran.step.command} ({ran.step.page}, exit {ran.returncode})"
                f" does not print:\n{shown}\n"
                f"  it printed:\n{ran.output}"
            )
    assert problems == [], "\n\n".join(problems)
