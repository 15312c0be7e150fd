"""Fuzzing every importer, the mapping parser and the window options through the CLI (issue 11,
"done when"): whatever the input, a command ends with exit code 0, or exit code 2 and one line
on stderr with nothing written. An import that succeeds leaves a knowledge base every later
command can read (landscape, actor list) and whose `export stix` our own `import stix` takes.

Each test runs THREATSCOPE_FUZZ_EXAMPLES generated inputs (default 200, enough for the suite);
the long run in docs/internals.md sets it to thousands and runs under `nice`.
"""

from __future__ import annotations

import itertools
import os
import re
import shutil
import sqlite3
from pathlib import Path

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner, Result

from fuzz_inputs import JSON, TEXT, bundles, dumps, eurepoc_exports, galaxies, kev_feeds, tables
from threatscope.cli import app
from threatscope.errors import InputError
from threatscope.sources.table import load_mapping

FIXTURES = Path(__file__).parent / "fixtures"
EXAMPLES = int(os.environ.get("THREATSCOPE_FUZZ_EXAMPLES", "200"))
FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=list(HealthCheck),
)
# Wide enough for incidents dated 1969 and 2030: the landscape reads every stored fact.
WIDE = ("--window", "1960-01-01..2030-12-31")


def run(*args: str) -> Result:
    return CliRunner().invoke(app, list(args))


def ended_cleanly(result: Result) -> bool:
    """True on success; on failure, the documented exit 2 with one line. Anything else fails."""
    shown = f"exit {result.exit_code}\nstdout: {result.stdout[-2000:]}\nstderr: {result.stderr}"
    assert result.exit_code in (0, 2), shown
    assert "internal error" not in result.stderr, shown
    if result.exit_code == 2:
        lines = result.stderr.splitlines()
        assert len(lines) == 1 and lines[0].startswith("error: "), shown
    return result.exit_code == 0


class Lab:
    """Scratch files and knowledge bases: each a copy of one template holding the fixture table's
    incidents (APT28, CVEs, dated 2025), so fuzzed objects meet real ones."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.template = root / "template.db"
        self.numbers = itertools.count()
        table = ("import", "table", str(FIXTURES / "incidents.csv"))
        mapping = ("--mapping", str(FIXTURES / "incidents.toml"))
        assert run("--db", str(self.template), *table, *mapping).exit_code == 0
        self.objects = self.count(self.template)

    def knowledge_base(self) -> Path:
        copy = self.root / f"kb{next(self.numbers)}.db"
        shutil.copyfile(self.template, copy)
        return copy

    def file(self, suffix: str, data: bytes) -> Path:
        path = self.root / f"input{next(self.numbers)}{suffix}"
        path.write_bytes(data)
        return path

    @staticmethod
    def count(db: Path) -> tuple[int, int]:
        with sqlite3.connect(db) as conn:
            counts = conn.execute(
                "SELECT (SELECT count(*) FROM objects), (SELECT count(*) FROM imports)"
            ).fetchone()
        conn.close()
        return counts

    def clean(self) -> None:
        for path in self.root.iterdir():
            if path != self.template:
                path.unlink()


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Lab:
    return Lab(tmp_path_factory.mktemp("fuzz"))


def check_import(lab: Lab, *command: str) -> None:
    """`import …` into a fresh copy of the template, then what must hold either way."""
    db = lab.knowledge_base()
    try:
        result = run("--db", str(db), "import", *command)
        if not ended_cleanly(result):
            # --hypothesis-show-statistics counts them, by reason without values.
            event(
                "refused: "
                + re.sub(r"'[^']*'|[0-9]+|\(.*", "_", result.stderr.split(": ")[-1])[:50]
            )
            assert lab.count(db) == lab.objects, "a refused import wrote something"
            return
        event("imported")
        assert ended_cleanly(run("--db", str(db), "landscape", "--json", *WIDE))
        assert ended_cleanly(run("--db", str(db), "actor", "list", "--json"))
        exported = lab.root / "export.json"
        assert ended_cleanly(run("--db", str(db), "export", "stix", "-o", str(exported)))
        again = lab.knowledge_base()
        reimport = run("--db", str(again), "import", "stix", str(exported))
        assert reimport.exit_code == 0, reimport.stderr
    finally:
        lab.clean()


@FUZZ
@given(data=bundles())
def test_import_stix(lab: Lab, data: bytes) -> None:
    check_import(lab, "stix", str(lab.file(".json", data)))


@FUZZ
@given(data=bundles(attack=True))
def test_import_attack(lab: Lab, data: bytes) -> None:
    check_import(lab, "attack", str(lab.file(".json", data)))


@FUZZ
@given(data=galaxies())
def test_import_misp_galaxy(lab: Lab, data: bytes) -> None:
    check_import(lab, "misp-galaxy", str(lab.file(".json", data)))


@FUZZ
@given(data=kev_feeds())
def test_import_kev(lab: Lab, data: bytes) -> None:
    check_import(lab, "kev", str(lab.file(".json", data)))


@FUZZ
@given(text=eurepoc_exports())
def test_import_eurepoc(lab: Lab, text: str) -> None:
    check_import(lab, "eurepoc", str(lab.file(".csv", text.encode("utf-8"))))


@FUZZ
@given(table=tables(), skip=st.booleans())
def test_import_table(lab: Lab, table: tuple[str, str, bytes], skip: bool) -> None:
    suffix, mapping, data = table
    path, mapping_path = lab.file(suffix, data), lab.file(".toml", mapping.encode("utf-8"))
    policy = ("--on-bad-row", "skip") if skip else ()
    check_import(lab, "table", str(path), "--mapping", str(mapping_path), *policy)


@FUZZ
@given(text=st.one_of(tables().map(lambda table: table[1]), st.text(max_size=200)))
def test_mapping_parser(lab: Lab, text: str) -> None:
    """The mapping alone: a dict, or an InputError (which the CLI prints as one line)."""
    path = lab.file(".toml", text.encode("utf-8", "surrogatepass"))
    try:
        assert isinstance(load_mapping(path), dict)
    except InputError:
        pass
    finally:
        lab.clean()


_DAYS = st.one_of(
    st.dates().map(str),
    st.sampled_from(("0001-01-01", "0001-12-31", "9999-12-31", "9999-01-01", "1969-12-31")),
    TEXT,
)


@FUZZ
@given(
    months=st.one_of(st.none(), st.integers(min_value=-5, max_value=10**22)),
    ending=st.one_of(st.none(), _DAYS),
    window=st.one_of(st.none(), st.tuples(_DAYS, _DAYS).map("..".join), TEXT),
)
def test_window_options(
    lab: Lab, months: int | None, ending: str | None, window: str | None
) -> None:
    options = [
        *((f"--months={months}",) if months is not None else ()),
        *((f"--ending={ending}",) if ending is not None else ()),
        *((f"--window={window}",) if window is not None else ()),
    ]
    ended_cleanly(run("--db", str(lab.template), "landscape", "--json", *options))


@FUZZ
@given(doc=st.one_of(JSON, bundles().map(lambda data: data.decode("utf-8"))))
def test_attribute_bundle(lab: Lab, doc: object) -> None:
    data = doc.encode("utf-8") if isinstance(doc, str) else dumps(doc)
    path = lab.file(".json", data)
    try:
        ended_cleanly(run("--db", str(lab.template), "attribute", "--bundle", str(path), "--json"))
    finally:
        lab.clean()
