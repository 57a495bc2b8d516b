"""The real Dagster UI on this package, started as a user starts it (`make dev`):
`dagster dev -w workspace.yaml` as a subprocess on 127.0.0.1, a temporary `DAGSTER_HOME`.
Its webserver and daemon share one code server, so the code location loads once there
(and once more in the run's worker).

Over GraphQL, as the UI itself asks: the code location loads; it shows exactly the assets,
checks, schedules and sensors `build_definitions` defines; a run launched through
`launchRun` is dequeued by the daemon, syncs Dot (the emulator, in this process) and
succeeds; the daemon then evaluates the synced assets' freshness. At the end `dagster dev`
is stopped as Ctrl-C stops it, its process group is killed if anything of it outlives a
bounded grace period, and no process of this instance may be left outside it. Every wait
is bounded.
"""

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pytest
from dagster import AssetKey, DagsterInstance, Definitions

from dot_demo.definitions import ExampleSettings, build_definitions
from dot_orchestration.catalogue import CATALOGUE_ASSET_KEY, refresh_dot_exposures
from dot_orchestration.client import DotClient
from dot_orchestration.emulator import ADMIN_TOKEN, EmulatorServer
from dot_orchestration.emulator.confluence import DEFAULT_USERS as CONFLUENCE_USERS
from dot_orchestration.emulator.confluence import ConfluenceEmulatorServer
from dot_orchestration.syncs import SYNC_ACCEPTED_CHECK

REPO_ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
SYNC_ROUTE = "/api/sync/{connection_type}/{connection_id}"
T = TypeVar("T")
#: Bounds of the waits, in seconds: a code location load and a run's worker each import
#: Dagster, dbt and the example, which takes over a minute on a loaded two-core machine.
LOAD_S, RUN_S, FRESH_S = 120, 180, 60

WORKSPACE = """
query {
  workspaceOrError {
    __typename
    ... on Workspace { locationEntries { name loadStatus
      locationOrLoadError { __typename ... on PythonError { message } } } }
  }
  repositoriesOrError {
    ... on RepositoryConnection { nodes { name location { name } } }
  }
}"""
EVERYTHING = """
query ($repo: RepositorySelector!) {
  repositoryOrError(repositorySelector: $repo) {
    __typename
    ... on Repository {
      assetNodes { assetKey { path }
        assetChecksOrError { ... on AssetChecks { checks { name } } } }
      schedules { name }
      sensors { name sensorState { status } }
    }
  }
}"""
LAUNCH = """
mutation ($params: ExecutionParams!) {
  launchRun(executionParams: $params) {
    __typename
    ... on LaunchRunSuccess { run { runId } }
    ... on PythonError { message }
    ... on InvalidSubsetError { message }
    ... on RunConfigValidationInvalid { errors { message } }
  }
}"""
RUN = """
query ($runId: ID!) { runOrError(runId: $runId) { ... on Run { status } } }"""
HEALTH = """
query ($keys: [AssetKeyInput!]) {
  assetNodes(assetKeys: $keys) {
    assetKey { path }
    freshnessStatusInfo { freshnessStatus }
    assetChecksOrError { ... on AssetChecks { checks { name
      executionForLatestMaterialization { status } } } }
  }
}"""


@dataclass
class DagsterUI:
    """The running webserver, seen through its GraphQL endpoint.

    One HTTP client for every query: the waits poll twice a second, and making a client
    (its TLS context) costs ~60 ms of CPU, more than the query itself."""

    url: str
    log: Path
    http: httpx.Client

    def query(self, text: str, **variables: Any) -> dict[str, Any]:
        reply = self.http.post(
            f"{self.url}/graphql", json={"query": text, "variables": variables}, timeout=30
        )
        reply.raise_for_status()
        body = reply.json()
        assert "errors" not in body, body["errors"]
        return body["data"]

    def log_tail(self) -> str:
        return f"--- {self.log.name}\n{self.log.read_text(errors='replace')[-6000:]}"


