"""A real PostgreSQL server for the tests: a throwaway cluster (initdb + pg_ctl on a temporary data
directory, a unix socket, fsync off) started once per session and stopped at its end, or the
server `THREATSCOPE_TEST_POSTGRES_URL` names (a role allowed to create databases). Each test gets a
database of its own. Without either, the PostgreSQL tests skip and say why; `.ci/run` installs
Debian's `postgresql`, so they run in CI.

initdb refuses to run as root: as root, the cluster is made and run by the `postgres` user (which
Debian's package creates), else by `nobody`.
"""

from __future__ import annotations

import glob
import itertools
import os
import pwd
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

import psycopg
import pytest
from psycopg import sql

ENV = "THREATSCOPE_TEST_POSTGRES_URL"
_ROLE = "threatscope"
_SKIP = (
    "no PostgreSQL for the tests: neither initdb/pg_ctl on PATH or in /usr/lib/postgresql/*/bin"
    f" (Debian: apt-get install postgresql; .ci/run installs it) nor {ENV} naming a server"
)


def binaries() -> Path | None:
    """The directory holding initdb and pg_ctl: PATH first, else Debian's newest version."""
    found = shutil.which("initdb")
    if found:
        real = Path(found).resolve().parent
        if (real / "pg_ctl").exists():
            return real
    versions = [Path(p).parent for p in glob.glob("/usr/lib/postgresql/*/bin/initdb")]
    versions.sort(key=lambda d: int(d.parent.name) if d.parent.name.isdigit() else 0)
    return versions[-1] if versions else None


def _run_as() -> list[str]:
    """The prefix that runs a server program as a non-root user when we are root."""
    if os.geteuid() != 0:
        return []
    for user in ("postgres", "nobody"):
        try:
            pwd.getpwnam(user)
        except KeyError:
            continue
        return ["runuser", "-u", user, "--"]
    pytest.skip("running as root with neither a postgres nor a nobody user to run initdb as")


@dataclass
class PostgresServer:
    """A server the tests may create databases on; `admin_url` connects as a superuser or a role
    with CREATEDB."""

    admin_url: str
    _numbers: Iterator[int] = field(default_factory=lambda: itertools.count(1))
    created: list[str] = field(default_factory=list)

    def url(self, database: str) -> str:
        info = psycopg.conninfo.conninfo_to_dict(self.admin_url)
        info["dbname"] = database
        return "postgresql:///?" + "&".join(
            f"{key}={quote(str(value), safe='/')}" for key, value in info.items() if value
        )

    def create_database(self, prefix: str = "ts") -> str:
        """A new empty database; returns its URL."""
        name = f"{prefix}_{os.getpid()}_{next(self._numbers)}"
        with psycopg.connect(self.admin_url, autocommit=True) as conn:
            conn.execute(
                sql.SQL("CREATE DATABASE {} TEMPLATE template0 ENCODING 'UTF8'").format(
                    sql.Identifier(name)
                )
            )
        self.created.append(name)
        return self.url(name)

    def drop_created(self) -> None:
        with psycopg.connect(self.admin_url, autocommit=True) as conn:
            for name in self.created:
                conn.execute(
                    sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
                )
        self.created.clear()


@contextmanager
def throwaway_server(bin_dir: Path) -> Iterator[PostgresServer]:
    """initdb a cluster in a new /tmp directory (short: a socket path holds at most 107 bytes),
    start it on a unix socket only, and remove it all afterwards."""
    prefix = _run_as()
    base = Path(tempfile.mkdtemp(prefix="ts-pg-", dir="/tmp"))
    data, log = base / "data", base / "server.log"
    try:
        if prefix:
            shutil.chown(base, user=prefix[2])
        base.chmod(0o755)
        subprocess.run(
            [*prefix, str(bin_dir / "initdb"), "-D", str(data), "-U", _ROLE, "--auth=trust",
             "-E", "UTF8", "--locale=C", "--no-sync"],
            check=True, capture_output=True, timeout=120,
        )  # fmt: skip
        options = (
            f"-k {base} -c listen_addresses='' -c fsync=off -c synchronous_commit=off"
            " -c full_page_writes=off -c max_connections=100"
        )
        started = subprocess.run(
            [*prefix, str(bin_dir / "pg_ctl"), "-D", str(data), "-o", options, "-l", str(log),
             "-w", "-t", "60", "start"],
            capture_output=True, text=True, timeout=90,
        )  # fmt: skip
        if started.returncode != 0:
            tail = log.read_text(errors="replace")[-2000:] if log.exists() else ""
            raise RuntimeError(f"pg_ctl start failed: {started.stderr.strip()}\n{tail}")
        try:
            yield PostgresServer(f"host={base} user={_ROLE} dbname=postgres")
        finally:
            subprocess.run(
                [*prefix, str(bin_dir / "pg_ctl"), "-D", str(data), "-m", "immediate", "-w",
                 "stop"],
                capture_output=True, timeout=60,
            )  # fmt: skip
    finally:
        shutil.rmtree(base, ignore_errors=True)


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """A PostgreSQL server for this session (see the module docstring), or a skip saying why."""
    given = os.environ.get(ENV)
    if given:
        server = PostgresServer(given)
        try:
            yield server
        finally:
            server.drop_created()
        return
    bin_dir = binaries()
    if bin_dir is None:
        pytest.skip(_SKIP)
    with throwaway_server(bin_dir) as server:
        yield server


@pytest.fixture
def postgres_url(postgres_server: PostgresServer) -> str:
    """The URL of a new, empty database on the session's server, for this test alone."""
    return postgres_server.create_database()
