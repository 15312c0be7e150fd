"""`threatscope.KnowledgeBase`, the Python API: its pinned `__all__`, opening and closing,
read-only refusal, each method on real shared data with exact counts, `as_dict()` equal to the
CLI's `--json` output byte for byte, frozen results, and the docs' examples run as written."""

from __future__ import annotations

import dataclasses
import hashlib
import importlib.util
import json
import re
import shutil
import sys
from pathlib import Path
from typing import Any

import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st
from typer.testing import CliRunner

import threatscope
from conftest import ROOT, new_location, shared_file
from threatscope import (
    ConfigError,
    InputError,
    KnowledgeBase,
    NoEvidenceError,
    NotFoundError,
    PandasMissingError,
    StoreError,
)
from threatscope.cli import app
from threatscope.results import Landscape, freeze, thaw

REDUCED = "incidents/eurepoc-reduced-2026-03/cyber_incidents_ref.csv"
HAS_PANDAS = importlib.util.find_spec("pandas") is not None


def cli_json(db: Path | str, *args: str) -> str:
    """What `threatscope --db DB ARGS --json` prints, run in this process (same hash seed)."""
    result = CliRunner().invoke(app, ["--db", str(db), *args, "--json"])
    assert result.exit_code == 0, result.output
    return result.stdout


def printed(value: Any) -> str:
    """`value` as the CLI prints JSON."""
    return orjson.dumps(value, option=orjson.OPT_INDENT_2).decode() + "\n"


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def fingerprint(location: str) -> str:
    """What changes when anything is written: a SQLite file's bytes; a PostgreSQL knowledge
    base's import history and counts."""
    if not location.startswith("postgresql:"):
        return sha256(Path(location))
    with KnowledgeBase(location, read_only=True) as kb:
        return printed([kb.imports().as_list(), kb.stats().as_dict()])


@pytest.fixture(scope="module")
def built(
    request: pytest.FixtureRequest,
    backend: str,
    tmp_path_factory: pytest.TempPathFactory,
    enterprise_path: Path,
    misp_path: Path,
) -> dict[str, Any]:
    """ATT&CK Enterprise, the MISP galaxy and the reduced EuRepoC export, imported through
    the API (the imports' results kept for the tests that check them), on each backend."""
    db = new_location(request, backend, tmp_path_factory.mktemp("kb"))
    with KnowledgeBase(db) as kb:
        results = {
            "attack": kb.import_file("attack", enterprise_path),
            "misp-galaxy": kb.import_file("misp-galaxy", misp_path),
            "eurepoc": kb.import_file("eurepoc", shared_file(REDUCED)),
        }
    return {"db": db, "imports": results}


@pytest.fixture(scope="module")
def kb(built: dict[str, Any]) -> Any:
    with KnowledgeBase(built["db"], read_only=True) as opened:
        yield opened


# -- the public API ----------------------------------------------------------------------------


def test_public_api_is_pinned() -> None:
    assert threatscope.__all__ == [
        "Actor",
        "ActorList",
        "ActorSummary",
        "Attribution",
        "Candidate",
        "ConfigError",
        "Export",
        "ExternalToolError",
        "Extraction",
        "ImportHistory",
        "ImportResult",
        "InputError",
        "KnowledgeBase",
        "Landscape",
        "NetworkError",
        "NexusShare",
        "NoEvidenceError",
        "NotFoundError",
        "PandasMissingError",
        "ReportFiles",
        "Stats",
        "StoreError",
        "ThreatScopeError",
        "__version__",
    ]
    assert all(hasattr(threatscope, name) for name in threatscope.__all__)


# -- opening and closing -----------------------------------------------------------------------


def test_a_new_knowledge_base_is_created_by_its_first_write_only(
    tmp_path: Path, kev_path: Path
) -> None:
    db = tmp_path / "new.db"
    with KnowledgeBase(db) as kb:
        assert not db.exists()  # opening writes nothing
        with pytest.raises(InputError, match="unsupported file type"):
            kb.extract(tmp_path / "report.docx")
        assert not db.exists()
        result = kb.import_file("kev", kev_path)
        assert db.is_file()
        assert result.received == result.added == kb.stats().objects["vulnerability"] + 1
    assert kb.closed
    with pytest.raises(StoreError, match="closed"):
        kb.stats()
    kb.close()  # twice is harmless
    assert repr(kb) == f"<KnowledgeBase {str(db)!r} closed>"


