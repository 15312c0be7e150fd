"""Integrity of stored versions (issue 11, items 10 and 13): a new version only from the stored
version's producer, no timestamps in the future, integers kept exactly or refused, a UTF-8 BOM
accepted on JSON input, and `export stix` then `import stix` keeping each object's importer."""

from __future__ import annotations

import json
import sqlite3
from contextlib import closing
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner, Result

from conftest import shared_file
from threatscope.cli import app
from threatscope.errors import InputError
from threatscope.ingest import write_objects
from threatscope.json_input import JSONInputError, loads
from threatscope.store import SQLiteStore

APT41 = "intrusion-set--18854f55-ac7c-4634-bd9a-352dd07613b7"
MITRE = "identity--c78cb6e5-0c4b-4611-8297-d1b8b55e40b5"
OTHER = "identity--11111111-1111-4111-8111-111111111111"
GROUP = "intrusion-set--22222222-2222-4222-8222-222222222222"
T0 = "2020-01-01T00:00:00.000Z"
REFUSAL_HINT = (
    "only an object's producer may publish a new version of it"
    " (--allow-foreign-versions replaces it anyway)"
)


def run(db: Path, *args: str) -> Result:
    return CliRunner().invoke(app, ["--db", str(db), *args])


def one_error_line(result: Result) -> str:
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    lines = result.stderr.splitlines()
    assert len(lines) == 1, lines
    return lines[0]


def bundle(path: Path, *objects: dict[str, Any], prefix: bytes = b"") -> Path:
    path.write_bytes(prefix + orjson.dumps({"type": "bundle", "objects": list(objects)}))
    return path


def group(modified: str, name: str = "Group", **extra: Any) -> dict[str, Any]:
    return {
        "type": "intrusion-set",
        "spec_version": "2.1",
        "id": GROUP,
        "created": T0,
        "modified": modified,
        "name": name,
        **extra,
    }


def snapshot(db: Path) -> list[Any]:
    """Everything a refused import could have changed."""
    with closing(sqlite3.connect(f"file:{db}?mode=ro", uri=True)) as conn:
        return [
            conn.execute(f"SELECT * FROM {table} ORDER BY 1").fetchall()
            for table in ("objects", "imports", "provenance", "aliases", "actors")
        ]


# -- item 10: only the producer publishes new versions (real ATT&CK) -------------------------


@pytest.fixture(scope="module")
def attack_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    db = tmp_path_factory.mktemp("attack") / "kb.db"
    path = shared_file("attack/enterprise-attack-18.1.json")
    result = run(db, "import", "attack", str(path))
    assert result.exit_code == 0, result.output
    return db


@pytest.fixture(scope="module")
def apt41(attack_db: Path) -> dict[str, Any]:
    with SQLiteStore(attack_db, read_only=True) as store:
        found = store.get_object(APT41)
    assert found is not None and found["name"] == "APT41"
    assert found["created_by_ref"] == MITRE
    return found


def test_another_producers_apt41_is_refused_and_nothing_is_written(
    attack_db: Path, apt41: dict[str, Any], tmp_path: Path
) -> None:
    forged = {**apt41, "modified": "2026-01-01T00:00:00.000Z", "created_by_ref": OTHER}
    before = snapshot(attack_db)
    result = run(attack_db, "import", "stix", str(bundle(tmp_path / "forged.json", forged)))
    assert one_error_line(result) == (
        f"error: {tmp_path / 'forged.json'}: object {APT41} (APT41): a new version from {OTHER}"
        f" would replace the stored one from {MITRE} (The MITRE Corporation); " + REFUSAL_HINT
    )
    assert snapshot(attack_db) == before


def test_a_version_without_created_by_ref_is_not_attacks(
    attack_db: Path, apt41: dict[str, Any], tmp_path: Path
) -> None:
    forged = {k: v for k, v in apt41.items() if k != "created_by_ref"}
    forged["modified"] = "2026-01-01T00:00:00.000Z"
    result = run(attack_db, "import", "stix", str(bundle(tmp_path / "bare.json", forged)))
    assert one_error_line(result).endswith(
        f"(APT41): a new version from importer 'stix' (no created_by_ref) would replace the"
        f" stored one from {MITRE} (The MITRE Corporation); " + REFUSAL_HINT
    )


