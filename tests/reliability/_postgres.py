"""A throwaway PostgreSQL cluster on 127.0.0.1 for a Postgres-backed Dagster instance.

PostgreSQL refuses to run as root, so when the tests run as root the server binaries run
as the `postgres` system user (`runuser`), in a temporary directory that user owns and can
reach (`cluster_parent`). The cluster listens on loopback only, on a free port, with
password authentication over TCP (md5, see `_start`), and is stopped and deleted afterwards
whatever happened (`stop` is safe to call twice, and kills the postmaster if a clean
shutdown does not finish in time).
"""

from __future__ import annotations

import contextlib
import os
import pwd
import secrets
import shutil
import signal
import socket
import stat
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

SYSTEM_USER = "postgres"
SUPERUSER = "dagster"
DATABASE = "dagster"
_COMMAND_TIMEOUT_S = 60
_READY_TIMEOUT_S = 30
_DEBIAN_BINARIES = "/usr/lib/postgresql/*/bin"


class PostgresUnavailable(RuntimeError):
    """No usable PostgreSQL server binaries here; the message says why."""


def server_binaries() -> Path:
    """The directory holding `initdb` and `pg_ctl`: `pg_config --bindir`, else the newest
    Debian-style install."""
    candidates: list[Path] = []
    if shutil.which("pg_config"):
        bindir = subprocess.run(
            ["pg_config", "--bindir"], capture_output=True, text=True, timeout=10, check=False
        ).stdout.strip()
        candidates.append(Path(bindir))
    candidates += sorted(Path("/").glob(_DEBIAN_BINARIES.lstrip("/")), key=_major, reverse=True)
    for directory in candidates:
        if (directory / "initdb").exists() and (directory / "pg_ctl").exists():
            return directory
    raise PostgresUnavailable("no PostgreSQL server binaries (initdb, pg_ctl) found")


def _major(path: Path) -> int:
    version = path.parent.name
    return int(version) if version.isdigit() else 0


def _run_as() -> list[str]:
    """The prefix that runs a command as a user PostgreSQL accepts."""
    if os.geteuid() != 0:
        return []
    try:
        pwd.getpwnam(SYSTEM_USER)
    except KeyError:
        raise PostgresUnavailable(f"running as root and no {SYSTEM_USER!r} user") from None
    if not shutil.which("runuser"):
        raise PostgresUnavailable("running as root and no `runuser` to drop privileges")
    return ["runuser", "-u", SYSTEM_USER, "--"]


def free_port() -> int:
    """A port free on 127.0.0.1 right now (the server binds it a moment later)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class PostgresCluster:
    """One running cluster; `dagster_storage()` is the instance config pointing at it."""

    root: Path
    bindir: Path
    port: int
    password: str
    run_as: list[str]

    @property
    def data(self) -> Path:
        return self.root / "data"

    def dagster_storage(self) -> dict[str, Any]:
        """`storage:` of a dagster.yaml: runs, events and schedules in this cluster.

        `scheme` names the driver: SQLAlchemy 2.1 reads a bare `postgresql://` as psycopg 3,
        while dagster-postgres brings psycopg2.
        """
        return {
            "postgres": {
                "postgres_db": {
                    "scheme": "postgresql+psycopg2",
                    "hostname": "127.0.0.1",
                    "port": self.port,
                    "username": SUPERUSER,
                    "password": self.password,
                    "db_name": DATABASE,
                }
            }
        }

    def stop(self) -> None:
        """Stop the server (fast, then by force) and delete the cluster's files."""
        if self.data.exists():
            stopped = self._pg_ctl("stop", "-m", "fast", "-w", "-t", str(_READY_TIMEOUT_S))
            if stopped.returncode != 0:
                self._kill_postmaster()
        shutil.rmtree(self.root, ignore_errors=True)

    def _pg_ctl(self, *args: str) -> subprocess.CompletedProcess[str]:
        command = [*self.run_as, str(self.bindir / "pg_ctl"), "-D", str(self.data), *args]
        return subprocess.run(
            command, capture_output=True, text=True, timeout=_COMMAND_TIMEOUT_S, check=False
        )

    def _kill_postmaster(self) -> None:
        pid_file = self.data / "postmaster.pid"
        with contextlib.suppress(FileNotFoundError, ValueError, ProcessLookupError):
            os.kill(int(pid_file.read_text().splitlines()[0]), signal.SIGKILL)