def test_read_only_refuses_writes_and_changes_nothing(
    built: dict[str, Any], kev_path: Path, tmp_path: Path
) -> None:
    db = built["db"]
    before = fingerprint(db)
    with KnowledgeBase(db, read_only=True) as kb:
        with pytest.raises(StoreError) as raised:
            kb.import_file("kev", kev_path)
        assert str(raised.value) == (
            f"{db}: opened with read_only=True; import_file('kev') writes to the knowledge "
            "base (open it with read_only=False)"
        )
        report = tmp_path / "report.txt"
        report.write_text("APT41 used T1059.001.", encoding="utf-8")
        with pytest.raises(StoreError, match=r"extract\(store=True\) writes"):
            kb.extract(report, store=True)
    assert fingerprint(db) == before


def test_read_only_on_a_missing_knowledge_base_creates_nothing(tmp_path: Path) -> None:
    db = tmp_path / "absent.db"
    with KnowledgeBase(db, read_only=True) as kb, pytest.raises(ConfigError) as raised:
        kb.stats()
    assert str(raised.value).startswith(f"{db}: no knowledge base here yet")
    assert not db.exists()


def test_a_url_no_backend_serves_fails_on_opening(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="unknown database scheme 'mysql'"):
        KnowledgeBase("mysql://host/kb")
    with KnowledgeBase(f"sqlite:///{tmp_path / 'url.db'}") as kb:
        kb.import_file("misp-galaxy")
    assert (tmp_path / "url.db").is_file()


# -- imports -----------------------------------------------------------------------------------


def test_imports_report_exact_counts(
    built: dict[str, Any], raw_attack: list[dict[str, Any]], raw_galaxy: dict[str, Any]
) -> None:
    attack, misp, eurepoc = (built["imports"][k] for k in ("attack", "misp-galaxy", "eurepoc"))
    assert (attack.received, attack.added) == (len(raw_attack), len({o["id"] for o in raw_attack}))
    assert misp.received == misp.added == len(raw_galaxy["values"]) + 1
    assert eurepoc.incidents is not None
    assert (eurepoc.received, eurepoc.incidents["incidents"], eurepoc.incidents["undated"]) == (
        20618,
        4374,
        115,
    )
    assert "skipped" not in eurepoc.as_dict()
    with KnowledgeBase(built["db"], read_only=True) as kb:
        history = kb.imports().as_list()
    assert [r["source"] for r in history] == ["attack", "misp-galaxy", "eurepoc"]


def test_import_errors_name_parameters(tmp_path: Path, kev_path: Path) -> None:
    with KnowledgeBase(tmp_path / "kb.db") as kb:
        with pytest.raises(ConfigError, match=r"^on_bad_row 'ignore': expected 'fail' or 'skip'$"):
            kb.import_file("kev", kev_path, on_bad_row="ignore")
        with pytest.raises(ConfigError) as raised:
            kb.import_file("table", kev_path)
        assert "--" not in str(raised.value) and "mapping=" in str(raised.value)
    assert not (tmp_path / "kb.db").exists()


