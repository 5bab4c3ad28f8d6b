"""A throwaway PostgreSQL + PostGIS server on 127.0.0.1 for the tests (and the bench).

``initdb`` into a fresh folder under /tmp (owned by the ``postgres`` user when we are root: PostgreSQL refuses
to run as root), ``pg_ctl start`` on a random free port listening on 127.0.0.1 only (socket in the data folder),
``CREATE DATABASE gis`` and ``CREATE EXTENSION postgis``; :meth:`PgServer.stop` stops it and removes the folder.
Authentication is ``trust`` for this one local server, so no password exists anywhere.
"""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
from dataclasses import dataclass


def find_initdb() -> str | None:
    """The initdb binary: on PATH, else Debian's /usr/lib/postgresql/<version>/bin (newest first)."""
    found = shutil.which("initdb")
    if found:
        return os.path.realpath(found)   # a symlink into the version's bin folder, where psql and pg_ctl are too
    cands = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(p.split("/")[4]), reverse=True)
    return cands[0] if cands else None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class PgServer:
    bindir: str
    datadir: str
    port: int
    as_postgres: bool

    @property
    def url(self) -> str:
        """postgresql://postgres@127.0.0.1:PORT/gis (no password: trust authentication)."""
        return f"postgresql://postgres@127.0.0.1:{self.port}/gis"

    def _run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        cmd = list(args)
        if self.as_postgres:
            cmd = ["runuser", "-u", "postgres", "--", *cmd]
        return subprocess.run(cmd, check=check, capture_output=True, text=True, timeout=120)

    @classmethod
    def start(cls) -> "PgServer":
        initdb = find_initdb()
        if initdb is None:
            raise RuntimeError("initdb not found: install postgresql-15-postgis-3 (scripts/install.sh does)")
        bindir = os.path.dirname(initdb)
        datadir = tempfile.mkdtemp(prefix="spatial-pg-")
        as_postgres = os.geteuid() == 0
        if as_postgres:
            shutil.chown(datadir, "postgres", "postgres")
        server = cls(bindir=bindir, datadir=datadir, port=free_port(), as_postgres=as_postgres)
        try:
            server._run(f"{bindir}/initdb", "-D", datadir, "-U", "postgres", "--auth=trust", "-E", "UTF8",
                        "--no-locale")
            server._run(f"{bindir}/pg_ctl", "-D", datadir, "-l", f"{datadir}/server.log", "-o",
                        f"-p {server.port} -k {datadir} -c listen_addresses=127.0.0.1 -c fsync=off", "start", "-w")
            server.sql("postgres", "CREATE DATABASE gis")
            server.sql("gis", "CREATE EXTENSION postgis")
        except subprocess.CalledProcessError as exc:
            log = ""
            if os.path.exists(f"{datadir}/server.log"):
                with open(f"{datadir}/server.log") as fh:
                    log = fh.read()[-2000:]
            server.stop()
            raise RuntimeError(f"starting PostgreSQL failed: {exc.stderr}{log}") from None
        return server

    def sql(self, db: str, statement: str) -> str:
        """Run one statement with psql as the postgres user; its output."""
        psql = f"{self.bindir}/psql" if os.path.exists(f"{self.bindir}/psql") else (shutil.which("psql") or "psql")
        return self._run(psql, "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres",
                         "-d", db, "-v", "ON_ERROR_STOP=1", "-qAtc", statement).stdout

    def stop(self) -> None:
        """Stop the server (fast shutdown) and remove its folder."""
        if os.path.exists(f"{self.datadir}/postmaster.pid"):
            self._run(f"{self.bindir}/pg_ctl", "-D", self.datadir, "-m", "fast", "stop", "-w", check=False)
        shutil.rmtree(self.datadir, ignore_errors=True)