def start_cluster() -> PostgresCluster:
    """initdb, start on a free loopback port, create the Dagster database.

    Raises `PostgresUnavailable` when this machine cannot run PostgreSQL; any other
    failure stops and removes what was started before re-raising.
    """
    bindir, run_as = server_binaries(), _run_as()
    root = Path(tempfile.mkdtemp(prefix="dot-reliability-pg-", dir=cluster_parent(run_as)))
    cluster = PostgresCluster(root, bindir, free_port(), secrets.token_urlsafe(16), run_as)
    try:
        _initdb(cluster)
        _start(cluster)
        _create_database(cluster)
    except BaseException:
        cluster.stop()
        raise
    return cluster


@contextmanager
def running_cluster() -> Iterator[PostgresCluster]:
    """A cluster for the block, stopped and removed after it; the calling test is skipped
    where no PostgreSQL server binaries are installed."""
    try:
        server_binaries()
    except PostgresUnavailable as missing:
        pytest.skip(f"PostgreSQL server binaries are not installed: {missing}")
    cluster = start_cluster()
    try:
        yield cluster
    finally:
        cluster.stop()


def cluster_parent(run_as: list[str]) -> Path:
    """Where the cluster's directory goes: the temporary folder, or, when the server runs
    as another user, its nearest ancestor that user can reach.

    A private temporary folder (the suite's own, mode 0700, see tests/conftest.py) is
    closed to the `postgres` user: it could not read the files the cluster is made of.
    """
    temp = Path(tempfile.gettempdir()).resolve()
    if not run_as:
        return temp
    return next(folder for folder in (temp, *temp.parents) if _open_to_others(folder))


def _open_to_others(folder: Path) -> bool:
    """Every folder from the root down to `folder` can be entered by any user."""
    return all(path.stat().st_mode & stat.S_IXOTH for path in (folder, *folder.parents))


def _initdb(cluster: PostgresCluster) -> None:
    password_file = cluster.root / "password"
    password_file.write_text(cluster.password, encoding="utf-8")
    if cluster.run_as:
        shutil.chown(cluster.root, user=SYSTEM_USER)
        shutil.chown(password_file, user=SYSTEM_USER)
    command = [
        *cluster.run_as,
        str(cluster.bindir / "initdb"),
        "-D",
        str(cluster.data),
        "-U",
        SUPERUSER,
        f"--pwfile={password_file}",
        "--auth-host=md5",
        "--auth-local=peer",
        "--encoding=UTF8",
        "--no-sync",
    ]
    _check(subprocess.run(command, capture_output=True, text=True, timeout=_COMMAND_TIMEOUT_S))
    password_file.unlink()


def _start(cluster: PostgresCluster) -> None:
    """Start the server; passwords set from now on are stored as md5 (`_create_database`
    sets the superuser's again). Dagster's Postgres storage opens a connection per event it
    stores, and SCRAM's key derivation cost each ~7 ms of CPU on the two ends together
    (the distributed pipeline run opens about 2,000). md5 is still a password check (a
    wrong password fails the same way); a connection costs its client a sixth of the CPU
    (0.6 ms against 3.9) and half the time (4.6 ms against 8.4)."""
    options = (
        f"-c listen_addresses=127.0.0.1 -p {cluster.port} -k {cluster.data} "
        "-c fsync=off -c max_connections=100 -c password_encryption=md5"
    )
    log = cluster.root / "server.log"
    started = cluster._pg_ctl(
        "start", "-w", "-t", str(_READY_TIMEOUT_S), "-o", options, "-l", str(log)
    )
    if started.returncode != 0:
        detail = log.read_text(errors="replace") if log.exists() else ""
        raise RuntimeError(f"pg_ctl start failed: {started.stderr}\n{detail}")


def _create_database(cluster: PostgresCluster) -> None:
    import psycopg2  # dagster-postgres depends on it

    deadline = time.monotonic() + _READY_TIMEOUT_S
    while True:
        try:
            connection = psycopg2.connect(
                host="127.0.0.1",
                port=cluster.port,
                user=SUPERUSER,
                password=cluster.password,
                dbname="postgres",
                connect_timeout=5,
            )
            break
        except psycopg2.OperationalError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)
    try:
        connection.autocommit = True
        with connection.cursor() as cursor:
            # initdb stored the password for SCRAM (md5 connections then use SCRAM too)
            cursor.execute(f"ALTER ROLE {SUPERUSER} PASSWORD %s", (cluster.password,))
            cursor.execute(f"CREATE DATABASE {DATABASE}")
    finally:
        connection.close()


def _check(completed: subprocess.CompletedProcess[str]) -> None:
    if completed.returncode != 0:
        raise RuntimeError(f"{completed.args[0]} failed: {completed.stderr or completed.stdout}")
