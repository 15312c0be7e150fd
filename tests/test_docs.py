"""The README is the front door: every command must be documented there."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer.main

from threatscope.cli import app

ROOT = Path(__file__).resolve().parent.parent


def _command_paths(command: Any, prefix: str = "") -> list[str]:
    if hasattr(command, "commands"):
        paths = []
        for name, sub in command.commands.items():
            paths.extend(_command_paths(sub, f"{prefix} {name}".strip()))
        return paths
    return [prefix]


def test_every_command_is_in_the_readme() -> None:
    readme = (ROOT / "README.md").read_text()
    commands = _command_paths(typer.main.get_command(app))
    assert "actor split" in commands
    missing = [c for c in commands if f"threatscope {c}" not in readme]
    assert missing == []


def test_readme_quick_start_is_the_two_make_commands() -> None:
    readme = (ROOT / "README.md").read_text()
    assert "make demo" in readme
    assert "make test" in readme
    assert "make test" in (ROOT / ".ci" / "run").read_text()
