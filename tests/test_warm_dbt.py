"""The session's warm dbt (`_warm_dbt.py`) behaves as the `dbt` executable it stands for:
exit codes, output on the caller's own streams, the caller's folder and environment, a
build stopped by SIGINT (as dagster-dbt stops one), and the real dbt when no server runs.

dbt's JSON log names the process that wrote each line (`info.pid`): a warm dbt is a child
of the server, not the client the caller started. Without a server the client becomes the
real dbt (exec); a stand-in for it shows that, without paying for dbt's import.
"""

from __future__ import annotations

import functools
import json
import os
import queue
import shutil
import signal
import subprocess
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import pytest
from _warm_dbt import EXAMPLE_DBT, SESSION_CLIENT, write_client

#: A project of two models reading the caller's environment, a third waiting on a FIFO.
PROJECT = {
    "dbt_project.yml": (
        "name: warm\nversion: '1.0'\nprofile: warm\nflags:\n  send_anonymous_usage_stats: false\n"
    ),
    "profiles.yml": (
        "warm:\n  target: dev\n  outputs:\n    dev:\n      type: duckdb\n"
        "      path: warm.duckdb\n      threads: 1\n"
    ),
    "models/probe.sql": "{{ config(materialized='table') }}\n"
    'select \'{{ env_var("WARM_DBT_PROBE", "none") }}\' as probe',
    # dbt-duckdb cannot cancel a running query: this one ends when the test writes its rows.
    "models/waits.sql": "{{ config(materialized='table') }}\n"
    'select * from read_csv(\'{{ env_var("WARM_DBT_FIFO", "none") }}\', header = true)',
    "models/after.sql": "select * from {{ ref('waits') }}",
}
#: How long a step of dbt may take on a busy machine.
PATIENCE = 120


@dataclass(frozen=True)
class Ran:
    """One finished `dbt` call."""

    pid: int
    code: int
    stdout: str
    stderr: str

    def events(self) -> list[dict[str, Any]]:
        """dbt's JSON log lines (`--log-format json`)."""
        return [json.loads(line) for line in self.stdout.splitlines()]


def run(dbt: Path | str, *args: str, cwd: Path, **env: str) -> Ran:
    with subprocess.Popen(
        [str(dbt), *args],
        cwd=cwd,
        env={**os.environ, **env},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    ) as called:
        stdout, stderr = called.communicate(timeout=PATIENCE)
    return Ran(called.pid, called.returncode, stdout, stderr)