def test_import_reports_progress_and_writes_rejects(kb_location: str, tmp_path: Path) -> None:
    """The CLI's progress bar and --rejects come through the API: stages in order, the bad
    rows' own lines in the rejects file."""
    table = tmp_path / "incidents.csv"
    rows = (ROOT / "tests" / "fixtures" / "incidents.csv").read_text(encoding="utf-8")
    table.write_text(rows + "INC-9,31/02/2025,APT28,,,,,,,,,,\n", encoding="utf-8")
    seen: list[tuple[str, int, int | None]] = []
    rejects = tmp_path / "rejects.csv"
    with KnowledgeBase(kb_location) as kb:
        result = kb.import_file(
            "table",
            table,
            mapping=ROOT / "tests" / "fixtures" / "incidents.toml",
            on_bad_row="skip",
            rejects_file=rejects,
            progress=lambda stage, done, total: seen.append((stage, done, total)),
        )
        assert kb.stats().objects["incident"] == result.incidents["incidents"]
    assert seen[0] == ("reading", 0, None)
    storing = [entry for entry in seen if entry[0] == "storing"]
    assert storing[-1] == ("storing", result.received, result.received)
    assert [r["row"] for r in result.skipped] == [len(rows.splitlines())]
    assert rejects.read_text(encoding="utf-8").splitlines()[-1] == (
        f"{len(rows.splitlines())},date '31/02/2025' does not match %d/%m/%Y,"
        '"INC-9,31/02/2025,APT28,,,,,,,,,,"'
    )
    with KnowledgeBase(kb_location) as kb:
        with pytest.raises(ConfigError, match=r"^rejects_file needs on_bad_row='skip'$"):
            kb.import_file("kev", rejects_file=rejects)
        with pytest.raises(ConfigError, match=r"^source 'kev' takes one path$"):
            kb.import_file("kev", [table, table])


def test_sync_from_a_mirror_equals_the_cli_json(
    kb_location: str, tmp_path: Path, kev_path: Path
) -> None:
    mirror = kev_path.parent.parent
    with KnowledgeBase(kb_location) as kb:
        synced = kb.sync(mirror=mirror, only=["kev"])
        assert [r.source for r in synced] == ["kev"]
        assert synced[0].added == kb.stats().objects["vulnerability"] + 1
        with pytest.raises(ConfigError, match="mirror directory does not exist"):
            kb.sync(mirror=tmp_path / "absent")
    args = ("sync", "--mirror", str(mirror), "--only", "kev")
    cli = json.loads(cli_json(tmp_path / "cli.db", *args))
    assert [r.as_dict() | {"import_id": None} for r in synced] == [
        r | {"import_id": None} for r in cli
    ]


def test_import_result_equals_the_cli_json(tmp_path: Path, kev_path: Path) -> None:
    with KnowledgeBase(tmp_path / "api.db") as kb:
        mine = kb.import_file("kev", kev_path).as_dict()
    cli = json.loads(cli_json(tmp_path / "cli.db", "import", "kev", str(kev_path)))
    assert mine | {"import_id": None} == cli | {"import_id": None}


# -- as_dict() is the CLI's JSON ---------------------------------------------------------------


def test_stats_equals_the_cli_json(kb: KnowledgeBase, built: dict[str, Any]) -> None:
    stats = kb.stats()
    assert printed(stats.as_dict()) == cli_json(built["db"], "stats")
    assert stats.relationships == 28170  # ATT&CK's 20,048 and EuRepoC's
    assert sum(stats.actors_by_nexus.values()) == stats.actors


def test_landscape_equals_the_cli_json(kb: KnowledgeBase, built: dict[str, Any]) -> None:
    figures = kb.landscape(ending="2025-03-31", count="fractional")
    cli = cli_json(built["db"], "landscape", "--ending", "2025-03-31", "--count", "fractional")
    assert printed(figures.as_dict()) == cli
    default = kb.landscape()
    assert printed(default.as_dict()) == cli_json(built["db"], "landscape")
    assert default.incidents == 107
    top = [(s.nexus, s.count) for s in default.by_nexus[:3]]
    assert top == [("CN", 29), ("RU", 27), ("KP", 18)]


def test_actor_and_actors_equal_the_cli_json(kb: KnowledgeBase, built: dict[str, Any]) -> None:
    assert printed(kb.actor("WICKED PANDA").as_dict()) == cli_json(
        built["db"], "actor", "show", "WICKED PANDA"
    )
    north_korea = kb.actors(nexus="North Korea")
    assert printed(north_korea.as_list()) == cli_json(built["db"], "actor", "list", "--nexus", "KP")
    assert north_korea.nexus == "KP" and {a.nexus for a in north_korea} == {"KP"}
    assert len(kb.actors()) == kb.stats().actors