def wait_for(what: str, probe: Callable[[], T | None], timeout: float, ui: DagsterUI) -> T:
    """Poll `probe` until it returns a value, at most `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            value = probe()
        except httpx.TransportError:
            value = None
        if value is not None:
            return value
        time.sleep(0.5)
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}\n{ui.log_tail()}")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass(frozen=True)
class Process:
    """A live process of this instance."""

    group: int
    command: str


def live_processes(marker: str) -> dict[int, Process]:
    """The live processes (not zombies) whose environment carries `marker`, by pid:
    everything this test started, children and grandchildren included, even one that left
    its process group."""
    found = {}
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit() or int(proc.name) == os.getpid():
            continue
        try:
            environ = (proc / "environ").read_bytes()
            stat = (proc / "stat").read_text().rsplit(")", 1)[1].split()
            command = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        state, group = stat[0], int(stat[2])
        if marker.encode() in environ.split(b"\0") and state != "Z":
            found[int(proc.name)] = Process(group, command.strip())
    return found


def wait_gone(what: Callable[[], dict[int, Process]], timeout: float) -> dict[int, Process]:
    """Poll `what` until it finds nothing, at most `timeout` seconds; what is left."""
    deadline = time.monotonic() + timeout
    while (left := what()) and time.monotonic() < deadline:
        time.sleep(0.2)
    return left


#: How long `dagster dev` may take to stop its services and code server on SIGTERM.
GRACE_S = 30
#: How long SIGKILLed processes may take to go (a loaded machine schedules them late).
KILL_S = 30


def stop(dev: subprocess.Popen[bytes], marker: str) -> dict[int, Process]:
    """Stop `dagster dev` and everything it started; return the processes it leaked.

    SIGTERM to its process group is Ctrl-C to `dagster dev` (it stops the webserver, the
    daemon and its code server, each holding a heartbeat); whatever of the group is still
    there after `GRACE_S` is SIGKILLed, and waited for. A process of this instance alive
    after that left the group (a leak the group's end did not reach): it is SIGKILLed
    too, and reported, with the ones that outlive even that named as such.
    """
    group = dev.pid

    def in_group() -> dict[int, Process]:
        return {pid: p for pid, p in live_processes(marker).items() if p.group == group}

    with contextlib.suppress(ProcessLookupError):
        os.killpg(group, signal.SIGTERM)
    if wait_gone(in_group, GRACE_S):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(group, signal.SIGKILL)
        wait_gone(in_group, KILL_S)
    with contextlib.suppress(subprocess.TimeoutExpired):  # then it is named below
        dev.wait(timeout=KILL_S)
    leaked = live_processes(marker)
    for pid in leaked:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    survivors = wait_gone(
        lambda: {pid: p for pid, p in live_processes(marker).items() if pid in leaked}, KILL_S
    )
    return {
        pid: Process(p.group, p.command + (" (survived SIGKILL)" if pid in survivors else ""))
        for pid, p in leaked.items()
    }


@contextmanager
def default_interrupt() -> Iterator[None]:
    """SIGINT at its default for the processes started inside, as in a terminal.

    A process started with SIGINT ignored (a background job of a non-interactive shell,
    say) passes that on to its children, and Dagster's processes map SIGTERM to SIGINT's
    handler: every one of them would then ignore SIGTERM. A Python handler, unlike an
    ignored signal, is reset to the default in a new program."""
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


@contextmanager
def running_dagster(
    home: Path, env: dict[str, str], port: int, leaks: dict[int, Process]
) -> Iterator[DagsterUI]:
    """`dagster dev` in a session and process group of its own; on the way out, the
    processes it leaked are added to `leaks`."""
    log = home / "dagster-dev.log"
    command = [str(BIN / "dagster"), "dev", "-w", str(REPO_ROOT / "workspace.yaml")]
    with log.open("wb") as sink, default_interrupt():
        dev = subprocess.Popen(
            [*command, "-h", "127.0.0.1", "-p", str(port)],
            cwd=REPO_ROOT,
            env=env,
            stdout=sink,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        with httpx.Client() as http:
            yield DagsterUI(f"http://127.0.0.1:{port}", log, http)
    finally:
        leaks.update(stop(dev, f"DAGSTER_HOME={home}"))


@pytest.fixture
def dagster_home(tmp_path: Path) -> Path:
    """A fresh instance whose run queue is drained every second, but for the runs that
    sensors and schedules request: they stay queued. The example's sensors run by default
    (the test checks they do), and some request a run at once (history freshness, notes
    once Confluence is set); each such run would load the code location in a worker and
    step processes of its own, beside the test's run, and is tested in its own folder."""
    home = tmp_path / "dagster_home"
    home.mkdir()
    held = "".join(
        f"      - key: dagster/{origin}_name\n        limit: 0\n"
        for origin in ("sensor", "schedule")
    )
    (home / "dagster.yaml").write_text(
        "telemetry:\n  enabled: false\n"
        "run_coordinator:\n  module: dagster.core.run_coordinator\n"
        "  class: QueuedRunCoordinator\n  config:\n    dequeue_interval_seconds: 1\n"
        f"    tag_concurrency_limits:\n{held}",
        encoding="utf-8",
    )
    with DagsterInstance.from_config(str(home)):  # create the storage once: racing creates fail
        pass
    return home


@pytest.fixture
def wiki() -> Iterator[ConfluenceEmulatorServer]:
    with ConfluenceEmulatorServer() as server:
        yield server


@pytest.fixture
def example_env(
    tmp_path: Path,
    dot_emulator: EmulatorServer,
    wiki: ConfluenceEmulatorServer,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The example's variables, for the subprocesses and this process alike, with Dot's
    dashboards fetched and Confluence configured so every operation (notes included) is
    shown; the emulator then back at its start, so its journal holds only the test's run."""
    dot_env = {
        "DOT_BASE_URL": dot_emulator.url,
        "DOT_API_KEY": ADMIN_TOKEN,
        "DOT_DEMO_HOME": str(tmp_path),
        "DOT_DEMO_DUCKDB_PATH": str(tmp_path / "warehouse.duckdb"),
        "DOT_EXPOSURES_STATE": str(tmp_path / "dot_exposures.json"),
        "CONFLUENCE_BASE_URL": wiki.url,
        "CONFLUENCE_EMAIL": CONFLUENCE_USERS[0].email,
        "CONFLUENCE_API_TOKEN": CONFLUENCE_USERS[0].api_token,
    }
    for name, value in dot_env.items():
        monkeypatch.setenv(name, value)
    for name in ("DOT_REGION", "DOT_ALERTS_SLACK_TOKEN", "DOT_ALERTS_TEAMS_WEBHOOK_URL"):
        monkeypatch.delenv(name, raising=False)
    with DotClient(api_token=ADMIN_TOKEN, base_url=dot_emulator.url) as client:
        refresh_dot_exposures(client, tmp_path / "dot_exposures.json")
    dot_emulator.state.reset()


def test_ui_shows_the_package_and_runs_it(
    dagster_home: Path, example_env: None, dot_emulator: EmulatorServer
) -> None:
    # Only the subprocesses get DAGSTER_HOME: it marks every process they start.
    env = {
        **os.environ,
        "DAGSTER_HOME": str(dagster_home),
        "FRESHNESS_DAEMON_INTERVAL_SECONDS": "2",
    }

    leaks: dict[int, Process] = {}
    with running_dagster(dagster_home, env, free_port(), leaks) as ui:
        # The example as the subprocesses load it, built here while they start.
        expected = build_definitions(ExampleSettings.from_env())
        location, repo = wait_for("the code location to load", lambda: loaded(ui), LOAD_S, ui)
        selector = {"repositoryLocationName": location, "repositoryName": repo}
        shown = ui.query(EVERYTHING, repo=selector)["repositoryOrError"]
        assert_same_definitions(shown, expected)

        syncs = sorted(
            (k for k in expected.resolve_all_asset_keys() if k.path[:2] == ["dot", "sync"]),
            key=AssetKey.to_user_string,
        )
        run_id = launch(ui, selector, [*syncs, CATALOGUE_ASSET_KEY])
        status = wait_for("the run to finish", lambda: finished(ui, run_id), RUN_S, ui)
        assert status == "SUCCESS", ui.log_tail()
        synced = sorted(e["path"] for e in journal(dot_emulator) if e["route"] == SYNC_ROUTE)
        assert synced == sorted("/api/sync/" + "/".join(key.path[2:]) for key in syncs)

        health = wait_for("freshness to be evaluated", lambda: fresh(ui, syncs), FRESH_S, ui)
        for node in health:
            (check,) = node["assetChecksOrError"]["checks"]
            assert check["name"] == SYNC_ACCEPTED_CHECK
            assert check["executionForLatestMaterialization"]["status"] == "SUCCEEDED"

    assert leaks == {}, f"processes left outside dagster dev's group (killed now): {leaks}"


def loaded(ui: DagsterUI) -> tuple[str, str] | None:
    """(location, repository) once the code location loaded; fails fast on a load error."""
    data = ui.query(WORKSPACE)
    entries = data["workspaceOrError"].get("locationEntries") or []
    for entry in entries:
        error = entry["locationOrLoadError"] or {}
        assert error.get("__typename") != "PythonError", error.get("message")
    if not entries or any(entry["loadStatus"] != "LOADED" for entry in entries):
        return None
    (repo,) = data["repositoriesOrError"]["nodes"]
    return repo["location"]["name"], repo["name"]


def assert_same_definitions(shown: dict[str, Any], expected: Definitions) -> None:
    assert shown["__typename"] == "Repository"
    graph = expected.resolve_asset_graph()
    families = {("dot", "sync"), ("dot", "history"), ("dot", "notes"), ("dot", "external_assets")}
    assert families <= {tuple(key.path[:2]) for key in graph.get_all_asset_keys()}
    assert {tuple(node["assetKey"]["path"]) for node in shown["assetNodes"]} == {
        tuple(key.path) for key in expected.resolve_all_asset_keys()
    }
    assert {
        (tuple(node["assetKey"]["path"]), check["name"])
        for node in shown["assetNodes"]
        for check in node["assetChecksOrError"]["checks"]
    } == {(tuple(key.asset_key.path), key.name) for key in graph.asset_check_keys}
    assert {s["name"] for s in shown["schedules"]} == {s.name for s in expected.schedules or []}
    sensors = {s["name"]: s["sensorState"]["status"] for s in shown["sensors"]}
    assert set(sensors) == {s.name for s in expected.sensors or []}
    for name in ("dot_run_failure_alerts", "dot_check_alerts", "dot_quality_incidents"):
        assert sensors[name] == "RUNNING", f"{name} must run by default"


def launch(ui: DagsterUI, selector: dict[str, str], keys: list[AssetKey]) -> str:
    params = {
        "selector": {
            **selector,
            "jobName": "__ASSET_JOB",
            "assetSelection": [{"path": key.path} for key in keys],
        },
        # One process for the run: a step subprocess would load the code location again.
        "runConfigData": {"execution": {"config": {"in_process": {}}}},
        "mode": "default",
    }
    result = ui.query(LAUNCH, params=params)["launchRun"]
    assert result["__typename"] == "LaunchRunSuccess", result
    return str(result["run"]["runId"])


def finished(ui: DagsterUI, run_id: str) -> str | None:
    status = ui.query(RUN, runId=run_id)["runOrError"]["status"]
    return status if status in ("SUCCESS", "FAILURE", "CANCELED") else None


def fresh(ui: DagsterUI, keys: list[AssetKey]) -> list[dict[str, Any]] | None:
    nodes = ui.query(HEALTH, keys=[{"path": key.path} for key in keys])["assetNodes"]
    statuses = {node["freshnessStatusInfo"]["freshnessStatus"] for node in nodes}
    return nodes if statuses == {"HEALTHY"} else None


def journal(server: EmulatorServer) -> list[dict[str, Any]]:
    return list(httpx.get(f"{server.url}/_emulator/journal").json()["entries"])