@pytest.fixture(scope="module")
def dbt() -> Path:
    """The session's warm client: `dbt` on PATH and the example's dbt."""
    client = os.environ.get(SESSION_CLIENT)
    if client is None:
        pytest.skip(f"the session runs the dbt the caller chose ({EXAMPLE_DBT})")
    assert shutil.which("dbt") == client == os.environ[EXAMPLE_DBT]
    return Path(client)


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The project, its DuckDB file beside it: one profile, so dbt parses in full once."""
    root = tmp_path_factory.mktemp("warm_dbt_project")
    for name, text in PROJECT.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    return root


def test_dbt_answers_on_the_callers_streams_with_its_exit_codes(dbt: Path, project: Path) -> None:
    shown = run(dbt, "--log-format", "json", "debug", "--config-dir", cwd=project)
    assert shown.code == 0, shown.stderr
    (opened,) = [e for e in shown.events() if e["info"]["name"] == "OpenCommand"]
    assert opened["data"]["profiles_dir"] == str(project)  # found in the caller's folder
    assert opened["info"]["pid"] != shown.pid, "dbt ran in the client: the server is not used"

    wrong = run(dbt, "no-such-command", cwd=project)
    assert (wrong.code, wrong.stdout) == (2, ""), wrong
    assert "No such command 'no-such-command'" in wrong.stderr


def test_a_build_sees_the_callers_environment(dbt: Path, project: Path) -> None:
    token = f"probe-{os.getpid()}-{time.monotonic_ns()}"
    built = run(dbt, "run", "--select", "probe", cwd=project, WARM_DBT_PROBE=token)
    assert built.code == 0, built.stdout + built.stderr
    assert "Completed successfully" in built.stdout
    with duckdb.connect(str(project / "warm.duckdb"), read_only=True) as con:
        assert con.sql("select probe from probe").fetchall() == [(token,)]


@pytest.fixture
def fifo(tmp_path: Path) -> Path:
    path = tmp_path / "rows.csv"
    os.mkfifo(path)
    return path


def test_an_interrupted_build_stops(dbt: Path, project: Path, fifo: Path) -> None:
    args = ("--log-format", "json", "run", "--select", "waits+")
    with subprocess.Popen(
        [str(dbt), *args],
        cwd=project,
        env={**os.environ, "WARM_DBT_FIFO": str(fifo)},
        stdout=subprocess.PIPE,
        text=True,
        # SIGINT as a foreground caller has it: a session started in the background has it
        # ignored, and so would dbt.
        preexec_fn=functools.partial(signal.signal, signal.SIGINT, signal.SIG_DFL),
    ) as build:
        try:
            events = json_lines(build)
            assert next_named(events, "LogStartLine")["data"]["node_info"]["node_name"] == "waits"
            build.send_signal(signal.SIGINT)
            # dbt takes the interrupt now, or when the query ends if a thread other than
            # its main one received the signal; either way `after` must not start.
            feed(fifo, b"n\n1\n", build)
            build.wait(timeout=PATIENCE)
        finally:
            build.kill()
    rest = list(events)
    assert build.returncode == 2, rest
    (summary,) = [e for e in rest if e["info"]["name"] == "EndOfRunSummary"]
    assert summary["data"]["keyboard_interrupt"], summary
    assert not [e for e in rest if e["info"]["name"] == "LogStartLine"], "`after` was built"


def json_lines(process: subprocess.Popen[str]) -> Iterator[dict[str, Any]]:
    """The process's JSON log lines as they come, each within `PATIENCE` seconds."""
    lines: queue.Queue[str | None] = queue.Queue()

    def read() -> None:
        assert process.stdout is not None
        for line in process.stdout:
            lines.put(line)
        lines.put(None)

    threading.Thread(target=read, daemon=True).start()
    while (line := lines.get(timeout=PATIENCE)) is not None:
        yield json.loads(line)


def next_named(events: Iterator[dict[str, Any]], name: str) -> dict[str, Any]:
    return next(e for e in events if e["info"]["name"] == name)


def feed(fifo: Path, rows: bytes, reader: subprocess.Popen[str]) -> None:
    """Write `rows` to the FIFO once `reader` opened it, and close it; nothing if the reader
    ends first (an interrupt that came before the query, which then never ran)."""
    deadline = time.monotonic() + PATIENCE
    while reader.poll() is None:
        try:
            fd = os.open(fifo, os.O_WRONLY | os.O_NONBLOCK)
        except OSError:  # no reader yet
            assert time.monotonic() < deadline, "dbt neither read the FIFO nor ended"
            time.sleep(0.1)
            continue
        try:
            os.write(fd, rows)
        finally:
            os.close(fd)
        return


def test_without_a_server_the_client_becomes_the_real_dbt(tmp_path: Path) -> None:
    # The real dbt, as far as this test can tell: it prints its pid and arguments.
    stand_in = tmp_path / "real_dbt"
    stand_in.write_text('#!/bin/sh\necho "$$ $*"\n')
    stand_in.chmod(0o755)
    client = write_client(tmp_path / "bin", tmp_path / "no_server.sock", stand_in)
    shown = run(client, "debug", "--config-dir", cwd=tmp_path)
    assert (shown.code, shown.stdout) == (0, f"{shown.pid} debug --config-dir\n"), shown