def test_actor_search_matches_names_aliases_and_ids(kb: KnowledgeBase) -> None:
    found = kb.actors(search="g0096")
    assert [a.name for a in found] == ["APT41"]
    assert all(
        "lazarus" in " ".join([a.name, *(x["alias"] for x in kb.actor(a.id).aliases)]).lower()
        for a in kb.actors(search="Lazarus")
    )
    with pytest.raises(NotFoundError, match="no actor named 'No Such Group'"):
        kb.actor("No Such Group")
    with pytest.raises(ConfigError, match=r"^nexus 'Atlantis' is not a country"):
        kb.actors(nexus="Atlantis")


def test_attribute_equals_the_cli_json(kb: KnowledgeBase, built: dict[str, Any]) -> None:
    verdict = kb.attribute(techniques=["T1059"], software=["Cobalt Strike"])
    cli = cli_json(built["db"], "attribute", "--technique", "T1059", "--software", "Cobalt Strike")
    assert printed(verdict.as_dict()) == cli
    assert len(verdict.candidates) == 10
    with pytest.raises(NoEvidenceError):
        kb.attribute()


def test_extract_equals_the_cli_json(
    kb: KnowledgeBase, built: dict[str, Any], tmp_path: Path
) -> None:
    report = tmp_path / "report.txt"
    report.write_text(
        "APT41 used Cobalt Strike (T1059.001) against hospitals in Germany, exploiting "
        "CVE-2021-44228 from 203.0.113.5.\n",
        encoding="utf-8",
    )
    found = kb.extract(report)
    assert printed(found.as_dict()) == cli_json(built["db"], "extract", str(report))
    assert [a["name"] for a in found.actors] == ["APT41"]
    assert found.cves == ("CVE-2021-44228",)
    # The same words as text: the same findings, named <text>.
    as_text = kb.extract(text=report.read_text(encoding="utf-8"))
    assert as_text.file == "<text>"
    assert as_text.as_dict() | {"file": None} == found.as_dict() | {"file": None}
    with pytest.raises(ConfigError, match="exactly one"):
        kb.extract(report, text="also this")
    with pytest.raises(ConfigError, match="only a file can be stored"):
        KnowledgeBase(tmp_path / "w.db").extract(text="APT41", store=True)


def test_export_and_report_write_files(kb: KnowledgeBase, tmp_path: Path) -> None:
    exported = kb.export(tmp_path / "campaigns.json", types=["campaign"])
    bundle = json.loads((tmp_path / "campaigns.json").read_bytes())
    assert exported.objects == len(bundle["objects"]) == 52
    files = kb.report(tmp_path / "out" / "report.html", ending="2025-03-31")
    assert files.written == (tmp_path / "out" / "report.html",)
    assert files.marking == "TLP:CLEAR"
    assert "China-nexus" in files.written[0].read_text(encoding="utf-8")


def test_landscape_errors_name_parameters_and_the_cli_its_flags(
    kb: KnowledgeBase, built: dict[str, Any]
) -> None:
    with pytest.raises(ConfigError, match=r"^months must be at least 1$"):
        kb.landscape(months=0)
    with pytest.raises(ConfigError, match=r"^count 'half': expected 'any' or 'fractional'$"):
        kb.landscape(count="half")
    result = CliRunner().invoke(app, ["--db", str(built["db"]), "landscape", "--months", "0"])
    assert result.exit_code == 2
    assert result.stderr == "error: --months must be at least 1\n"


# -- frozen results ----------------------------------------------------------------------------


def test_results_are_frozen_all_the_way_down(kb: KnowledgeBase) -> None:
    figures = kb.landscape()
    with pytest.raises(dataclasses.FrozenInstanceError):
        figures.incidents = 0  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        figures.by_nexus[0].share = 1.0  # type: ignore[misc]
    with pytest.raises(TypeError):
        figures.window["start"] = "1900-01-01"  # type: ignore[index]
    assert isinstance(figures.trend, tuple)
    # as_dict() hands out a fresh, plain copy each time.
    copy = figures.as_dict()
    copy["window"]["start"] = "1900-01-01"
    assert figures.as_dict()["window"]["start"] != "1900-01-01"


JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**63), 2**64 - 1)  # what orjson writes
    | st.floats(allow_nan=False)
    | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=20,
)


