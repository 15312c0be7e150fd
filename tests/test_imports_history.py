"""`threatscope imports`: the provenance log, one row per import, with absolute paths."""

from __future__ import annotations

import json
import os
from pathlib import Path

from typer.testing import CliRunner

from threatscope.cli import app


def _bundle(tmp_path: Path) -> Path:
    path = tmp_path / "one.json"
    path.write_text(
        json.dumps(
            {
                "type": "bundle",
                "id": "bundle--6c4b8f8e-1d2a-4b7c-9e3f-0a1b2c3d4e5f",
                "objects": [
                    {
                        "type": "malware",
                        "spec_version": "2.1",
                        "id": "malware--6c4b8f8e-1d2a-4b7c-9e3f-0a1b2c3d4e5f",
                        "created": "2024-01-01T00:00:00Z",
                        "modified": "2024-01-01T00:00:00Z",
                        "name": "Relative Worm",
                        "is_family": True,
                    }
                ],
            }
        )
    )
    return path


def test_imports_lists_each_import_with_its_absolute_path(tmp_path: Path) -> None:
    bundle = _bundle(tmp_path)
    db = tmp_path / "kb.db"
    runner = CliRunner()
    cwd = os.getcwd()
    os.chdir(tmp_path)
    try:
        for _ in range(2):
            result = runner.invoke(app, ["--db", str(db), "import", "stix", "one.json"])
            assert result.exit_code == 0, result.output
    finally:
        os.chdir(cwd)
    result = runner.invoke(app, ["--db", str(db), "imports", "--json"])
    assert result.exit_code == 0
    history = json.loads(result.stdout)
    assert [(h["id"], h["source"], h["path"]) for h in history] == [
        (1, "stix", str(bundle.resolve())),
        (2, "stix", str(bundle.resolve())),
    ]
    assert [(h["added"], h["unchanged"]) for h in history] == [(1, 0), (0, 1)]
    assert all(h["finished"] >= h["started"] for h in history)


def test_read_commands_do_not_create_a_missing_database(tmp_path: Path) -> None:
    db = tmp_path / "typo.db"
    for command in (["stats"], ["imports"], ["actor", "list"], ["actor", "show", "APT41"]):
        result = CliRunner().invoke(app, ["--db", str(db), *command])
        assert result.exit_code == 2, command
        assert result.stderr.splitlines() == [
            f"error: {db}: no knowledge base here yet; "
            "fill one with `threatscope sync` or `threatscope import`"
        ]
    assert not db.exists()
