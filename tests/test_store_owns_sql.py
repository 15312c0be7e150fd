"""Nothing above `store/` speaks SQL: every question is a named method of the store's protocols
(store/queries.py), so another backend answers the same questions with its own SQL."""

from __future__ import annotations

import ast
import inspect
import re
import sqlite3
from pathlib import Path

import pytest

import threatscope
from threatscope.store import SQLiteStore
from threatscope.store.queries import (
    ActorQueries,
    Analytics,
    DocumentQueries,
    IncidentSelection,
    LandscapeQueries,
)
from threatscope.store.sqlite import SQLiteWriter

PACKAGE = Path(threatscope.__file__).resolve().parent

# Modules outside store/ that may speak SQL, each with why.
ALLOWED = {
    "extract/warninglists.py": "its SQLite file is a cache of pymispwarninglists' data, private "
    "to the module and rebuilt at will, not the knowledge base",
}

_CALLS = {"execute", "executemany", "executescript", "analytics"}
# A literal that reads as a statement: the keyword first, then what makes it SQL (so help text
# such as "With --on-bad-row skip: ..." is prose, while "SELECT 1" or "PRAGMA x" is SQL).
_STATEMENT = re.compile(
    r"""\s*(?:
        SELECT\s
      | PRAGMA\s+\w
      | INSERT\s+(?:OR\s+\w+\s+)?INTO\b
      | UPDATE\s+\S+\s+SET\b
      | DELETE\s+FROM\b
      | (?:CREATE|DROP)\s+(?:TEMP(?:ORARY)?\s+|UNIQUE\s+)?(?:TABLE|INDEX|VIEW|TRIGGER)\b
      | WITH\s+(?:RECURSIVE\s+)?\w+(?:\s*\([^)]*\))?\s+AS\s*\(
    )""",
    re.IGNORECASE | re.VERBOSE,
)


def _docstrings(tree: ast.AST) -> set[int]:
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
            body = node.body
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
                found.add(id(body[0].value))
    return found


def _text(node: ast.JoinedStr) -> str:
    """An f-string's text, its replacement fields written `{}`."""
    return "".join(
        str(part.value) if isinstance(part, ast.Constant) else "{}" for part in node.values
    )


def sql_uses(source: str) -> list[tuple[int, str]]:
    """(line, what) of every SQL call or statement literal in `source`."""
    tree = ast.parse(source)
    skip = _docstrings(tree)
    for node in ast.walk(tree):
        if isinstance(node, ast.JoinedStr):
            skip.update(id(part) for part in node.values)
    found = []
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr in _CALLS
        ):
            found.append((node.lineno, f".{node.func.attr}()"))
        elif isinstance(node, ast.Constant) and isinstance(node.value, str):
            if id(node) not in skip and _STATEMENT.match(node.value):
                found.append((node.lineno, node.value[:40]))
        elif isinstance(node, ast.JoinedStr) and _STATEMENT.match(_text(node)):
            found.append((node.lineno, _text(node)[:40]))
    return sorted(found)


def _modules() -> list[Path]:
    return sorted(
        path
        for path in PACKAGE.rglob("*.py")
        if path.relative_to(PACKAGE).parts[0] != "store"
    )


def test_no_sql_outside_the_store() -> None:
    offending = [
        f"{path.relative_to(PACKAGE).as_posix()}:{line}: {what}"
        for path in _modules()
        if path.relative_to(PACKAGE).as_posix() not in ALLOWED
        for line, what in sql_uses(path.read_text(encoding="utf-8"))
    ]
    assert offending == [], "SQL above store/ (make it a named store method):\n" + "\n".join(
        offending
    )


def test_every_allowed_module_still_needs_its_entry() -> None:
    for relative in ALLOWED:
        path = PACKAGE / relative
        assert path.is_file(), f"{relative}: allow-listed but gone"
        assert sql_uses(path.read_text(encoding="utf-8")), f"{relative}: no SQL left, drop it"


