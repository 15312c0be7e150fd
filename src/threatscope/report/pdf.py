"""HTML to PDF through headless Chromium: the same engine a reader's browser prints with, so the
PDF matches the HTML (print CSS, @page size and margins, inline SVG) without a second renderer."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from threatscope.errors import ConfigError, ExternalToolError

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


def html_to_pdf(html_path: Path, pdf_path: Path) -> None:
    """Print `html_path` to `pdf_path` (A4 per the report's CSS). Writes to a .part file and
    renames, so a failed or interrupted print leaves no truncated PDF behind."""
    browser = find_chromium()
    html_path, pdf_path = Path(html_path).resolve(), Path(pdf_path)
    part = pdf_path.with_name(pdf_path.name + ".part")
    part.unlink(missing_ok=True)
    with tempfile.TemporaryDirectory(prefix="threatscope-chromium-") as profile:
        command = [
            browser,
            *_FLAGS,
            f"--user-data-dir={profile}",
            f"--print-to-pdf={part.resolve()}",
            html_path.as_uri(),
        ]
        try:
            done = subprocess.run(
                command, capture_output=True, text=True, timeout=_TIMEOUT, check=False
            )
        except subprocess.TimeoutExpired as error:
            part.unlink(missing_ok=True)
            raise ExternalToolError(
                f"{browser} did not finish printing {html_path.name} within {_TIMEOUT} s"
            ) from error
        except OSError as error:
            raise ExternalToolError(f"cannot run {browser}: {error.strerror or error}") from error
    if done.returncode != 0 or not part.exists() or part.stat().st_size == 0:
        part.unlink(missing_ok=True)
        detail = _last_line(done.stderr) or f"exit code {done.returncode}"
        raise ExternalToolError(f"{browser} could not print {html_path.name} to PDF: {detail}")
    os.replace(part, pdf_path)


def _last_line(text: str) -> str:
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return lines[-1] if lines else ""
