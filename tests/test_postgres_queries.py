"""PostgreSQL answers every ActorQueries and DocumentQueries question (store/queries.py) as SQLite
does: the same values in the same order, documents with the same key order, and the commands
built on them (attribute, actor, extract) print byte-identical JSON on both backends.

ATT&CK Enterprise, the MISP galaxy, CISA KEV, the reduced EuRepoC table and a small bundle of
what those lack (an incident naming an actor and a lower-case CVE, infrastructure, a sighting,
markings, a declared source) are imported once per module into both backends.
"""

from __future__ import annotations

import inspect
import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest
from typer.testing import CliRunner

from conftest import shared_file
from postgres_server import PostgresServer
from threatscope.cli import app
from threatscope.errors import StoreError
from threatscope.ingest import run_import
from threatscope.store import SQLiteStore, open_store
from threatscope.store import postgres as postgres_module
from threatscope.store.postgres import PostgresStore
from threatscope.store.postgres_writer import PostgresWriter
from threatscope.store.queries import ActorQueries, DocumentQueries

REDUCED = "incidents/eurepoc-reduced-2026-03/cyber_incidents_ref.csv"
REPORT = "text/annoctr/dev/intel471_2021-04-19_china-cybercrime-big-data-privacy.txt"
APT28 = "intrusion-set--bef4c620-0787-42a8-a96d-b7eb6e85917c"
T0 = "2024-01-01T00:00:00.000Z"
TLP_GREEN = "marking-definition--34098fce-860f-48ae-8e50-ebd3cc5e41da"
SLUG = "apt28_2024-hospital"  # `_` is a LIKE wildcard on both backends


def _uid(n: int) -> str:
    return f"00000000-0000-4000-8000-{n:012d}"


def _extra_objects() -> list[dict[str, Any]]:
    """What the public data lacks for some questions, one object or two each."""
    base = {"spec_version": "2.1", "created": T0, "modified": T0}
    infra, member = f"infrastructure--{_uid(1)}", f"infrastructure--{_uid(3)}"
    indicator = f"indicator--{_uid(2)}"
    incident, observed = f"incident--{_uid(4)}", f"observed-data--{_uid(5)}"
    return [
        {
            **base,
            "type": "incident",
            "id": incident,
            "name": "Hospital ransomware",
            "description": "The intruders exploited cve-2021-44228 on an exposed server.",
            "x_threatscope_first_seen": "2024-03-05",
            "x_threatscope_initiators": [
                {"category": "state", "country": "RU", "actor_ref": APT28},
                {"category": "criminal", "country": None, "actor_ref": APT28},
            ],
            "x_threatscope_victims": [
                {"country": "DE", "sectors": ["health", "finance"]},
                {"country": None, "sectors": []},
            ],
            "object_marking_refs": [TLP_GREEN],
            "granular_markings": [{"marking_ref": TLP_GREEN, "selectors": ["description"]}],
        },
        {**base, "type": "infrastructure", "id": infra, "name": "C2 cluster"},
        {**base, "type": "infrastructure", "id": member, "name": "C2 node"},
        {
            **base,
            "type": "indicator",
            "id": indicator,
            "pattern": "[ipv4-addr:value = '203.0.113.7']",
            "pattern_type": "stix",
            "valid_from": T0,
        },
        *(
            {
                **base,
                "type": "relationship",
                "id": f"relationship--{_uid(10 + n)}",
                "relationship_type": kind,
                "source_ref": source,
                "target_ref": target,
                "external_references": [
                    {"source_name": "report", "url": f"https://example.org/{SLUG}"}
                ],
            }
            for n, (source, kind, target) in enumerate(
                [
                    (indicator, "indicates", APT28),
                    (APT28, "uses", infra),
                    (infra, "consists-of", member),
                ]
            )
        ),
        {
            **base,
            "type": "observed-data",
            "id": observed,
            "first_observed": T0,
            "last_observed": T0,
            "number_observed": 1,
            "object_refs": [member],
        },
        {
            **base,
            "type": "sighting",
            "id": f"sighting--{_uid(6)}",
            "sighting_of_ref": indicator,
            "observed_data_refs": [observed],
        },
        {
            **base,
            "type": "report",
            "id": f"report--{_uid(7)}",
            "name": "Hospital report",
            "published": T0,
            "object_refs": [incident, APT28],
        },
        {
            **base,
            "type": "identity",
            "id": f"identity--{_uid(8)}",
            "name": "Hospital feed",
            "identity_class": "organization",
            "x_threatscope_source": "hospital-feed",
            "x_threatscope_citation": "Hospital feed (2024)",
            "x_threatscope_licence": "CC0",
        },
    ]


