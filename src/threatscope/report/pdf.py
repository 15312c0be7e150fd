"""HTML to PDF through headless Chromium: the same engine a reader's browser prints with, so the
PDF matches the HTML (print CSS, @page size and margins, inline SVG) without a second renderer."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from threatscope.errors import ConfigError, ExternalToolError
from threatscope.files import atomic_output

__all__ = ["find_chromium", "html_to_pdf"]

_CANDIDATES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
_TIMEOUT = 120
# No network, no profile, no updates: printing a local self-contained file needs none of them,
# and a CI container has no sandbox or GPU to offer.
_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-pdf-header-footer",
)


def find_chromium() -> str:
    """The browser binary: env THREATSCOPE_CHROMIUM, else the first Chromium/Chrome on PATH."""
    configured = os.environ.get("THREATSCOPE_CHROMIUM")
    if configured:
        found = shutil.which(configured)
        if not found:
            raise ConfigError(
                f"THREATSCOPE_CHROMIUM={configured} is not an executable Chromium or Chrome"
            )
        return found
    for name in _CANDIDATES:
        found = shutil.which(name)
        if found:
            return found
    raise ConfigError(
        "PDF output needs Chromium or Google Chrome and none was found on PATH; install it "
        "(Debian/Ubuntu: apt-get install chromium) or set THREATSCOPE_CHROMIUM to its path"
    )


def html_to_pdf(html_path: Path, pdf_path: Path, protect: Path | None = None) -> None:
    """Print `html_path` to `pdf_path` (A4 per the report's CSS). Chromium prints into a private
    directory created beside the target, and the PDF is then copied into place atomically, so a
    failed or interrupted print leaves no truncated PDF behind and nothing planted is followed."""
    browser = find_chromium()
    html_path, pdf_path = Path(html_path).resolve(), Path(pdf_path)
    with (
        tempfile.TemporaryDirectory(prefix="threatscope-chromium-") as profile,
        tempfile.TemporaryDirectory(prefix="threatscope-pdf-") as printed,
    ):
        part = Path(printed) / "report.pdf"
        _print(browser, profile, html_path, part)
        with atomic_output(pdf_path, protect=protect, parents=True) as out, part.open("rb") as pdf:
            shutil.copyfileobj(pdf, out)


def _print(browser: str, profile: str, html_path: Path, part: Path) -> None:
    command = [
        browser,
        *_FLAGS,
        f"--user-data-dir={profile}",
        f"--print-to-pdf={part}",
        html_path.as_uri(),
    ]
    try:
        done = subprocess.run(
            command, capture_output=True, text=True, timeout=_TIMEOUT, check=False
        )
    except subprocess.TimeoutExpired as error:
        raise ExternalToolError(
            f"{browser} did not finish printing {html_path.name} within {_TIMEOUT} s"
        ) from error
    except OSError as error:
        raise ExternalToolError(f"cannot run {browser}: {error.strerror or error}") from error
    if done.returncode != 0 or not part.exists() or part.stat().st_size == 0:
        detail = _last_line(done.stderr) or f"exit code {done.returncode}"
        raise ExternalToolError(f"{browser} could not print {html_path.name} to PDF: {detail}")


def _last_line(text: str) -> str:
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return lines[-1] if lines else ""