@given(JSON)
def test_freeze_then_thaw_gives_the_same_json_bytes(value: Any) -> None:
    assert orjson.dumps(thaw(freeze(value))) == orjson.dumps(value)


def test_a_key_without_a_field_is_refused_not_dropped(kb: KnowledgeBase) -> None:
    document = kb.landscape().as_dict() | {"new_key": 1}
    with pytest.raises(ValueError, match="Landscape: no field for new_key"):
        Landscape.from_dict(document)


def test_extract_store_writes_after_reading_and_equals_the_cli_json(
    tmp_path: Path,
) -> None:
    report = tmp_path / "report.txt"
    report.write_text("APT41 exploited CVE-2021-44228 (T1190).", encoding="utf-8")
    missing = tmp_path / "missing.txt"
    with KnowledgeBase(tmp_path / "api.db") as kb:
        with pytest.raises(InputError):
            kb.extract(missing, store=True)
        assert not (tmp_path / "api.db").exists()  # unreadable input: no database made
        stored = kb.extract(report, store=True, bundle=tmp_path / "api-bundle.json")
    assert stored.stored is not None and stored.stored["source"] == "extract"
    assert stored.stored["added"] == stored.stored["received"] > 0
    cli = json.loads(
        cli_json(tmp_path / "cli.db", "extract", str(report), "--store", "-o", str(tmp_path / "b"))
    )
    assert stored.as_dict() | {"stored": None} == cli | {"stored": None}
    assert stored.stored | {"import_id": None} == cli["stored"] | {"import_id": None}
    api_bundle = json.loads((tmp_path / "api-bundle.json").read_bytes())
    cli_bundle = json.loads((tmp_path / "b").read_bytes())
    assert api_bundle["objects"] == cli_bundle["objects"]


# -- DataFrames --------------------------------------------------------------------------------


@pytest.mark.skipif(not HAS_PANDAS, reason="pandas is not installed (extra threatscope[pandas])")
def test_to_frame_gives_one_row_per_nexus_and_actor(kb: KnowledgeBase) -> None:
    figures = kb.landscape()
    frame = figures.to_frame()
    assert list(frame.columns) == ["nexus", "label", "count", "share", "ci95_low", "ci95_high"]
    assert list(frame["nexus"]) == [s.nexus for s in figures.by_nexus]
    actors = kb.actors(nexus="KP").to_frame()
    assert len(actors) == len(kb.actors(nexus="KP"))


def test_to_frame_without_pandas_is_one_clear_import_error(
    kb: KnowledgeBase, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "pandas", None)  # as if not installed: import fails
    with pytest.raises(ImportError) as raised:
        kb.landscape().to_frame()
    assert isinstance(raised.value, PandasMissingError)
    assert str(raised.value) == (
        "to_frame() needs pandas, which is not installed: pip install 'threatscope[pandas]'"
    )


# -- the docs run ------------------------------------------------------------------------------

PYTHON_BLOCK = re.compile(r"```python\n(.*?)```", re.DOTALL)


def test_python_api_examples_run(
    built: dict[str, Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch, kev_path: Path
) -> None:
    """Every ```python block of docs/python-api.md, in order, in one namespace, in a folder
    holding a copy of the module's knowledge base as kb.db."""
    if not Path(built["db"]).is_file():
        pytest.skip("the docs' examples open kb.db, a SQLite file: they run on the SQLite pass")
    blocks = PYTHON_BLOCK.findall((ROOT / "docs" / "python-api.md").read_text(encoding="utf-8"))
    assert len(blocks) == 6
    shutil.copy(built["db"], tmp_path / "kb.db")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("THREATSCOPE_DATA", str(kev_path.parent.parent))
    namespace: dict[str, Any] = {}
    skipped = []
    for number, block in enumerate(blocks, 1):
        if "to_frame()" in block and not HAS_PANDAS:
            skipped.append(number)
            continue
        exec(compile(block, f"docs/python-api.md block {number}", "exec"), namespace)
    assert namespace["figures"].incidents == 107
    assert namespace["kev"].received == namespace["kev"].added
    assert skipped == ([] if HAS_PANDAS else [4])
    if skipped:
        pytest.skip("pandas is not installed: the DataFrame example did not run")