@pytest.fixture(scope="module")
def both(
    tmp_path_factory: pytest.TempPathFactory,
    postgres_server: PostgresServer,
    enterprise_path: Path,
    misp_path: Path,
    kev_path: Path,
) -> Iterator[tuple[SQLiteStore, PostgresStore, str]]:
    folder = tmp_path_factory.mktemp("queries")
    extra = folder / "extra.json"
    extra.write_bytes(orjson.dumps({"type": "bundle", "objects": _extra_objects()}))
    files = (
        ("misp-galaxy", misp_path),
        ("attack", enterprise_path),
        ("kev", kev_path),
        ("eurepoc", shared_file(REDUCED)),
        ("stix", extra),
    )
    db = folder / "kb.db"
    url = postgres_server.create_database("queries")
    for location in (db, url):
        with open_store(location) as kb:
            for source, path in files:
                run_import(kb, source, path)
    sqlite, postgres = SQLiteStore(db, read_only=True), PostgresStore(url, read_only=True)
    try:
        yield sqlite, postgres, url
    finally:
        sqlite.close()
        postgres.close()


def _members(protocol: type) -> list[str]:
    return sorted(
        name
        for name, value in vars(protocol).items()
        if not name.startswith("_") and inspect.isfunction(value)
    )


QUESTIONS = _members(ActorQueries) + _members(DocumentQueries)

Arguments = Callable[[SQLiteStore], tuple[Any, ...]]


def _actor_ids(db: SQLiteStore) -> list[str]:
    return [actor_id for actor_id, _, _ in db.actor_rows()]


def _kev_names(db: SQLiteStore) -> list[str]:
    return [name for _, name in db.vulnerability_names() if name]


# Realistic arguments for the questions that take some, each set asked in turn (lists longer
# than SQLite's chunk of 500 ids, unknown values, a missing object).
ARGUMENTS: dict[str, list[Arguments]] = {
    "holds_source": [lambda db: ("kev",), lambda db: ("nowhere",)],
    "actor_name_variants": [
        lambda db: (_actor_ids(db)[:300],),
        lambda db: ([APT28, "intrusion-set--not-there"],),
        lambda db: ([],),
    ],
    "actor_nexus": [lambda db: (_actor_ids(db),), lambda db: ([],)],
    "actor_attack_group_ids": [lambda db: (_actor_ids(db),), lambda db: ([],)],
    "current_object_ids": [
        lambda db: (["intrusion-set", "threat-actor", "campaign"],),
        lambda db: (["vulnerability"],),
    ],
    "current_objects_by_id": [
        lambda db: (sorted(db.current_object_ids(["malware", "tool", "campaign"]))[::-1],),
        lambda db: ([APT28, "malware--not-there", APT28],),
        lambda db: ([],),
    ],
    "vulnerability_by_name": [lambda db: ("CVE-2021-44228",), lambda db: ("CVE-1999-0001",)],
    "vulnerabilities_named": [
        lambda db: (_kev_names(db),),
        lambda db: (["CVE-2021-44228", "cve-2021-44228", "CVE-1999-0001"],),
    ],
    "name_and_attack_id": [
        lambda db: ("attack-pattern--970a3432-3237-47ad-bcca-7d8cbb217736",),  # T1059.001
        lambda db: (APT28,),
        lambda db: ("attack-pattern--not-there",),
    ],
    "attributions": [lambda db: ("campaign",), lambda db: ("intrusion-set",)],
    "attack_pattern_ids": [
        lambda db: (["T1059", "T1059.001", "T1566.001", "T9999", "t1059"],),
        lambda db: ([],),
    ],
    "incident_victims": [lambda db: (range(1, 5000),), lambda db: ([],)],
    "relationships_citing": [lambda db: (SLUG,), lambda db: ("apt28x2024-hospital",)],
    "latest_modified": [
        lambda db: ("attack", "attack-pattern"),
        lambda db: ("kev", "vulnerability"),
        lambda db: ("nowhere", "incident"),
    ],
}

