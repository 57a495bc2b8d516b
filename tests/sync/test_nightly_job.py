"""The nightly `dbt build → Dot syncs` job, end to end: the example's dbt project built
into an empty DuckDB file, the example's connections, and the emulator's request journal
showing which syncs went out and when.

Only the dbt models and the syncs are defined (no history, notes or catalogue): dbt is
here because the job's selection and the connections' `dbt_select` are dbt's. When the
automation sensor requests a sync is tested on plain assets in `test_automation.py`.
"""

from collections.abc import Callable
from datetime import datetime
from typing import Any

import httpx
import pytest
from _dbt_builds import FAIL_MODEL, FAIL_TEST, DbtHome, switched_on
from dagster import AssetKey, AssetsDefinition, DagsterInstance, Definitions
from dagster import evaluate_automation_conditions as evaluate
from dagster_dbt import DbtCliResource, DbtProject

from dot_demo.definitions import EXAMPLE_CONNECTIONS, dbt_executable
from dot_orchestration.emulator import ADMIN_TOKEN, EmulatorServer
from dot_orchestration.resources import DotResource
from dot_orchestration.syncs import (
    SyncSchedule,
    SyncSettings,
    build_dot_sync_definitions,
    sync_assets_of,
)

SYNC_ROUTE = "/api/sync/{connection_type}/{connection_id}"
JOB = "dbt_build_then_dot_sync"
Nightly = Callable[[EmulatorServer], Definitions]


@pytest.fixture
def nightly(
    dbt_project: DbtProject,
    dbt_defs: AssetsDefinition,
    dbt_home: DbtHome,
    monkeypatch: pytest.MonkeyPatch,
) -> Nightly:
    """The dbt models, the example's connections and their nightly job, against a server,
    building into the worker's DuckDB path, emptied first (dbt-duckdb reads the profile's
    variable; one path per worker lets dbt reuse its parse)."""
    monkeypatch.setenv("DOT_DEMO_DUCKDB_PATH", str(dbt_home.fresh_warehouse()))
    settings = SyncSettings(connections=EXAMPLE_CONNECTIONS, schedule=SyncSchedule())
    dbt = DbtCliResource(project_dir=dbt_project, dbt_executable=dbt_executable())

    def against(server: EmulatorServer) -> Definitions:
        dot = DotResource(api_token=ADMIN_TOKEN, base_url=server.url)
        return Definitions.merge(
            build_dot_sync_definitions(settings, upstream=[dbt_defs]),
            Definitions(assets=[dbt_defs], resources={"dbt": dbt, "dot": dot}),
        )

    return against


def sync_calls(server: EmulatorServer) -> list[dict[str, Any]]:
    entries = httpx.get(f"{server.url}/_emulator/journal").json()["entries"]
    return [e for e in entries if e["route"] == SYNC_ROUTE]


def run_job(defs: Definitions, instance: DagsterInstance) -> bool:
    """The nightly job (its dbt build broken on purpose inside `switched_on`)."""
    result = defs.resolve_job_def(JOB).execute_in_process(instance=instance, raise_on_error=False)
    return result.success


def materialized_at(instance: DagsterInstance, keys: set[AssetKey]) -> list[float]:
    times = []
    for key in keys:
        event = instance.get_latest_materialization_event(key)
        assert event is not None, f"{key.to_user_string()} was not materialized"
        times.append(event.timestamp)
    return times


def test_the_job_syncs_each_connection_once_after_its_models(
    instance: DagsterInstance, strict_dot_emulator: EmulatorServer, nightly: Nightly
) -> None:
    """dbt, then one sync per connection, and the automation adds nothing. On the strict
    profile, so nothing here rests on a guess of the default one; what the profiles answer
    a sync differently (`{}` or `null`) is test_sync_outcome.py's, on both profiles."""
    server = strict_dot_emulator
    defs = nightly(server)
    before = evaluate(defs=defs, instance=instance)
    assert run_job(defs, instance)

    calls = sync_calls(server)
    assert sorted(c["path"] for c in calls) == sorted(
        f"/api/sync/{c.type}/{c.id}" for c in EXAMPLE_CONNECTIONS
    )
    assert all(c["status"] == 200 for c in calls)
    for key, spec in sync_assets_of(defs).specs_by_key.items():
        upstream = {dep.asset_key for dep in spec.deps}
        assert upstream, f"{key.to_user_string()} has no upstream"
        path = "/api/sync/" + "/".join(key.path[2:])
        call = next(c for c in calls if c["path"] == path)
        assert datetime.fromisoformat(call["ts"]).timestamp() >= max(
            materialized_at(instance, upstream)
        ), f"{path} synced before its models were built"

    after = evaluate(defs=defs, instance=instance, cursor=before.cursor)
    assert after.total_requested == 0, "the automation must not re-sync what the job synced"


def test_a_failed_blocking_dbt_test_syncs_nothing(
    instance: DagsterInstance, dot_emulator: EmulatorServer, nightly: Nightly
) -> None:
    """A dbt test of severity error is a blocking check: the run stops before the syncs."""
    with switched_on(FAIL_TEST):
        assert not run_job(nightly(dot_emulator), instance)
    assert sync_calls(dot_emulator) == []


def test_a_failed_model_syncs_nothing(
    instance: DagsterInstance, dot_emulator: EmulatorServer, nightly: Nightly
) -> None:
    with switched_on(FAIL_MODEL):
        assert not run_job(nightly(dot_emulator), instance)
    assert sync_calls(dot_emulator) == []
