"""The README is the front door and docs/ the documentation site: every command must be
documented there, every page must be on the site, every link between pages must resolve, and the
site must build with `mkdocs build --strict` (skipped where the `docs` extra is not installed)."""

from __future__ import annotations

import importlib.util
import os
import re
import subprocess
import sys
import unicodedata
from pathlib import Path
from typing import Any

import pytest
import typer.main

from readme_tour import PAGES, steps
from threatscope.cli import app

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
_FENCE = re.compile(r"^```.*?^```", re.MULTILINE | re.DOTALL)
_CODE_SPAN = re.compile(r"`[^`\n]*`")
_LINK = re.compile(r"\]\(([^)\s]+)\)")
_HEADING = re.compile(r"^#{1,6} (.+)$", re.MULTILINE)
_NAV_ENTRY = re.compile(r"^\s*- [^:\n]+: (\S+\.md)\s*$", re.MULTILINE)
_PYTHON_BLOCK = re.compile(r"```python\n(.*?)```", re.DOTALL)


def _command_paths(command: Any, prefix: str = "") -> list[str]:
    if hasattr(command, "commands"):
        paths = []
        for name, sub in command.commands.items():
            paths.extend(_command_paths(sub, f"{prefix} {name}".strip()))
        return paths
    return [prefix]


def _pages() -> list[Path]:
    return sorted(DOCS.glob("*.md"))


def _documentation() -> str:
    return "\n".join(path.read_text(encoding="utf-8") for path in [ROOT / "README.md", *_pages()])


def _readme_part() -> str:
    """The README's part the site's home page shows (mkdocs_hooks.py puts it there)."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    return readme[readme.index("<!-- readme:start -->") : readme.index("<!-- readme:end -->")]


def _slug(heading: str) -> str:
    """The anchor mkdocs (Python-Markdown's toc) gives a heading."""
    text = _LINK.sub("", heading).replace("`", "").replace("[", "")
    text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    text = re.sub(r"[^\w\s-]", "", text).strip().lower()
    return re.sub(r"[-\s]+", "-", text)


def _anchors(page: Path) -> set[str]:
    text = _FENCE.sub("", page.read_text(encoding="utf-8"))
    if page == DOCS / "index.md":
        text += _FENCE.sub("", _readme_part())
    return {_slug(heading) for heading in _HEADING.findall(text)}


def _links(page: Path) -> list[str]:
    prose = _CODE_SPAN.sub("", _FENCE.sub("", page.read_text(encoding="utf-8")))
    return [target for target in _LINK.findall(prose) if not re.match(r"[a-z]+:", target)]


def test_every_command_is_documented() -> None:
    commands = _command_paths(typer.main.get_command(app))
    assert "actor split" in commands
    documentation = _documentation()
    missing = [c for c in commands if f"threatscope {c}" not in documentation]
    assert missing == []


def test_the_command_reference_names_every_command() -> None:
    reference = (DOCS / "commands.md").read_text(encoding="utf-8")
    commands = _command_paths(typer.main.get_command(app))
    assert [c for c in commands if f"`threatscope {c}" not in reference] == []


def test_every_bench_script_is_in_the_evaluation_page() -> None:
    """Say where numbers come from: each script in bench/ is named on the evaluation page."""
    page = (DOCS / "evaluation.md").read_text(encoding="utf-8")
    scripts = sorted(path.name for path in (ROOT / "bench").glob("*.py"))
    assert [name for name in scripts if f"`bench/{name}`" not in page] == []


def test_readme_quick_start_is_the_two_make_commands() -> None:
    readme = (ROOT / "README.md").read_text()
    assert "make demo" in readme
    assert "make test" in readme
    assert "make test" in (ROOT / ".ci" / "run").read_text()


def test_every_page_is_in_the_nav_and_every_nav_entry_is_a_page() -> None:
    config = (ROOT / "mkdocs.yml").read_text(encoding="utf-8")
    nav = _NAV_ENTRY.findall(config[config.index("\nnav:") :])
    assert len(nav) == len(set(nav))
    assert sorted(nav) == sorted(path.name for path in _pages())
    assert nav[0] == "index.md"


def test_links_between_pages_resolve() -> None:
    broken = []
    for page in [ROOT / "README.md", *_pages()]:
        for target in _links(page):
            path, _, anchor = target.partition("#")
            resolved = (page.parent / path).resolve() if path else page
            if not resolved.exists():
                broken.append(f"{page.name}: {target} (no such file)")
            elif anchor and resolved.suffix == ".md" and anchor not in _anchors(resolved):
                broken.append(f"{page.name}: {target} (no such heading)")
    assert broken == []


def test_the_home_page_is_the_readme_part() -> None:
    assert "{README}" in (DOCS / "index.md").read_text(encoding="utf-8")
    part = _readme_part()
    assert "## Quick start" in part
    assert "## A tour" in part
    # On the site the part sits in docs/: its links must lead into docs/ or out to the web.
    outside = [t for t in _LINK.findall(_CODE_SPAN.sub("", _FENCE.sub("", part)))
               if not t.startswith(("docs/", "#", "http"))]
    assert outside == []


def test_every_page_that_runs_commands_is_in_the_tour() -> None:
    """A `$ threatscope` line in a console block shows real output: the tour checks it."""
    showing = {
        str(page.relative_to(ROOT))
        for page in [ROOT / "README.md", *_pages()]
        if steps(page.read_text(encoding="utf-8"))
    }
    assert showing == set(PAGES)


def test_plugin_page_examples_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Every ```python block of docs/plugins.md, in order, in one namespace, in an empty
    folder; each prints what the page says it prints."""
    from threatscope.sources import base

    base.all_sources()  # the built-ins and installed plugins, before the page registers its own
    monkeypatch.setattr(base, "_REGISTRY", dict(base._REGISTRY))
    monkeypatch.chdir(tmp_path)
    text = (DOCS / "plugins.md").read_text(encoding="utf-8")
    blocks = _PYTHON_BLOCK.findall(text)
    assert len(blocks) == 3
    namespace: dict[str, Any] = {}
    for number, block in enumerate(blocks, 1):
        exec(compile(block, f"docs/plugins.md block {number}", "exec"), namespace)
    printed = capsys.readouterr().out.splitlines()
    assert printed == ["2 Volt Typhoon CN", "broken.json: actor 1: no 'name'"]
    assert all(f"This prints `{line}`" in text for line in printed)
    assert "watchlist" in base.all_sources()


@pytest.mark.skipif(
    any(importlib.util.find_spec(m) is None for m in ("mkdocs", "material", "mkdocstrings")),
    reason="the docs extra is not installed (make docs installs it: pip install -e '.[docs]')",
)
def test_the_site_builds_strict(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(tmp_path)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "NO_MKDOCS_2_WARNING": "1"},
    )
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "api-reference" / "index.html").is_file()
    home = (tmp_path / "index.html").read_text(encoding="utf-8")
    assert "Lazarus Group" in home  # the README's tour is the home page
