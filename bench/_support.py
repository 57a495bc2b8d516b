"""Shared by the bench scripts: an emulator in its own process, and a phase timer.

The emulator runs in a separate process so that the peak memory traced in the bench
process is the client side's alone.
"""

from __future__ import annotations

import socket
import subprocess
import sys
import time
import tracemalloc
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import httpx


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def emulator_process(*extra_args: str) -> Iterator[str]:
    """`dot-orchestration emulator` on a free loopback port; yields its base URL."""
    port = free_port()
    command = [sys.executable, "-m", "dot_orchestration.cli", "emulator", "--port", str(port)]
    proc = subprocess.Popen([*command, *extra_args], stdout=subprocess.DEVNULL)
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
    """Run one phase; print and return its wall seconds and peak traced MiB."""
    tracemalloc.start()
    started = time.perf_counter()
    work()
    seconds = time.perf_counter() - started
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    mib = peak / 2**20
    print(f"{label:<48} {seconds:8.2f} s   peak {mib:8.1f} MiB")
    return seconds, mib


def set_faults(url: str, rules: list[dict[str, Any]], seed: int = 7) -> None:
    """Replace the emulator's fault rules."""
    httpx.put(f"{url}/_emulator/faults", json={"seed": seed, "rules": rules}).raise_for_status()


def journal(url: str) -> list[dict[str, Any]]:
    """Every request the emulator saw since the last reset."""
    return list(httpx.get(f"{url}/_emulator/journal", timeout=30).json()["entries"])
