"""The gazetteer is kept in the user's cache (issue 12, item 3) and rebuilt when the knowledge
base it was built from changes: a name imported after the first build is found."""

from __future__ import annotations

import json
from pathlib import Path

import platformdirs
from typer.testing import CliRunner

from threatscope.cli import app
from threatscope.extract.entities import build_gazetteer, find_entities
from threatscope.store import open_store

TEXT = "The intruders used Zorblax and later Quuxdoor to keep access."


def _import_malware(db: Path, tmp_path: Path, name: str, uuid: str) -> None:
    bundle = {
        "type": "bundle",
        "id": f"bundle--{uuid}",
        "objects": [
            {
                "type": "malware",
                "spec_version": "2.1",
                "id": f"malware--{uuid}",
                "created": "2024-01-01T00:00:00.000Z",
                "modified": "2024-01-01T00:00:00.000Z",
                "name": name,
                "is_family": True,
            }
        ],
    }
    path = tmp_path / f"{name}.json"
    path.write_text(json.dumps(bundle), encoding="utf-8")
    result = CliRunner().invoke(app, ["--db", str(db), "import", "stix", str(path)])
    assert result.exit_code == 0, result.output


def _malware(db: Path) -> list[str]:
    with open_store(db) as store:
        return sorted(m["name"] for m in find_entities(build_gazetteer(store), TEXT)["malware"])


def test_cached_gazetteer_follows_the_knowledge_base(tmp_path: Path) -> None:
    db = tmp_path / "kb.db"
    _import_malware(db, tmp_path, "Zorblax", "6f1c7a52-0b3e-4a53-9a4e-0c1f4f1c0a01")
    cache = Path(platformdirs.user_cache_dir("threatscope")) / "gazetteer.pickle"
    assert _malware(db) == ["Zorblax"]
    assert cache.is_file()
    built = cache.stat().st_mtime_ns
    assert _malware(db) == ["Zorblax"]  # from the cache, not rebuilt
    assert cache.stat().st_mtime_ns == built
    _import_malware(db, tmp_path, "Quuxdoor", "6f1c7a52-0b3e-4a53-9a4e-0c1f4f1c0a02")
    assert _malware(db) == ["Quuxdoor", "Zorblax"]


def test_damaged_cache_is_rebuilt(tmp_path: Path) -> None:
    db = tmp_path / "kb.db"
    _import_malware(db, tmp_path, "Zorblax", "6f1c7a52-0b3e-4a53-9a4e-0c1f4f1c0a03")
    cache = Path(platformdirs.user_cache_dir("threatscope")) / "gazetteer.pickle"
    cache.parent.mkdir(parents=True, exist_ok=True)
    cache.write_bytes(b"\x80\x05not a pickle")
    assert _malware(db) == ["Zorblax"]
