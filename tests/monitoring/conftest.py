"""Monitoring on real Dagster instances (the shared `instance` fixture) against the Dot
emulator, with a recorder standing in for Slack and Microsoft Teams.

Most tests build small per-feature `Definitions` (`small_defs`): two plain assets with
checks whose outcome a test chooses through run config, wired by
`build_dot_monitoring_definitions` exactly as the example and the component wire theirs.
Only where the example's own wiring (or its dbt tests) is the subject does a test load
`example`: `build_definitions` as `workspace.yaml` loads it, once per module.
"""

import json
import os
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from _dbt_builds import DbtHome
from dagster import (
    AssetCheckResult,
    AssetKey,
    AssetsDefinition,
    Config,
    DagsterInstance,
    Definitions,
    SensorDefinition,
    asset,
    asset_check,
    build_sensor_context,
    materialize,
)

from dot_orchestration.emulator import ADMIN_TOKEN, EmulatorServer
from dot_orchestration.monitoring import (
    AlertChannels,
    MonitoringSettings,
    build_dot_monitoring_definitions,
)
from dot_orchestration.resources import DotResource

UI_URL = "http://dagster.example.com"
ORDERS = AssetKey("orders")
CUSTOMERS = AssetKey("customers")


class Outcome(Config):
    """Whether a check passes: chosen per run, so a test sets each state it needs."""

    passes: bool = True


@asset
def orders() -> int:
    return 1


@asset
def customers() -> int:
    return 1


@asset_check(asset=orders)
def orders_add_up(config: Outcome) -> AssetCheckResult:
    return AssetCheckResult(passed=config.passes, description=None if config.passes else "3 != 4")


@asset_check(asset=customers)
def customers_unique(config: Outcome) -> AssetCheckResult:
    return AssetCheckResult(passed=config.passes)


PARTS: dict[str, tuple[AssetsDefinition, AssetsDefinition]] = {
    "orders": (orders, orders_add_up),
    "customers": (customers, customers_unique),
}


def check_run(instance: DagsterInstance, **passing: bool) -> str:
    """Materialize the named assets; their checks pass or fail as given. Returns the run id."""
    selected = [part for name in passing for part in PARTS[name]]
    config = {
        "ops": {
            check.op.name: {"config": {"passes": passing[name]}}
            for name, (_, check) in PARTS.items()
            if name in passing
        }
    }
    return materialize(selected, instance=instance, run_config=config, raise_on_error=False).run_id


def small_defs(
    server: EmulatorServer,
    settings: MonitoringSettings | None = None,
    *,
    dot_tables: Sequence[AssetKey] = (ORDERS,),
    assets: Sequence[AssetsDefinition] = (orders, customers, orders_add_up, customers_unique),
) -> Definitions:
    """The two assets and their checks, monitored; links point at `UI_URL`."""
    defs = Definitions(
        assets=list(assets),
        resources={"dot": DotResource(api_token=ADMIN_TOKEN, base_url=server.url, max_attempts=1)},
    )
    return build_dot_monitoring_definitions(
        defs, settings or MonitoringSettings(ui_url=UI_URL), dot_tables=dot_tables
    )


def tick(
    sensor: SensorDefinition,
    instance: DagsterInstance,
    cursor: str | None,
    **resources: object,
) -> str | None:
    """One evaluation as the daemon runs it; returns the next cursor."""
    context = build_sensor_context(instance=instance, cursor=cursor, resources=resources)
    return sensor.evaluate_tick(context).cursor


@dataclass
class Recorder:
    """A local HTTP server that answers like Slack's Web API and a Teams webhook, and keeps
    every request: a recorded fake for the two services (the only fakes of this suite),
    reached over real HTTP by the real clients (slack_sdk's WebClient, dagster-msteams'
    TeamsClient)."""

    url: str
    requests: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    refuse: bool = False

    def bodies(self, path_prefix: str) -> list[dict[str, Any]]:
        return [body for path, body in self.requests if path.startswith(path_prefix)]

    def channels(self) -> AlertChannels:
        """Slack and Teams, both pointed at this recorder."""
        return AlertChannels(
            slack_token="xoxb-test",
            slack_channel="#data-ops",
            slack_api_url=f"{self.url}/slack/",
            teams_webhook_url=f"{self.url}/teams",
        )

    def slack_texts(self) -> list[str]:
        return [body["text"] for body in self.bodies("/slack/chat.postMessage")]

    def teams_texts(self) -> list[str]:
        return [
            body["attachments"][0]["content"]["body"][0]["text"] for body in self.bodies("/teams")
        ]


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
    # `shutdown()` waits for the loop to look: every 0.05 s, not the default 0.5 s.
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield holder[0]
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


@pytest.fixture(scope="module")
def example(
    tmp_path_factory: pytest.TempPathFactory,
    dot_emulator_server: EmulatorServer,
    dbt_home: DbtHome,
) -> Iterator[Definitions]:
    """The example code location, pointed at the emulator, built once per module (tests
    reset the emulator through `dot_emulator`). Its demo home is the worker's dbt home
    (an emptied DuckDB file, dbt's runs and their parse: see `_dbt_builds.py`); the
    exposures it fetches stay the module's."""
    from dot_demo.definitions import ExampleSettings, build_definitions

    with pytest.MonkeyPatch.context() as env:
        env.setenv("DOT_BASE_URL", dot_emulator_server.url)
        env.setenv("DOT_API_KEY", ADMIN_TOKEN)
        env.setenv("DOT_DEMO_DUCKDB_PATH", str(dbt_home.fresh_warehouse()))
        env.setenv("DOT_EXPOSURES_STATE", str(tmp_path_factory.mktemp("demo") / "exposures.json"))
        env.setenv("DOT_DAGSTER_UI_URL", UI_URL)
        for name in (
            "DOT_REGION",
            "CONFLUENCE_BASE_URL",
            "DOT_ALERTS_SLACK_TOKEN",
            "DOT_ALERTS_SLACK_CHANNEL",
            "DOT_ALERTS_TEAMS_WEBHOOK_URL",
        ):
            env.delenv(name, raising=False)
        yield build_definitions(ExampleSettings(demo_home=dbt_home.root, env=dict(os.environ)))