CASES = [
    pytest.param(name, arguments, id=f"{name}-{number}")
    for name in QUESTIONS
    for number, arguments in enumerate(ARGUMENTS.get(name, [lambda db: ()]))
]


# Questions whose rows end with when an import finished: a clock, never equal across backends.
TIMED = {"changing_imports", "table_import_sources"}


def _plain(value: Any) -> Any:
    """An answer as comparable data: iterators read, sets sorted (their order means nothing)."""
    if isinstance(value, set | frozenset):
        return sorted(value)
    if isinstance(value, Iterator):
        return list(value)
    return value


def test_every_question_with_parameters_has_arguments() -> None:
    takes = {
        name
        for protocol in (ActorQueries, DocumentQueries)
        for name in _members(protocol)
        if len(inspect.signature(getattr(protocol, name)).parameters) > 1
    }
    assert takes == set(ARGUMENTS)


@pytest.mark.parametrize("implementation", [PostgresStore, PostgresWriter])
def test_postgres_answers_every_actor_and_document_question(implementation: type) -> None:
    for protocol in (ActorQueries, DocumentQueries):
        for name in _members(protocol):
            wanted = inspect.signature(getattr(protocol, name))
            got = inspect.signature(getattr(implementation, name))
            assert list(got.parameters) == list(wanted.parameters), name


@pytest.mark.slow
@pytest.mark.parametrize(("name", "arguments"), CASES)
def test_both_backends_answer_alike(
    both: tuple[SQLiteStore, PostgresStore, str], name: str, arguments: Arguments
) -> None:
    sqlite, postgres, _ = both
    args = arguments(sqlite)
    expected = _plain(getattr(sqlite, name)(*args))
    answer = _plain(getattr(postgres, name)(*args))
    if name in TIMED:
        assert all(row[-1] for row in answer + expected)  # each import finished
        expected, answer = [row[:-1] for row in expected], [row[:-1] for row in answer]
    assert type(answer) is type(expected)
    # orjson keeps dict and list order: equal bytes are the same values in the same order,
    # documents with their keys in the same order too.
    assert orjson.dumps(answer) == orjson.dumps(expected)


