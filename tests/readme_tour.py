"""The README's tour, run as a user runs it: every `$ threatscope …` line of its console blocks,
in order, from a fresh folder beside the shared data, with empty user directories; then the
same in the documentation pages of `PAGES` that go on with the tour's knowledge base.

`steps(readme)` reads the commands and the output a page shows under each, `tour_steps()` those
of every page in `PAGES`, in order; `run_tour` runs them and returns what each printed.
`python tests/readme_tour.py` prints every command with its page and real output, to paste into
the page when a figure changes; the test
(`test_readme_tour.py`) checks each shown line that has no `…` appears, in order, in what the
command printed.
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
THREATSCOPE = Path(sys.executable).parent / "threatscope"
# Tables wrap at the terminal's width; the README's were printed at this one.
COLUMNS = "100"
_BLOCK = re.compile(r"^```console\n(.*?)^```", re.MULTILINE | re.DOTALL)
# The README first; then the pages whose commands use the knowledge bases the README's tour
# built (kb.db), in this order, which keeps the order of the tour before it was split: the
# table import into kb.db (importing.md) comes before the last `attribute` runs.
PAGES = (
    "README.md",
    "docs/tour.md",
    "docs/importing.md",
    "docs/report.md",
    "docs/attribution.md",
)


@dataclass(frozen=True)
class Step:
    command: str
    shown: tuple[str, ...]  # output lines the page shows under the command
    page: str = "README.md"


@dataclass(frozen=True)
class Ran:
    step: Step
    returncode: int
    output: str  # stdout then stderr


def steps(readme: str, page: str = "README.md") -> list[Step]:
    found: list[Step] = []
    for block in _BLOCK.findall(readme):
        command: str | None = None
        shown: list[str] = []
        for line in block.splitlines():
            if line.startswith("$ "):
                if command is not None:
                    found.append(Step(command, tuple(shown), page))
                command, shown = line[2:], []
            elif command is not None:
                shown.append(line)
        if command is not None:
            found.append(Step(command, tuple(shown), page))
    return [s for s in found if s.command.startswith("threatscope ")]


def tour_steps() -> list[Step]:
    """The steps of every page in `PAGES`, in order."""
    return [
        step
        for page in PAGES
        for step in steps((ROOT / page).read_text(encoding="utf-8"), page)
    ]


def missing_lines(shown: tuple[str, ...], output: str) -> list[str]:
    """Shown lines (but elisions: any line with `…`) not found, in order, in the output."""
    actual = [line.rstrip() for line in output.splitlines()]
    position, missing = 0, []
    for line in shown:
        if "…" in line or not line.strip():
            continue
        try:
            position = actual.index(line.rstrip(), position) + 1
        except ValueError:
            missing.append(line)
    return missing


def run_tour(work: Path, data: Path) -> list[Ran]:
    """Run the tour's commands (`tour_steps()`) in `work` (created), with `../shared/data`
    pointing at `data` and `examples/` at the project's, as in a checkout beside the shared
    data."""
    work.mkdir(parents=True)
    (work.parent / "shared").mkdir(exist_ok=True)
    shared = work.parent / "shared" / "data"
    if not shared.exists():
        shared.symlink_to(data.resolve(), target_is_directory=True)
    (work / "examples").symlink_to(ROOT / "examples", target_is_directory=True)
    home = work.parent / "home"
    env = {
        **os.environ,
        "COLUMNS": COLUMNS,
        "HOME": str(home),
        "XDG_DATA_HOME": str(home / "data"),
        "XDG_CACHE_HOME": str(home / "cache"),
        "XDG_CONFIG_HOME": str(home / "config"),
        "THREATSCOPE_DATA": str(shared),
    }
    env.pop("THREATSCOPE_DB", None)
    results = []
    for step in tour_steps():
        argv = [str(THREATSCOPE), *shlex.split(step.command)[1:]]
        done = subprocess.run(
            argv, cwd=work, env=env, capture_output=True, text=True, timeout=900, check=False
        )
        results.append(Ran(step, done.returncode, done.stdout + done.stderr))
    return results


if __name__ == "__main__":
    import tempfile

    data = Path(os.environ.get("THREATSCOPE_DATA", ROOT.parent / "shared" / "data"))
    with tempfile.TemporaryDirectory() as folder:
        for ran in run_tour(Path(folder) / "tour", data):
            print(f"$ {ran.step.command}   [{ran.step.page}, exit {ran.returncode}]")
            print(ran.output, end="")
            for line in missing_lines(ran.step.shown, ran.output):
                print(f"!! {ran.step.page} shows, not printed: {line}")
            print()
