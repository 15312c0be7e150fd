"""`import table` through a mapping file, on a fixture written for the purpose."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import orjson
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner, Result

from threatscope.cli import app
from threatscope.sources.table import table_to_stix

FIXTURES = Path(__file__).parent / "fixtures"
CSV = FIXTURES / "incidents.csv"
MAPPING = FIXTURES / "incidents.toml"


def run(db: Path, *args: str) -> Result:
    return CliRunner().invoke(app, ["--db", str(db), *args])


def imported(tmp_path: Path) -> Path:
    db = tmp_path / "kb.db"
    result = run(db, "import", "table", str(CSV), "--mapping", str(MAPPING))
    assert result.exit_code == 0, result.output
    return db


def landscape(db: Path, *args: str) -> dict[str, Any]:
    result = run(db, "landscape", "--json", *args)
    assert result.exit_code == 0, result.output
    return orjson.loads(result.stdout)


def test_mapping_import_normalises_every_column(tmp_path: Path) -> None:
    db = tmp_path / "kb.db"
    result = run(db, "import", "table", str(CSV), "--mapping", str(MAPPING), "--json")
    assert result.exit_code == 0, result.output
    report = orjson.loads(result.stdout)
    # 6 incidents, 6 victims + targets, 6 named actors (one "Unknown") -> 5 actors + 5 links.
    assert report["added"] == 6 + 6 + 6 + 5 + 5
    assert report["incidents"] == {
        "incidents": 6,
        "undated": 0,
        "unmapped_sectors": {},
        "victims_without_country": {},
        "actors_without_country": {},
    }
    from threatscope.store import open_store

    with open_store(db) as store:
        incidents = {
            i["external_references"][0]["external_id"]: i for i in store.iter_objects(["incident"])
        }
    first = incidents["INC-1"]
    assert first["x_threatscope_first_seen"] == "2025-02-03"
    assert first["x_threatscope_initiators"][0]["country"] == "RU"
    assert first["x_threatscope_initiators"][0]["category"] == "state"
    assert first["x_threatscope_victims"][0]["sectors"] == ["military", "diplomacy"]
    assert first["x_threatscope_victims"][0]["country"] == "DE"
    assert first["x_threatscope_cves"] == ["CVE-2023-23397"]
    assert incidents["INC-3"]["x_threatscope_initiators"][0]["country"] == "KP"
    assert incidents["INC-5"]["x_threatscope_initiators"][0]["category"] == "state-affiliated"
    assert incidents["INC-5"]["x_threatscope_victims"][0]["sectors"] == ["semiconductors"]
    assert incidents["INC-6"]["x_threatscope_victims"][0]["sectors"] == ["artificial-intelligence"]
    assert incidents["INC-4"]["x_threatscope_initiators"][0]["category"] == "criminal"


def test_landscape_over_the_fixture(tmp_path: Path) -> None:
    db = imported(tmp_path)
    figures = landscape(db, "--window", "2025-01-01..2026-03-31")
    # INC-4 is criminal, so 5 state incidents: CN 2, RU 1, KP 1, IR 1.
    assert figures["incidents"] == 5
    assert {r["nexus"]: r["count"] for r in figures["by_nexus"]} == {
        "CN": 2,
        "RU": 1,
        "KP": 1,
        "IR": 1,
    }
    technology = landscape(db, "--window", "2025-01-01..2026-03-31", "--sector", "technology")
    assert technology["incidents"] == 3  # telecoms (Guam), semiconductors (TW), AI (US)
    assert (
        landscape(db, "--window", "2025-01-01..2026-03-31", "--victim-country", "Taiwan")[
            "incidents"
        ]
        == 1
    )
    europe = landscape(db, "--window", "2025-01-01..2026-03-31", "--victim-region", "europe")
    assert [r["nexus"] for r in europe["by_nexus"]] == ["RU"]
    crime = landscape(db, "--window", "2025-01-01..2026-03-31", "--actor-category", "criminal")
    assert crime["incidents"] == 1 and crime["by_nexus"][0]["nexus"] == "unknown"
    cves = {r["cve"] for r in figures["exploited_cves"]["overall"]}
    assert cves == {"CVE-2023-23397", "CVE-2024-3400", "CVE-2023-46805"}
    assert figures["coverage"]["lacking"]["exploited_cves"] == 3


def test_reimport_changes_nothing(tmp_path: Path) -> None:
    db = imported(tmp_path)
    result = run(db, "import", "table", str(CSV), "--mapping", str(MAPPING), "--json")
    report = orjson.loads(result.stdout)
    assert (report["added"], report["updated"]) == (0, 0)


def _bad_copy(tmp_path: Path, old: str, new: str) -> Path:
    text = CSV.read_text(encoding="utf-8")
    assert old in text
    path = tmp_path / "bad.csv"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    return path


def test_bad_rows_exit_2_with_the_row_and_write_nothing(tmp_path: Path) -> None:
    db = imported(tmp_path)
    before = hashlib.sha256(db.read_bytes()).hexdigest()
    for old, new, message in (
        ("17/06/2025", "2025-06-17", "row 2: date '2025-06-17' does not match %d/%m/%Y"),
        ("Cybercrime", "Mercenary", "row 4: unknown actor category 'Mercenary'"),
        ("CVE-2024-3400", "CVE-24-3400", "row 2: cve 'CVE-24-3400' is not a CVE id"),
        (",85\n", ",high\n", "row 1: confidence 'high' is not an integer 0-100"),
    ):
        bad = _bad_copy(tmp_path, old, new)
        result = run(db, "import", "table", str(bad), "--mapping", str(MAPPING))
        assert result.exit_code == 2, (old, result.output)
        assert result.stderr.startswith(f"error: {bad}: {message}"), result.stderr
        assert hashlib.sha256(db.read_bytes()).hexdigest() == before


def test_bad_mappings_are_refused(tmp_path: Path) -> None:
    db = tmp_path / "kb.db"
    for text, message in (
        ("[columns]\ntitle = 'x'\n", "[columns] must name at least the `date` column"),
        ("[columns]\ndate = 'seen'\nbogus = 'x'\n", "unknown field(s) bogus"),
        ("[columns]\ndate = 'when'\n", "mapped column(s) not in the header: date -> 'when'"),
        ("[columns]\ndate = 'seen'\nsector_scheme = 'sic'\n", "sector_scheme 'sic'"),
        ("[columns\n", "not a valid TOML mapping"),
    ):
        mapping = tmp_path / "m.toml"
        mapping.write_text(text, encoding="utf-8")
        result = run(db, "import", "table", str(CSV), "--mapping", str(mapping))
        assert result.exit_code == 2, text
        assert message in result.stderr, result.stderr
    assert not db.exists()
    result = run(db, "import", "table", str(CSV))
    assert result.exit_code == 2 and "needs --mapping" in result.stderr


def test_jsonl_rows_may_hold_lists(tmp_path: Path) -> None:
    rows = [
        {
            "when": "2025-05",
            "who": ["APT29", "APT28"],
            "from": "Russia",
            "cat": "state",
            "sectors": ["government", "defense"],
            "where": "FR",
        },
    ]
    text = "\n".join(orjson.dumps(r).decode() for r in rows)
    mapping = {
        "columns": {
            "date": "when",
            "actor": "who",
            "actor_country": "from",
            "actor_category": "cat",
            "sector": "sectors",
            "victim_country": "where",
            "format": "jsonl",
        },
        "split": {},
        "values": {},
        "defaults": {},
    }
    objects = table_to_stix(text, "x.jsonl", mapping)
    incident = next(o for o in objects if o["type"] == "incident")
    assert [i["name"] for i in incident["x_threatscope_initiators"]] == ["APT29", "APT28"]
    assert {i["country"] for i in incident["x_threatscope_initiators"]} == {"RU"}
    assert incident["x_threatscope_victims"][0]["sectors"] == ["government", "defence"]
    assert incident["x_threatscope_first_seen"] == "2025-05-01"


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=12),
        min_size=1,
        max_size=4,
    )
)
def test_any_sector_cell_is_either_mapped_or_listed_as_unmapped(cells: list[str]) -> None:
    mapping = {
        "columns": {"date": "d", "sector": "s", "format": "jsonl"},
        "split": {},
        "values": {},
        "defaults": {},
    }
    text = orjson.dumps({"d": "2025-01-01", "s": cells}).decode()
    incident = next(o for o in table_to_stix(text, "x.jsonl", mapping) if o["type"] == "incident")
    victim = incident["x_threatscope_victims"][0]
    kept = {c.strip() for c in cells if c.strip()}
    assert set(victim["raw_sectors"]) == kept
    assert set(victim["unmapped_sectors"]) <= kept


def test_export_and_reimport_as_stix_keeps_the_landscape(tmp_path: Path) -> None:
    db = imported(tmp_path)
    bundle = tmp_path / "bundle.json"
    assert run(db, "export", "stix", "-o", str(bundle)).exit_code == 0
    other = tmp_path / "other.db"
    assert run(other, "import", "stix", str(bundle)).exit_code == 0
    window = ("--window", "2025-01-01..2026-03-31")
    original, copy = landscape(db, *window), landscape(other, *window)
    assert copy["by_nexus"] == original["by_nexus"]
    assert copy["sectors"] == original["sectors"]
    # The incidents keep the source their mapping named, whichever importer read them.
    assert copy["sources"][0]["source"] == "fixture-feed" and copy["sources"][0]["incidents"] == 6


def test_access_techniques_and_cves_join_attack_and_kev(
    tmp_path: Path, enterprise_path: Path, kev_path: Path
) -> None:
    db = imported(tmp_path)
    assert run(db, "import", "attack", str(enterprise_path)).exit_code == 0
    assert run(db, "import", "kev", str(kev_path)).exit_code == 0
    figures = landscape(db, "--window", "2025-01-01..2026-03-31")
    techniques = {r["name"]: r for r in figures["initial_access"]["overall"]}
    assert techniques["Exploit Public-Facing Application"]["attack_id"] == "T1190"
    # "T1566" (INC-1) and "Phishing" (INC-3) are one technique once ATT&CK is known.
    assert techniques["Phishing"] == {
        "technique": "T1566",
        "count": 2,
        "attack_id": "T1566",
        "name": "Phishing",
    }
    cves = {r["cve"]: r for r in figures["exploited_cves"]["overall"]}
    assert cves["CVE-2024-3400"]["in_kev"] is True
    assert cves["CVE-2024-3400"]["kev_product"] == "Palo Alto Networks PAN-OS"
    assert cves["CVE-2023-46805"]["kev_date_added"] == "2024-01-10"
