"""PostgreSQL answers the web UI's questions (store/browse_queries.py) as SQLite does, on the real
data of tests/test_postgres_queries.py (ATT&CK, the MISP galaxy, KEV, the reduced EuRepoC table
and its extra bundle, imported once into both backends): the same rows in the same order."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

import orjson
import pytest

from test_postgres_queries import APT28, both  # noqa: F401  (the module's fixture)
from threatscope.store import SQLiteStore
from threatscope.store.browse_queries import BrowseQueries
from threatscope.store.postgres import PostgresStore

Arguments = Callable[[SQLiteStore], tuple[Any, ...]]
RED = 4


def _members(db: SQLiteStore, actor: str) -> list[str]:
    return sorted(o for o, a in db.actor_members().items() if a == actor)


ARGUMENTS: dict[str, list[Arguments]] = {
    "search_objects": [
        lambda db: ("mimi", ["malware", "tool"], RED, 50),
        lambda db: ("CVE-2021-44", ["vulnerability"], RED, 50),
        lambda db: ("a", ["malware", "tool", "vulnerability", "indicator"], RED, 25),
        lambda db: ("100%_", ["malware"], RED, 50),
        lambda db: ("", ["intrusion-set"], 0, 2000),
        lambda db: ("x", [], RED, 10),
    ],
    "linked_objects": [
        lambda db: (_members(db, APT28), RED),
        lambda db: (_members(db, APT28), 0),
        lambda db: (sorted(db.current_object_ids(["intrusion-set"]))[:600], RED),
        lambda db: ([], RED),
    ],
    "initiated_incidents": [
        lambda db: (sorted(db.actor_members()), RED, 100),
        lambda db: (_members(db, APT28), RED, 5),
        lambda db: ([], RED, 5),
    ],
    "object_tlp_ranks": [
        lambda db: (sorted(db.current_object_ids(["intrusion-set", "incident"])),),
        lambda db: ([APT28, "malware--not-there"],),
        lambda db: ([],),
    ],
    "actor_tlp_ranks": [lambda db: ()],
    "recorded_splits": [lambda db: ()],
}


def test_every_question_has_arguments_and_both_signatures_match() -> None:
    questions = {name for name, value in vars(BrowseQueries).items()
                 if inspect.isfunction(value) and not name.startswith("_")}
    assert questions == set(ARGUMENTS)
    for name in questions:
        wanted = list(inspect.signature(getattr(BrowseQueries, name)).parameters)
        assert list(inspect.signature(getattr(PostgresStore, name)).parameters) == wanted
        assert list(inspect.signature(getattr(SQLiteStore, name)).parameters) == wanted


@pytest.mark.slow
@pytest.mark.parametrize(
    ("name", "arguments"),
    [pytest.param(name, a, id=f"{name}-{n}") for name, cases in ARGUMENTS.items()
     for n, a in enumerate(cases)],
)
def test_both_backends_answer_alike(
    both: tuple[SQLiteStore, PostgresStore, str],  # noqa: F811
    name: str,
    arguments: Arguments,
) -> None:
    sqlite, postgres, _ = both
    args = arguments(sqlite)
    expected = getattr(sqlite, name)(*args)
    answer = getattr(postgres, name)(*args)
    assert orjson.dumps(answer) == orjson.dumps(expected)
    if name == "search_objects" and args[0] == "mimi":
        assert [row[2] for row in answer] == ["Mimikatz", "MimiPenguin"]
    if name == "linked_objects" and args[1] == RED and args[0] == _members(sqlite, APT28):
        kinds = {(d, t, o["type"]) for d, t, _, o in answer}
        assert ("out", "uses", "attack-pattern") in kinds and ("out", "uses", "malware") in kinds
    if name == "initiated_incidents" and args[2] == 100:
        assert answer, "the extra bundle's incident names APT28"
