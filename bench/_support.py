"""Shared by the bench scripts: an emulator in its own process, a phase timer, and a
throwaway PostgreSQL cluster.

The emulator runs in a separate process, and each measured phase in a child of its own,
so that a phase's peak memory is its own alone.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import traceback
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx

#: A Dagster run's `run_config` keeping its DEBUG event log out of the bench's output: the
#: bench prints one summary table, and Dagster's console logger writes every event.
QUIET_RUN: dict[str, Any] = {"loggers": {"console": {"config": {"log_level": "WARNING"}}}}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def emulator_process(command: Sequence[str] | None = None) -> Iterator[str]:
    """An emulator in its own process on a free loopback port; yields its base URL.

    `command` is called with the port appended; by default `dot-orchestration emulator`.
    """
    port = free_port()
    base = command or [sys.executable, "-m", "dot_orchestration.cli", "emulator", "--port"]
    proc = subprocess.Popen([*base, str(port)], stdout=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                httpx.get(f"{url}/_emulator/faults", timeout=1).raise_for_status()
                break
            except httpx.HTTPError:
                if time.monotonic() > deadline or proc.poll() is not None:
                    raise RuntimeError("the emulator did not start") from None
                time.sleep(0.1)
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def measure(label: str, work: Callable[[], Any]) -> tuple[float, float]:
    """Run one phase in a forked child; print and return its wall seconds and peak RSS MiB.

    A child per phase gives each its own peak resident memory (from `wait4`), without the
    allocation tracing that would slow the phase itself down.
    """
    started = time.perf_counter()
    pid = os.fork()
    if pid == 0:  # the child runs the phase and reports success through its exit status
        try:
            work()
        except BaseException:
            traceback.print_exc()
            os._exit(1)
        os._exit(0)
    _, status, usage = os.wait4(pid, 0)
    seconds = time.perf_counter() - started
    if os.waitstatus_to_exitcode(status) != 0:
        raise RuntimeError(f"{label}: the phase failed (see the traceback above)")
    mib = usage.ru_maxrss / 1024  # Linux reports KiB
    print(f"{label:<48} {seconds:8.2f} s   peak RSS {mib:8.1f} MiB")
    return seconds, mib


def set_faults(url: str, rules: list[dict[str, Any]], seed: int = 7) -> None:
    """Replace the emulator's fault rules."""
    httpx.put(f"{url}/_emulator/faults", json={"seed": seed, "rules": rules}).raise_for_status()


def journal(url: str) -> list[dict[str, Any]]:
    """Every request the emulator saw since the last reset."""
    return list(httpx.get(f"{url}/_emulator/journal", timeout=30).json()["entries"])


@contextmanager
def postgres_cluster(wanted: bool) -> Iterator[Any | None]:
    """The reliability tests' throwaway cluster (loopback, fsync off), if asked for."""
    if not wanted:
        yield None
        return
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "reliability"))
    from _postgres import start_cluster

    cluster = start_cluster()
    try:
        yield cluster
    finally:
        cluster.stop()