@pytest.mark.parametrize(
    "source",
    [
        "conn.execute('x')",
        "conn.executemany(q, rows)",
        "conn.executescript(script)",
        "rows = store.analytics()",
        "q = 'SELECT 1'",
        "q = ('select id FROM objects'\n     ' WHERE type = ?')",
        "q = f'SELECT {column} FROM t'",
        "q = 'PRAGMA user_version'",
        "q = 'INSERT OR REPLACE INTO actor_splits VALUES (?, ?)'",
        "q = 'update objects set revoked = 1'",
        "q = 'DELETE FROM temp.sector_root'",
        "q = 'CREATE TEMP TABLE t (a)'",
        "q = f'DROP TABLE IF EXISTS temp.{table}'",
        "q = 'WITH recent AS (SELECT 1) SELECT * FROM recent'",
    ],
)
def test_the_scan_finds(source: str) -> None:
    assert len(sql_uses(source)) == 1


@pytest.mark.parametrize(
    "source",
    [
        'def f():\n    """SELECT the rows we want."""',
        "help = 'With --on-bad-row skip: write the skipped rows (CSV).'",
        "word = 'select'",
        "text = ' with nexus '",
        "text = 'Update the knowledge base'",
        "text = 'Create a report'",
        "store.landscape_window(1, 2)",
    ],
)
def test_the_scan_leaves_prose_and_method_calls(source: str) -> None:
    assert sql_uses(source) == []


def _members(protocol: type) -> list[str]:
    return sorted(
        name
        for name, value in vars(protocol).items()
        if not name.startswith("_") and inspect.isfunction(value)
    )


@pytest.mark.parametrize("implementation", [SQLiteStore, SQLiteWriter])
def test_sqlite_answers_every_question(implementation: type) -> None:
    for protocol in (LandscapeQueries, ActorQueries, DocumentQueries):
        for name in _members(protocol):
            assert callable(getattr(implementation, name, None)), f"{implementation}.{name}"
            wanted = inspect.signature(getattr(protocol, name))
            got = inspect.signature(getattr(implementation, name))
            assert list(got.parameters) == list(wanted.parameters), name
            assert getattr(protocol, name).__doc__, f"{protocol.__name__}.{name}: no docstring"


def _answers(store: Analytics) -> dict[str, object]:
    """Every question taking no arguments, asked of `store` inside a landscape's working set."""
    store.select_landscape(IncidentSelection(0, 10, ("state",), ("state",)))
    store.landscape_lookups([("banking", "finance")], [("GB", "europe")])
    store.landscape_window(0, 10)
    answers = {
        name: getattr(store, name)()
        for protocol in (LandscapeQueries, ActorQueries, DocumentQueries)
        for name in _members(protocol)
        if len(inspect.signature(getattr(protocol, name)).parameters) == 1
        and name != "end_landscape"
    }
    answers["end_landscape"] = store.end_landscape()
    return answers


def test_answers_are_plain_values_never_cursors(tmp_path: Path) -> None:
    with SQLiteStore(tmp_path / "kb.sqlite") as store:
        answers = _answers(store)
        assert "actor_rows" in answers and "end_landscape" in answers
        for name, answer in answers.items():
            assert not isinstance(answer, sqlite3.Cursor | sqlite3.Connection), name
        # An empty knowledge base answers with empties, not errors.
        assert answers["latest_incident_day"] is None
        assert answers["incident_source_names"] == []
        assert answers["import_summary"] == (None, 0)
        assert answers["stored_cve_links"] is None  # made by the first import
        assert answers["landscape_lacking"] == dict.fromkeys(
            ("nexus", "victim_sector", "victim_country", "type", "technique", "cve"), 0
        )
        assert list(store.current_sightings()) == []
        # The working set is gone: a second landscape starts from nothing.
        with pytest.raises(sqlite3.OperationalError):
            store.landscape_lacking()
