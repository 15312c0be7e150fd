"""mkdocs hook: the site's home page is the README's part between its two markers, so the
newcomer's text is written once. docs/index.md holds the line `{README}` where it goes.

README links are written from the repository's root (`docs/tour.md`); on the site the pages are
siblings (`tour.md`). Only links into docs/ are rewritten, so any other README link that does
not resolve on the site still fails the strict build."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from mkdocs.exceptions import PluginError

PLACEHOLDER = "{README}"
START = "<!-- readme:start -->"
END = "<!-- readme:end -->"
_INTO_DOCS = re.compile(r"\]\(docs/")


def readme_part(readme: str) -> str:
    start, end = readme.find(START), readme.find(END)
    if start < 0 or end < start:
        raise PluginError(f"README.md: no {START} … {END} part for the home page")
    return _INTO_DOCS.sub("](", readme[start + len(START) : end])


def on_page_markdown(markdown: str, page: Any, config: Any, **_: Any) -> str:
    if page.file.src_uri != "index.md":
        return markdown
    if PLACEHOLDER not in markdown:
        raise PluginError(f"docs/index.md: no {PLACEHOLDER} line to put the README's part in")
    readme = Path(config.config_file_path).parent / "README.md"
    return markdown.replace(PLACEHOLDER, readme_part(readme.read_text(encoding="utf-8")))