@pytest.mark.slow
def test_exact_answers_on_the_real_data(
    both: tuple[SQLiteStore, PostgresStore, str], kev_path: Path
) -> None:
    _, postgres, _ = both
    catalogue = json.loads(kev_path.read_text(encoding="utf-8"))["vulnerabilities"]
    ransomware = {
        v["cveID"] for v in catalogue if v.get("knownRansomwareCampaignUse") == "Known"
    }
    assert postgres.ransomware_cve_names() == ransomware
    assert len(ransomware) == 293
    assert len(postgres.vulnerability_names()) == len(catalogue) == 1404
    assert len(postgres.attack_techniques()) == 691  # of 703: 12 deprecated
    assert postgres.import_summary() == (5, 5)
    assert postgres.holds_source("kev") and not postgres.holds_source("nowhere")
    (apt28,) = postgres.find_actors("APT28")
    assert postgres.actor_attack_group_ids([apt28["id"]]) == {apt28["id"]: "G0007"}
    # SQLite's LIKE ignores case: "cve-2021-44228" is a mention, on both backends.
    assert [doc["name"] for doc, _ in postgres.incidents_mentioning_cves()] == [
        "Hospital ransomware"
    ]
    assert postgres.relationships_citing(SLUG) == {f"relationship--{_uid(n)}" for n in (10, 11, 12)}
    initiators = postgres.named_initiators()
    assert [(day, ref) for _, day, ref in initiators] == [(19787, APT28), (19787, APT28)]
    fact = initiators[0][0]
    assert postgres.incident_victims([fact]) == [
        (fact, None, None),
        (fact, "DE", "finance"),
        (fact, "DE", "health"),
    ]
    assert postgres.declared_sources() == [("hospital-feed", "Hospital feed (2024)", "CC0")]
    assert postgres.attack_matrix_domains() == ['["enterprise-attack"]']
    assert dict(postgres.marking_ref_counts()) == {
        "marking-definition--fa42a846-8d90-4e51-bc29-71d5b4802168": 24630,
        TLP_GREEN: 1,
    }
    # ATT&CK's 293 links, and the one the writer derived from the bundle's incident.
    links = postgres.stored_cve_links() or []
    assert len(links) == 294
    assert [link[:4] for link in links if link[2] == "incident"] == [
        (APT28, "CVE-2021-44228", "incident", f"incident--{_uid(4)}")
    ]


def test_a_write_transaction_answers_what_it_has_written(postgres_url: str, tmp_path: Path) -> None:
    """The writer's questions see its own transaction (an import derives CVE links that way)."""
    bundle = tmp_path / "extra.json"
    bundle.write_bytes(orjson.dumps({"type": "bundle", "objects": _extra_objects()}))
    with open_store(postgres_url) as store:
        with store.write() as writer:
            writer.upsert(_extra_objects(), "stix", str(bundle))
            assert writer.holds_source("stix")
            assert [doc["name"] for doc, _ in writer.current_reports()] == ["Hospital report"]
            assert len(writer.value_relationships()) == 3
        assert store.holds_source("stix")


def test_only_landscape_questions_are_not_available_yet(postgres_url: str) -> None:
    """The questions PostgreSQL does not answer yet are computed from what PostgresStore lacks:
    none of ActorQueries or DocumentQueries, each of the rest one line naming its feature."""
    assert postgres_module._NOT_YET.isdisjoint(QUESTIONS)
    with open_store(postgres_url) as store:
        for name in postgres_module._NOT_YET:
            with pytest.raises(StoreError, match="is not available on PostgreSQL yet"):
                getattr(store, name)
        with pytest.raises(AttributeError):
            store.no_such_question  # noqa: B018


# -- the commands on both backends -----------------------------------------------------------

COMMANDS = [
    ["attribute", "--technique", "T1059.001", "--technique", "T1566.001", "--technique",
     "T1003.001", "--json"],
    ["attribute", "--software", "Mimikatz", "--cve", "CVE-2021-44228", "--sector", "government",
     "--victim-country", "UA", "--json"],
    ["attribute", "--text", "REPORT", "--json"],
    ["extract", "REPORT", "--json"],
    ["actor", "show", "APT28", "--json"],
    ["actor", "show", "Lazarus Group", "--json"],
    ["actor", "list", "--json"],
    ["actor", "list", "--nexus", "RU", "--json"],
    ["stats", "--json"],
]  # fmt: skip


@pytest.mark.slow
@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: " ".join(c[:3]))
def test_commands_print_the_same_bytes_on_both_backends(
    both: tuple[SQLiteStore, PostgresStore, str], command: list[str]
) -> None:
    sqlite, _, url = both
    command = [str(shared_file(REPORT)) if arg == "REPORT" else arg for arg in command]
    on_file = CliRunner().invoke(app, ["--db", sqlite.location, *command])
    on_server = CliRunner().invoke(app, ["--db", url, *command])
    assert on_file.exit_code == on_server.exit_code == 0, on_server.output
    assert on_server.stdout == on_file.stdout
    assert len(on_file.stdout) > 500  # a real answer, not an empty one
