# A throwaway PostgreSQL cluster for the integration tests: initdb into a temp dir, started with
# pg_ctl on a free loopback port, stopped and removed on teardown. Run as root (the tests do), the
# server runs as the `postgres` user (PostgreSQL refuses root); run as anyone else, it runs as them.
#
# Use from a test module:
#     from pg import pg_cluster, pg_database  # noqa: F401  (pytest fixtures)
#     def test_x(pg_database): ... pg_database.conninfo ... pg_database.sql("SELECT 1")
# pg_cluster is one cluster per test session; pg_database a fresh empty database per test.
# PgCluster(...) can also be used directly for a private cluster (tests that stop the server).
import itertools
import os
import pwd
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

from conftest import free_port

PG_BIN = Path(os.environ.get("OTELDEMO_PG_BIN", "/usr/lib/postgresql/15/bin"))
PG_USER = "postgres"
HOST = "127.0.0.1"
START_TIMEOUT_S = 30
COMMAND_TIMEOUT_S = 60
# Durability is pointless for a cluster that lives for one test run; turning it off makes it fast.
SERVER_OPTIONS = "-c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200"

_db_counter = itertools.count(1)


class PgCluster:
    """A running PostgreSQL cluster; .conninfo(db) for libpq, .sql() to query, .stop()/.start()."""

    def __init__(self):
        self.as_root = os.geteuid() == 0
        self.root = Path(tempfile.mkdtemp(prefix="oteldemo-pg-"))
        self.data = self.root / "data"
        self.sockets = self.root / "sockets"
        self.log = self.root / "server.log"
        self.port = free_port()
        self.host = HOST
        self.user = PG_USER if self.as_root else pwd.getpwuid(os.geteuid()).pw_name
        try:
            self.sockets.mkdir()
            if self.as_root:
                pw = pwd.getpwnam(PG_USER)
                for path in (self.root, self.sockets):
                    os.chown(path, pw.pw_uid, pw.pw_gid)
            self._run([PG_BIN / "initdb", "-D", self.data, "-U", self.user, "-A", "trust", "-E", "UTF8",
                       "--locale=C", "--no-sync"])
            self.start()
        except BaseException:
            self.close()
            raise

    def _run(self, argv, **kwargs):
        argv = [str(a) for a in argv]
        if self.as_root:
            argv = ["runuser", "-u", PG_USER, "--"] + argv
        return subprocess.run(argv, check=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                              timeout=COMMAND_TIMEOUT_S, **kwargs)

    def start(self):
        opts = f"-p {self.port} -k {self.sockets} -c listen_addresses={HOST} {SERVER_OPTIONS}"
        self._run([PG_BIN / "pg_ctl", "-D", self.data, "-l", self.log, "-o", opts, "-w", "-t",
                   str(START_TIMEOUT_S), "start"])

    def stop(self, mode="fast"):
        """Stops the server; mode "immediate" is a crash (no shutdown checkpoint)."""
        self._run([PG_BIN / "pg_ctl", "-D", self.data, "-m", mode, "-w", "stop"])

    def running(self):
        r = subprocess.run([str(PG_BIN / "pg_isready"), "-h", HOST, "-p", str(self.port)],
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        return r.returncode == 0

    def conninfo(self, dbname="postgres"):
        return f"host={HOST} port={self.port} user={self.user} dbname={dbname}"

    def sql(self, query, dbname="postgres"):
        """Runs query with psql; returns the rows as lists of strings (unaligned, tab-separated)."""
        out = subprocess.run([str(PG_BIN / "psql"), "-X", "-v", "ON_ERROR_STOP=1", "-At", "-F", "\t", "-c",
                              query, self.conninfo(dbname)],
                             check=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                             timeout=COMMAND_TIMEOUT_S)
        return [line.split("\t") for line in out.stdout.splitlines()]

    def create_database(self, name=None):
        name = name or f"test_{os.getpid()}_{next(_db_counter)}"
        self.sql(f'CREATE DATABASE "{name}"')
        return PgDatabase(self, name)

    def close(self):
        if self.data.exists():
            try:
                self.stop("immediate")
            except subprocess.SubprocessError:
                pass  # not running
        shutil.rmtree(self.root, ignore_errors=True)


class PgDatabase:
    """One database of a cluster."""

    def __init__(self, cluster, name):
        self.cluster = cluster
        self.name = name
        self.conninfo = cluster.conninfo(name)

    def sql(self, query):
        return self.cluster.sql(query, self.name)

    def scalar(self, query):
        """The single value of a one-row, one-column query, as a string."""
        rows = self.sql(query)
        assert len(rows) == 1 and len(rows[0]) == 1, f"{query!r} returned {rows!r}"
        return rows[0][0]


@pytest.fixture(scope="session")
def pg_cluster():
    cluster = PgCluster()
    try:
        yield cluster
    finally:
        cluster.close()


@pytest.fixture
def pg_database(pg_cluster):
    if not pg_cluster.running():  # a test that stopped the shared server must not break the next
        pg_cluster.start()
    return pg_cluster.create_database()
