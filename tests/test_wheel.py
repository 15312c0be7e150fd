"""The installed wheel behaves like the checkout (issue 10, item 3).

`attribution/calibration.json` was not package data, so `pip install` ran attribution
uncalibrated without a word. The wheel is built from a copy of the project (a build writes
`build/` and `*.egg-info` beside the sources), installed into a temporary target, and its CLI run
in a subprocess on commands that read every kind of data file the package ships.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import zipfile
from importlib.metadata import version
from pathlib import Path
from typing import Any

import orjson
import pytest
from typer.testing import CliRunner

from conftest import ROOT
from threatscope.attribution.calibrate import read_calibration
from threatscope.cli import app
from threatscope.errors import ConfigError

SETUPTOOLS = 77  # pyproject.toml [build-system]
PACKAGE = ROOT / "src" / "threatscope"
FIXTURES = Path(__file__).parent / "fixtures"
APPLEJEUS = (
    "attribute", "--software", "AppleJeus", "--software", "BLINDINGCAN",
    "--technique", "T1566.001", "--sector", "cryptocurrency", "--json",
)  # fmt: skip


def _data_files() -> list[str]:
    """Every file of the package that is not Python source: what the wheel must carry."""
    return sorted(
        path.relative_to(PACKAGE.parent).as_posix()
        for path in PACKAGE.rglob("*")
        if path.is_file() and path.suffix not in (".py", ".pyc") and "__pycache__" not in path.parts
    )


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    setuptools = version("setuptools")
    if int(setuptools.split(".")[0]) < SETUPTOOLS:
        pytest.skip(
            f"building the wheel offline needs setuptools>={SETUPTOOLS}, this environment has"
            f" {setuptools}: pip install -e '.[dev]'"
        )
    root = tmp_path_factory.mktemp("wheel")
    project = root / "project"
    project.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(ROOT / name, project / name)
    shutil.copytree(
        ROOT / "src", project / "src", ignore=shutil.ignore_patterns("__pycache__", "*.egg-info")
    )
    dist, site = root / "dist", root / "site"
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check", "--no-input", "-q"]
    subprocess.run(
        [*pip, "wheel", "--no-deps", "--no-build-isolation", "--no-index", "-w", dist, project],
        check=True,
        capture_output=True,
    )
    (wheel,) = dist.glob("threatscope-*.whl")
    subprocess.run(
        [*pip, "install", "--no-deps", "--no-index", "--target", site, wheel],
        check=True,
        capture_output=True,
    )
    return {"root": root, "wheel": wheel, "site": site}


def run_cli(package_parent: Path, cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """The CLI of the package under `package_parent`, alone on the path; one hash seed, so that
    the two runs compared differ only in where the package came from."""
    env = {**os.environ, "PYTHONPATH": str(package_parent), "PYTHONHASHSEED": "0"}
    code = "import sys, threatscope.cli as c; sys.stderr.write(c.__file__ + '\\n'); c.app()"
    done = subprocess.run(
        [sys.executable, "-c", code, *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert Path(done.stderr.splitlines()[0]).is_relative_to(package_parent), done.stderr
    return done


def run_installed(installed: dict[str, Path], *args: str) -> subprocess.CompletedProcess[str]:
    """The installed package's CLI; the checkout is not on the path (cwd is the temp root)."""
    return run_cli(installed["site"], installed["root"], *args)


def test_wheel_carries_every_data_file(installed: dict[str, Path]) -> None:
    with zipfile.ZipFile(installed["wheel"]) as wheel:
        names = set(wheel.namelist())
    missing = [name for name in _data_files() if name not in names]
    assert "threatscope/attribution/calibration.json" in _data_files()
    assert missing == []


def test_installed_attribution_matches_the_checkout(
    installed: dict[str, Path], tmp_path: Path, enterprise_path: Path
) -> None:
    db = tmp_path / "kb.db"
    runner = CliRunner()
    imported = runner.invoke(app, ["--db", str(db), "import", "attack", str(enterprise_path)])
    assert imported.exit_code == 0
    assert runner.invoke(app, ["--db", str(db), "import", "misp-galaxy"]).exit_code == 0
    checkout = run_cli(PACKAGE.parent, tmp_path, "--db", str(db), *APPLEJEUS)
    assert checkout.returncode == 0, checkout.stderr
    done = run_installed(installed, "--db", str(db), *APPLEJEUS)
    assert done.returncode == 0, done.stderr
    wheel_result: dict[str, Any] = orjson.loads(done.stdout)
    assert wheel_result == orjson.loads(checkout.stdout)
    assert wheel_result["candidates"][0]["name"] == "Lazarus Group"


def test_installed_cli_reads_schema_taxonomy_and_templates(
    installed: dict[str, Path], tmp_path: Path
) -> None:
    db = str(tmp_path / "incidents.db")
    mapping = str(FIXTURES / "incidents.toml")
    done = run_installed(
        installed, "--db", db, "import", "table", str(FIXTURES / "incidents.csv"),
        "--mapping", mapping, "--json",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr  # schema.sql, sector codes (sectors.toml)
    assert orjson.loads(done.stdout)["added"] > 0
    window = ("--window", "2025-01-01..2025-12-31")
    done = run_installed(
        installed, "--db", db, "landscape", "--victim-region", "europe", *window, "--json"
    )  # regions.csv
    assert done.returncode == 0, done.stderr
    result = orjson.loads(done.stdout)
    assert result["incidents"] == 1  # the German ministry
    assert [row["nexus"] for row in result["by_nexus"]] == ["RU"]
    html = tmp_path / "report.html"
    done = run_installed(installed, "--db", db, "report", "-o", str(html), *window)
    assert done.returncode == 0, done.stderr
    page = html.read_text(encoding="utf-8")
    assert "size: A4" in page  # report.css, inlined by the template
    assert "What the data cannot tell" in page  # 3 incidents: the small-n warning box
    assert "Russia" in page


def test_a_missing_calibration_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="calibration is missing"):
        read_calibration(tmp_path / "calibration.json")
    (tmp_path / "calibration.json").write_text('{"temperature": 1}', encoding="utf-8")
    with pytest.raises(ConfigError, match="not an attribution calibration"):
        read_calibration(tmp_path / "calibration.json")