def test_apt41_dated_9999_is_refused_and_the_official_reimport_stays_unchanged(
    attack_db: Path, apt41: dict[str, Any], tmp_path: Path
) -> None:
    """The issue's repro: the forged 9999 version used to replace APT41 and every official
    re-import then reported it 'older than stored'."""
    forged = {**apt41, "modified": "9999-12-31T00:00:00.000Z", "description": "forged"}
    before = snapshot(attack_db)
    result = run(attack_db, "import", "stix", str(bundle(tmp_path / "9999.json", forged)))
    line = one_error_line(result)
    assert line.startswith(
        f"error: {tmp_path / '9999.json'}: object {APT41} (APT41): 'modified'"
        " 9999-12-31T00:00:00.000Z is in the future (now is "
    )
    assert line.endswith(
        ", at most a day ahead is accepted): it would outrank every real later version"
    )
    assert snapshot(attack_db) == before
    official = run(attack_db, "import", "attack", "--json", str(shared_file(
        "attack/enterprise-attack-18.1.json"
    )))
    assert official.exit_code == 0, official.output
    counts = orjson.loads(official.stdout)
    assert (counts["unchanged"], counts["older"], counts["foreign"]) == (24771, 0, 0)


# -- item 10: the rule on hand-made versions ---------------------------------------------------


def test_allow_foreign_versions_replaces_and_counts_it(tmp_path: Path) -> None:
    db = tmp_path / "kb.db"
    first = bundle(tmp_path / "a.json", group(T0, "Original", created_by_ref=MITRE))
    assert run(db, "import", "stix", str(first)).exit_code == 0
    claim = group("2021-01-01T00:00:00Z", "Claim", created_by_ref=OTHER)
    newer = bundle(tmp_path / "b.json", claim)
    assert run(db, "import", "stix", str(newer)).exit_code == 2
    allowed = run(db, "import", "stix", "--allow-foreign-versions", "--json", str(newer))
    assert allowed.exit_code == 0, allowed.output
    report = orjson.loads(allowed.stdout)
    assert (report["updated"], report["foreign"]) == (1, 1)
    with SQLiteStore(db, read_only=True) as store:
        assert store.get_object(GROUP)["name"] == "Claim"
    text = run(db, "import", "stix", "--allow-foreign-versions", str(
        bundle(tmp_path / "c.json", group("2022-01-01T00:00:00Z", "Again", created_by_ref=MITRE))
    ))
    assert "1 stored objects replaced by another producer's version" in text.stdout


def test_without_created_by_ref_only_the_same_importer_updates(tmp_path: Path) -> None:
    """EuRepoC's incidents name no producer: only `import eurepoc` may publish their next
    version; the same producer through another importer is fine."""
    with SQLiteStore(tmp_path / "kb.db") as store:
        write_objects(store, "eurepoc", tmp_path / "a.csv", [group(T0, "One")])
        newer = group("2021-01-01T00:00:00.000Z", "Two")
        with pytest.raises(InputError, match="from importer 'table' \\(no created_by_ref\\)"
                           " would replace the stored one from importer 'eurepoc'"):
            write_objects(store, "table", tmp_path / "b.csv", [newer])
        report = write_objects(store, "eurepoc", tmp_path / "b.csv", [newer])
        assert (report.updated, report.foreign) == (1, 0)
        signed = group("2022-01-01T00:00:00.000Z", "Three", created_by_ref=MITRE)
        with pytest.raises(InputError, match="from identity--c78cb6e5"):
            write_objects(store, "eurepoc", tmp_path / "c.csv", [signed])


