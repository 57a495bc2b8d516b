"""The `dot-orchestration` console script as a user runs it: a real process, real HTTP.

Each emulator command is started as a subprocess on a free port; the test reads what it
printed (URL, logins or tokens, page ids) and uses exactly that to call it. The Dot
emulator is started once for the tests that only read from it.
"""

import json
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from dot_orchestration.client import DotClient

CLI = str(Path(sys.executable).with_name("dot-orchestration"))
STARTUP_S = 60.0


@contextmanager
def running(*args: str, until: str) -> Iterator[list[str]]:
    """Start `dot-orchestration ARGS`, yield its stdout lines once one matches `until`."""
    process = subprocess.Popen(
        [CLI, *args], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True
    )
    try:
        lines: list[str] = []
        deadline = time.monotonic() + STARTUP_S
        assert process.stdout is not None
        while not any(re.search(until, line) for line in lines):
            line = process.stdout.readline()
            if not line:
                pytest.fail(f"`dot-orchestration {' '.join(args)}` exited: {lines}")
            lines.append(line.rstrip("\n"))
            assert time.monotonic() < deadline, f"no line matching {until!r} in {lines}"
        yield lines
    finally:
        process.terminate()
        process.wait(timeout=30)


def test_confluence_emulator_prints_url_logins_and_pages_that_work() -> None:
    with running("confluence-emulator", "--port", "0", until=r"page 200100") as lines:
        (url,) = re.findall(r"^Confluence emulator on (\S+)", lines[0])
        email, token = re.findall(r"login (\S+)\s+api token (\S+)", "\n".join(lines))[0]
        printed_pages = dict(
            re.findall(r"page (\d+)\s+(.+?)(?:  \(only .*\))?$", "\n".join(lines), re.M)
        )
        response = httpx.get(
            f"{url}/api/v2/pages/100101", auth=(email, token), params={"body-format": "storage"}
        )
        refused = httpx.get(f"{url}/api/v2/pages/100101", auth=(email, "wrong"))
    assert response.status_code == 200, response.text
    assert response.json()["title"] == printed_pages["100101"] == "Revenue"
    assert refused.status_code == 401
    assert {"100000", "100101", "200100"} <= set(printed_pages)


@pytest.fixture(scope="module")
def dot_emulator_lines() -> Iterator[list[str]]:
    """What `dot-orchestration emulator` printed, while it runs."""
    with running("emulator", "--port", "0", "--history-days", "2", until=r"token .*@") as lines:
        yield lines


def test_dot_emulator_prints_tokens_that_work(dot_emulator_lines: list[str]) -> None:
    lines = dot_emulator_lines
    (url,) = re.findall(r"^Dot API emulator on (\S+)", lines[0])
    role, token = next(
        (m.group(2), m.group(1))
        for line in lines
        if (m := re.search(r"token (\S+)\s+(admin)\s", line))
    )
    with DotClient(api_token=token, base_url=url) as client:
        listed = client.list_external_assets()
    assert role == "admin"
    assert isinstance(listed, list | dict)


def test_refresh_exposures_without_a_state_file_fails_naming_both_ways(tmp_path: Path) -> None:
    env = {"PATH": "", "DOT_API_KEY": "dot-unused", "DOT_BASE_URL": "http://127.0.0.1:9"}
    result = subprocess.run(
        [CLI, "refresh-exposures"], env=env, capture_output=True, text=True, cwd=tmp_path
    )
    assert result.returncode == 2
    assert "--state PATH" in result.stderr and "DOT_EXPOSURES_STATE" in result.stderr
    assert list(tmp_path.iterdir()) == []  # nothing written where it happened to run


def test_refresh_exposures_writes_the_state_file_it_was_given(
    dot_emulator_lines: list[str], tmp_path: Path
) -> None:
    state = tmp_path / "deploy" / "dot_exposures.json"
    lines = dot_emulator_lines
    (url,) = re.findall(r"^Dot API emulator on (\S+)", lines[0])
    token = re.findall(r"token (\S+)\s+admin\s", "\n".join(lines))[0]
    env = {"PATH": "", "DOT_API_KEY": token, "DOT_BASE_URL": url}
    result = subprocess.run(
        [CLI, "refresh-exposures"],
        env={**env, "DOT_EXPOSURES_STATE": str(state)},
        capture_output=True,
        text=True,
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr
    assert token not in result.stdout + result.stderr
    assert "exposures" in json.loads(state.read_text())
