"""The example code location on a real Dagster instance against the Dot emulator, and a
recorder standing in for Slack and Microsoft Teams.

`example` is `build_definitions` exactly as `workspace.yaml` loads it (monitoring wired in),
pointed at the emulator and at a DuckDB file of its own.
"""

import json
import os
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from dagster import AssetKey, DagsterInstance, Definitions, instance_for_test

from dot_demo.definitions import ExampleSettings, build_definitions
from dot_orchestration.emulator import ADMIN_TOKEN, EmulatorServer

UI_URL = "http://dagster.example.com"
DUCKDB_SYNC = AssetKey(["dot", "sync", "duckdb", "dot_demo"])
DBT_SYNC = AssetKey(["dot", "sync", "dbt", "dot_demo"])


@pytest.fixture
def example(
    tmp_path: Path, dot_emulator: EmulatorServer, monkeypatch: pytest.MonkeyPatch
) -> Definitions:
    monkeypatch.setenv("DOT_BASE_URL", dot_emulator.url)
    monkeypatch.setenv("DOT_API_KEY", ADMIN_TOKEN)
    monkeypatch.setenv("DOT_DEMO_DUCKDB_PATH", str(tmp_path / "warehouse.duckdb"))
    monkeypatch.setenv("DOT_DAGSTER_UI_URL", UI_URL)
    monkeypatch.delenv("DOT_REGION", raising=False)
    for name in (
        "DOT_ALERTS_SLACK_TOKEN",
        "DOT_ALERTS_SLACK_CHANNEL",
        "DOT_ALERTS_TEAMS_WEBHOOK_URL",
    ):
        monkeypatch.delenv(name, raising=False)
    return build_definitions(ExampleSettings(demo_home=tmp_path, env=dict(os.environ)))


@pytest.fixture
def instance(tmp_path: Path) -> Iterator[DagsterInstance]:
    home = tmp_path / "dagster_home"
    home.mkdir()
    with instance_for_test(temp_dir=str(home)) as inst:
        yield inst


def materialize_keys(defs: Definitions, instance: DagsterInstance, keys: list[AssetKey]) -> bool:
    """Run the assets (and their checks) as the UI's "Materialize" button does."""
    job = defs.resolve_implicit_global_asset_job_def()
    return job.execute_in_process(
        instance=instance, asset_selection=keys, raise_on_error=False
    ).success


@dataclass
class Recorder:
    """A local HTTP server that answers like Slack's Web API and a Teams webhook, and keeps
    every request: a recorded fake for the two services, reached over real HTTP by the
    real clients (slack_sdk's WebClient, dagster-msteams' TeamsClient)."""

    url: str
    requests: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    refuse: bool = False

    def bodies(self, path_prefix: str) -> list[dict[str, Any]]:
        return [body for path, body in self.requests if path.startswith(path_prefix)]


@pytest.fixture
def recorder() -> Iterator[Recorder]:
    holder: list[Recorder] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", 0))
            raw = self.rfile.read(length).decode("utf-8")
            body = (
                json.loads(raw)
                if self.headers.get("Content-Type", "").startswith("application/json")
                else {"form": raw}
            )
            record = holder[0]
            record.requests.append((self.path, body))
            status = 500 if record.refuse else 200
            reply = json.dumps({"ok": not record.refuse, "error": "refused"}).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(reply)))
            self.end_headers()
            self.wfile.write(reply)

        def log_message(self, format: str, *args: Any) -> None:
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    holder.append(Recorder(url=f"http://127.0.0.1:{server.server_address[1]}"))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield holder[0]
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