@pytest.mark.parametrize("key", ["created", "modified"])
def test_timestamps_more_than_a_day_ahead_are_refused(tmp_path: Path, key: str) -> None:
    db = tmp_path / "kb.db"
    assert run(db, "import", "stix", str(bundle(tmp_path / "ok.json", group(T0)))).exit_code == 0
    ahead = (datetime.now(UTC) + timedelta(days=2)).strftime("%Y-%m-%dT%H:%M:%S.000Z")
    stamps = {"created": ahead, "modified": ahead} if key == "created" else {"modified": ahead}
    other = {**group(T0), "id": "intrusion-set--33333333-3333-4333-8333-333333333333", **stamps}
    before = snapshot(db)
    line = one_error_line(run(db, "import", "stix", str(bundle(tmp_path / "f.json", other))))
    assert f"'{key}' {ahead} is in the future" in line
    assert snapshot(db) == before
    soon = (datetime.now(UTC) + timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M:%S.000Z")
    skewed = bundle(tmp_path / "skew.json", {**other, "created": T0, "modified": soon})
    assert run(db, "import", "stix", str(skewed)).exit_code == 0  # a clock a little ahead


# -- item 10: one incident dated 9999 moves nothing ------------------------------------------


def test_one_row_dated_9999_imports_and_does_not_move_the_default_window(tmp_path: Path) -> None:
    rows = [f"2024-{month:02d}-15,China,state,Taiwan" for month in range(1, 13)]
    rows += ["2025-03-31,China,state,Taiwan"]
    mapping = tmp_path / "map.toml"
    mapping.write_text(
        '[columns]\nsource = "crafted"\ndate = "date"\nactor_country = "country"\n'
        'actor_category = "category"\nvictim_country = "victim"\n',
        encoding="utf-8",
    )
    windows = []
    for name, extra in (("plain", []), ("typo", ["9999-01-01,China,state,Taiwan"])):
        table = tmp_path / f"{name}.csv"
        table.write_text("date,country,category,victim\n" + "\n".join(rows + extra) + "\n")
        db = tmp_path / f"{name}.db"
        result = run(db, "import", "table", str(table), "--mapping", str(mapping))
        assert result.exit_code == 0, result.output
        with SQLiteStore(db, read_only=True) as store:
            # The file's version is its latest date that is not in the future.
            assert {o["modified"] for o in store.iter_objects()} == {"2025-03-31T00:00:00.000Z"}
        figures = run(db, "landscape", "--json")
        assert figures.exit_code == 0, figures.output
        windows.append(orjson.loads(figures.stdout)["window"])
    assert windows == [{"start": "2024-04-01", "end": "2025-03-31"}] * 2


# -- item 13: integers, BOM ----------------------------------------------------------------


def test_an_integer_wider_than_64_bits_is_refused_naming_it(tmp_path: Path) -> None:
    db = tmp_path / "kb.db"
    wide = tmp_path / "wide.json"
    text = json.dumps({"type": "bundle", "objects": [group(T0, x_count=2**64)]})
    wide.write_text(text, encoding="utf-8")
    assert one_error_line(run(db, "import", "stix", str(wide))) == (
        f"error: {wide}: objects[0].x_count: integer 18446744073709551616 is wider than 64 bits"
        " and cannot be kept exactly (STIX integers are at most 54 bits)"
    )
    assert not db.exists()


def test_the_widest_integers_orjson_keeps_round_trip_exactly(tmp_path: Path) -> None:
    db = tmp_path / "kb.db"
    edge = group(T0, x_big=2**64 - 1, x_small=-(2**63))
    path = tmp_path / "edge.json"
    path.write_text(json.dumps({"type": "bundle", "objects": [edge]}), encoding="utf-8")
    assert run(db, "import", "stix", str(path)).exit_code == 0
    with SQLiteStore(db, read_only=True) as store:
        stored = store.get_object(GROUP)
    assert (stored["x_big"], stored["x_small"]) == (2**64 - 1, -(2**63))
    assert isinstance(stored["x_big"], int)


EDGE_INTEGERS = st.one_of(
    st.integers(),
    st.integers(min_value=2**63 - 5, max_value=2**64 + 5),
    st.integers(max_value=-(2**63) + 5, min_value=-(2**63) - 5),
    st.integers(min_value=2**64),
)


@given(EDGE_INTEGERS, st.text(alphabet="0123456789:,[ /", max_size=40), st.booleans())
@settings(max_examples=1000, deadline=None)
def test_json_integers_are_exact_or_refused(number: int, noise: str, compact: bool) -> None:
    """Digits in strings never trip the check; every integer is returned exactly or refused."""
    separators = (",", ":") if compact else (", ", ": ")
    document = json.dumps(
        {"n": number, "text": noise, "list": [noise, number]}, separators=separators
    )
    if -(2**63) <= number <= 2**64 - 1:
        assert loads(document.encode()) == {"n": number, "text": noise, "list": [noise, number]}
    else:
        with pytest.raises(JSONInputError, match=r"^n: integer .* is wider than 64 bits"):
            loads(document.encode())


def test_a_bom_prefixed_bundle_and_kev_feed_are_accepted(tmp_path: Path) -> None:
    db = tmp_path / "kb.db"
    bom = b"\xef\xbb\xbf"
    path = bundle(tmp_path / "bom.json", group(T0), prefix=bom)
    assert run(db, "import", "stix", str(path)).exit_code == 0
    kev = tmp_path / "kev.json"
    kev.write_bytes(bom + shared_file("kev/known_exploited_vulnerabilities.json").read_bytes())
    result = run(db, "import", "kev", "--json", str(kev))
    assert result.exit_code == 0, result.output
    assert orjson.loads(result.stdout)["added"] == 1404 + 1  # the CVEs and CISA's identity


def test_an_importer_name_that_is_not_one_is_bad_input(tmp_path: Path) -> None:
    path = bundle(tmp_path / "b.json", group(T0, x_threatscope_importer=["attack"]))
    assert one_error_line(run(tmp_path / "kb.db", "import", "stix", str(path))) == (
        f"error: {path}: object 0 ({GROUP}): 'x_threatscope_importer' must be an importer name"
        " such as 'attack': ['attack']"
    )


# -- item 13: export then import keeps each object's importer --------------------------------


@pytest.fixture(scope="module")
def full_db(attack_db: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    db = tmp_path_factory.mktemp("full") / "kb.db"
    db.write_bytes(attack_db.read_bytes())
    for source, path in (
        ("misp-galaxy", "misp-galaxy/threat-actor.json"),
        ("eurepoc", "incidents/eurepoc-1.1/EuRepoC_Global_Database_1.1.csv"),
    ):
        result = run(db, "import", source, str(shared_file(path)))
        assert result.exit_code == 0, result.output
    return db


def _by_source(db: Path, query: str) -> list[tuple[Any, ...]]:
    with closing(sqlite3.connect(f"file:{db}?mode=ro", uri=True)) as conn:
        return conn.execute(query).fetchall()


def test_export_then_import_keeps_each_objects_importer(full_db: Path, tmp_path: Path) -> None:
    exported = tmp_path / "export.json"
    assert run(full_db, "export", "stix", "-o", str(exported)).exit_code == 0
    fresh = tmp_path / "fresh.db"
    result = run(fresh, "import", "stix", str(exported))
    assert result.exit_code == 0, result.output

    live = "SELECT source, count(*) FROM objects WHERE revoked = 0 GROUP BY 1 ORDER BY 1"
    expected = [("attack", 24631), ("eurepoc", 9394), ("misp-galaxy", 1042)]
    assert _by_source(full_db, live) == _by_source(fresh, live) == expected
    named = "SELECT count(*) FROM objects WHERE json LIKE '%x_threatscope_importer%'"
    assert _by_source(fresh, named) == [(0,)]  # a column, not part of the stored object
    # Actor resolution ranks by importer: the same actors, with the same per-source aliases.
    actors = "SELECT id, doc FROM actors ORDER BY id"
    assert _by_source(fresh, actors) == _by_source(full_db, actors)
    members = "SELECT source, count(*) FROM actor_members GROUP BY 1 ORDER BY 1"
    assert _by_source(fresh, members) == [("attack", 181), ("eurepoc", 572), ("misp-galaxy", 1041)]
    for db in (full_db, fresh):
        figures = run(db, "landscape", "--source", "eurepoc", "--json")
        assert figures.exit_code == 0, figures.output
        assert orjson.loads(figures.stdout)["incidents"] == 23
    # EuRepoC's incidents name no producer: the importer restored, `import eurepoc` may still
    # bring their next version (and the same file changes nothing).
    again = run(fresh, "import", "eurepoc", "--json", str(shared_file(
        "incidents/eurepoc-1.1/EuRepoC_Global_Database_1.1.csv"
    )))
    assert again.exit_code == 0, again.output
    assert orjson.loads(again.stdout)["unchanged"] == 9394
