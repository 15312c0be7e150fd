"""Issue 11 item 8: only regular files of a bounded size are read. A FIFO, `/dev/zero`, a file
larger than its source's limit or a mirror symlink leading out of the mirror is refused with
one line and exit code 2, before anything is read or written.

Commands that could wait for ever on the old code run as real processes with a timeout."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from threatscope.cli import app
from threatscope.files import read_input

THREATSCOPE = Path(sys.executable).parent / "threatscope"
FIXTURES = Path(__file__).parent / "fixtures"
MiB = 1 << 20

KEV = {
    "title": "CISA Catalog of Known Exploited Vulnerabilities",
    "catalogVersion": "2024.05.02",
    "dateReleased": "2024-05-02T15:30:00.1234Z",
    "count": 1,
    "vulnerabilities": [
        {
            "cveID": "CVE-2021-44228",
            "vendorProject": "Apache",
            "product": "Log4j2",
            "vulnerabilityName": "Log4Shell",
            "dateAdded": "2021-12-10",
            "shortDescription": "JNDI lookup remote code execution.",
            "requiredAction": "Apply updates.",
            "dueDate": "2021-12-24",
            "knownRansomwareCampaignUse": "Known",
            "notes": "",
            "cwes": ["CWE-20"],
        }
    ],
}


def run(db: Path, *args: str) -> Result:
    return CliRunner().invoke(app, ["--db", str(db), *args])


def run_process(db: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """A real `threatscope` process: a read that never ends shows up as a timeout here."""
    return subprocess.run(
        [str(THREATSCOPE), "--db", str(db), *args],
        capture_output=True,
        text=True,
        timeout=60,
    )


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture
def kb(tmp_path: Path) -> Path:
    """A knowledge base holding one KEV entry, for the commands that read one."""
    db = tmp_path / "kb.db"
    source = tmp_path / "seed-kev.json"
    source.write_text(json.dumps(KEV))
    result = run(db, "import", "kev", str(source))
    assert result.exit_code == 0, result.stderr
    return db


def fifo(path: Path) -> Path:
    os.mkfifo(path)
    return path


def link_to_dev_zero(path: Path) -> Path:
    """/dev/zero under a name with the suffix a command wants (`extract` goes by suffix)."""
    path.symlink_to("/dev/zero")
    return path


# -- FIFOs and devices -----------------------------------------------------------------------

# (arguments with {} for the special file, its name, what the command says it expected)
COMMANDS = [
    (["import", "kev", "{}"], "kev.json", "the KEV JSON feed"),
    (["import", "stix", "{}"], "bundle.json", "a STIX bundle file"),
    (["import", "attack", "{}"], "enterprise-attack.json", "a STIX bundle file"),
    (["import", "misp-galaxy", "{}"], "threat-actor.json", "threat-actor.json"),
    (["import", "eurepoc", "{}"], "cyber_incidents_ref.csv", "a EuRepoC CSV export"),
    (
        ["import", "table", "{}", "--mapping", str(FIXTURES / "incidents.toml")],
        "incidents.csv",
        "a CSV, TSV or JSON Lines file",
    ),
    (
        ["import", "table", str(FIXTURES / "incidents.csv"), "--mapping", "{}"],
        "mapping.toml",
        "a TOML mapping file",
    ),
    (["extract", "{}"], "report.txt", "a report file"),
    (["attribute", "--text", "{}"], "report.html", "a report file"),
    (["attribute", "--bundle", "{}"], "bundle.json", "a STIX bundle file"),
]


@pytest.mark.parametrize(("arguments", "name", "expected"), COMMANDS, ids=lambda v: str(v))
def test_a_fifo_is_refused_without_waiting_for_a_writer(
    kb: Path, tmp_path: Path, arguments: list[str], name: str, expected: str
) -> None:
    special = fifo(tmp_path / name)
    before = sha256(kb)

    done = run_process(kb, *(a.replace("{}", str(special)) for a in arguments))

    assert done.returncode == 2, done.stderr
    assert done.stderr.splitlines() == [
        f"error: {special}: is a named pipe (FIFO), not a regular file; expected {expected}"
    ]
    assert sha256(kb) == before


@pytest.mark.parametrize(
    ("arguments", "name", "expected"),
    [COMMANDS[0], COMMANDS[1], COMMANDS[7]],
    ids=lambda v: str(v),
)
def test_dev_zero_is_refused_not_read_for_ever(
    kb: Path, tmp_path: Path, arguments: list[str], name: str, expected: str
) -> None:
    special = link_to_dev_zero(tmp_path / name)
    before = sha256(kb)

    done = run_process(kb, *(a.replace("{}", str(special)) for a in arguments))

    assert done.returncode == 2, done.stderr
    assert done.stderr.splitlines() == [
        f"error: {special}: is a character device, not a regular file; expected {expected}"
    ]
    assert sha256(kb) == before


def test_dev_zero_itself_is_refused(kb: Path) -> None:
    done = run_process(kb, "import", "stix", "/dev/zero")
    assert done.returncode == 2
    assert done.stderr.splitlines() == [
        "error: /dev/zero: is a character device, not a regular file; expected a STIX bundle file"
    ]


def test_a_fifo_as_the_knowledge_base_is_refused(tmp_path: Path) -> None:
    special = fifo(tmp_path / "kb.db")
    done = run_process(special, "stats")
    assert done.returncode == 2
    assert done.stderr.splitlines() == [
        f"error: {special}: not a regular file, so not a knowledge base file"
    ]


# -- size limits per source ------------------------------------------------------------------


def sparse(path: Path, size: int) -> Path:
    """A file of `size` bytes that takes no disk space: the limit is checked before reading."""
    with path.open("wb") as handle:
        handle.truncate(size)
    return path


@pytest.mark.parametrize(
    ("arguments", "name", "size", "message"),
    [
        (
            ["import", "kev", "{}"],
            "kev.json",
            65 * MiB,
            "is 65 MiB, over the 64 MiB limit for the KEV JSON feed",
        ),
        (
            ["import", "misp-galaxy", "{}"],
            "threat-actor.json",
            100 * MiB,
            "is 100 MiB, over the 64 MiB limit for threat-actor.json",
        ),
        (
            ["import", "stix", "{}"],
            "bundle.json",
            600 * MiB,
            "is 600 MiB, over the 512 MiB limit for a STIX bundle file",
        ),
        (
            ["import", "table", str(FIXTURES / "incidents.csv"), "--mapping", "{}"],
            "mapping.toml",
            4 * MiB + 512 * 1024,
            "is 4.5 MiB, over the 4 MiB limit for a TOML mapping file",
        ),
    ],
    ids=lambda v: str(v),
)
def test_a_file_over_its_sources_limit_is_refused_before_reading(
    kb: Path, tmp_path: Path, arguments: list[str], name: str, size: int, message: str
) -> None:
    big = sparse(tmp_path / name, size)
    before = sha256(kb)

    result = run(kb, *(a.replace("{}", str(big)) for a in arguments))

    assert result.exit_code == 2
    assert result.stderr.splitlines() == [f"error: {big}: {message}"]
    assert sha256(kb) == before


def test_a_file_at_the_limit_is_read_one_byte_more_is_not(tmp_path: Path) -> None:
    exact = tmp_path / "exact.json"
    exact.write_bytes(b"x" * 1000)
    assert read_input(exact, "a test file", max_bytes=1000) == b"x" * 1000
    with pytest.raises(Exception, match=r"is 1001 bytes, over the 1000 bytes limit"):
        exact.write_bytes(b"x" * 1001)
        read_input(exact, "a test file", max_bytes=1000)


def test_the_read_is_bounded_even_when_the_size_on_disk_says_otherwise() -> None:
    # /proc files say they hold 0 bytes and then give more: a file growing while we read it.
    proc = Path("/proc/self/maps")
    if not proc.exists():
        pytest.skip("needs Linux /proc")
    assert proc.stat().st_size == 0
    with pytest.raises(Exception, match=r"holds more than 64 bytes, the limit for a test file"):
        read_input(proc, "a test file", max_bytes=64)
    assert b"\n" in read_input(proc, "a test file")


# -- a sync mirror ---------------------------------------------------------------------------


def kev_mirror(root: Path) -> Path:
    (root / "kev").mkdir(parents=True)
    return root / "kev" / "known_exploited_vulnerabilities.json"


def test_a_mirror_symlink_leading_out_of_the_mirror_is_refused(kb: Path, tmp_path: Path) -> None:
    outside = tmp_path / "elsewhere" / "secret.json"
    outside.parent.mkdir()
    outside.write_text(json.dumps(KEV))
    mirror = tmp_path / "mirror"
    planted = kev_mirror(mirror)
    planted.symlink_to(outside)
    before = sha256(kb)

    result = run(kb, "sync", "--mirror", str(mirror), "--only", "kev")

    assert result.exit_code == 2
    assert result.stderr.splitlines() == [
        f"error: {planted}: links to {outside}, outside the mirror {mirror}"
    ]
    assert sha256(kb) == before


def test_a_mirror_directory_symlink_leading_out_is_refused(kb: Path, tmp_path: Path) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "known_exploited_vulnerabilities.json").write_text(json.dumps(KEV))
    mirror = tmp_path / "mirror"
    mirror.mkdir()
    (mirror / "kev").symlink_to(elsewhere, target_is_directory=True)

    result = run(kb, "sync", "--mirror", str(mirror), "--only", "kev")

    assert result.exit_code == 2
    found = mirror / "kev" / "known_exploited_vulnerabilities.json"
    assert result.stderr.splitlines() == [
        f"error: {found}: links to {elsewhere / found.name}, outside the mirror {mirror}"
    ]


def test_symlinks_inside_the_mirror_and_a_symlinked_mirror_are_read(tmp_path: Path) -> None:
    mirror = tmp_path / "mirror"
    archived = mirror / "archive" / "kev-2024-05-02.json"
    archived.parent.mkdir(parents=True)
    archived.write_text(json.dumps(KEV))
    kev_mirror(mirror).symlink_to(Path("..") / "archive" / archived.name)
    alias = tmp_path / "mirror-alias"
    alias.symlink_to(mirror, target_is_directory=True)
    db = tmp_path / "synced.db"

    result = run(db, "sync", "--mirror", str(alias), "--only", "kev", "--json")

    assert result.exit_code == 0, result.stderr
    [report] = json.loads(result.stdout)
    assert (report["source"], report["added"]) == ("kev", 2)  # the CVE and CISA's identity


def test_a_fifo_in_the_mirror_is_refused(kb: Path, tmp_path: Path) -> None:
    mirror = tmp_path / "mirror"
    special = fifo(kev_mirror(mirror))

    done = run_process(kb, "sync", "--mirror", str(mirror), "--only", "kev")

    assert done.returncode == 2
    assert done.stderr.splitlines() == [
        f"error: {special}: is a named pipe (FIFO), not a regular file; expected the KEV JSON feed"
    ]
