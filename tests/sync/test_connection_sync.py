"""Warehouse syncs after dbt builds, end to end: real dbt, real DuckDB, real Dagster, emulator.

Each test builds the example dbt project into its own DuckDB file and checks, from the
emulator's request journal, which Dot syncs went out and when.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from dagster import (
    AssetKey,
    DagsterInstance,
    Definitions,
    evaluate_automation_conditions,
    instance_for_test,
)

from dot_demo.definitions import EXAMPLE_CONNECTIONS, ExampleSettings, build_definitions
from dot_orchestration.connection_sync import DotConnection, DotSyncTranslator
from dot_orchestration.emulator import ADMIN_TOKEN

SYNC_ROUTE = "/api/sync/{connection_type}/{connection_id}"
JOB = "dbt_build_then_dot_sync"
SYNC_KEYS = {DotSyncTranslator().get_asset_key(c) for c in EXAMPLE_CONNECTIONS}


def sync_calls(server: Any) -> list[dict[str, Any]]:
    entries = httpx.get(f"{server.url}/_emulator/journal").json()["entries"]
    return [e for e in entries if e["route"] == SYNC_ROUTE]


@pytest.fixture
def example(tmp_path: Path, dot_emulator: Any, monkeypatch: pytest.MonkeyPatch) -> Definitions:
    return example_on(dot_emulator, tmp_path, monkeypatch)


def example_on(server: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Definitions:
    """The example code location, pointed at `server` (either emulator profile)."""
    monkeypatch.setenv("DOT_BASE_URL", server.url)
    monkeypatch.setenv("DOT_API_KEY", ADMIN_TOKEN)
    monkeypatch.setenv("DOT_DEMO_DUCKDB_PATH", str(tmp_path / "warehouse.duckdb"))
    monkeypatch.delenv("DOT_REGION", raising=False)
    return build_definitions(ExampleSettings(demo_home=tmp_path, env=dict(os.environ)))


@pytest.fixture
def instance(tmp_path: Path) -> Iterator[DagsterInstance]:
    home = tmp_path / "dagster_home"
    home.mkdir()
    with instance_for_test(temp_dir=str(home)) as inst:
        yield inst


def run_job(defs: Definitions, instance: DagsterInstance, **dbt_vars: Any) -> bool:
    config = {"ops": {"dot_demo_dbt": {"config": {"dbt_vars": dbt_vars}}}} if dbt_vars else None
    result = defs.resolve_job_def(JOB).execute_in_process(
        instance=instance, run_config=config, raise_on_error=False
    )
    return result.success


def materialization_times(instance: DagsterInstance, keys: set[AssetKey]) -> dict[AssetKey, float]:
    times = {}
    for key in keys:
        event = instance.get_latest_materialization_event(key)
        assert event is not None, f"{key} was not materialized"
        times[key] = event.timestamp
    return times


def upstream_of(defs: Definitions, connection: DotConnection) -> set[AssetKey]:
    key = DotSyncTranslator().get_asset_key(connection)
    return {dep.asset_key for dep in defs.resolve_assets_def(key).specs_by_key[key].deps}


def test_job_syncs_each_connection_once_after_its_models(
    instance: DagsterInstance,
    any_dot_emulator: Any,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The nightly job: dbt, then one sync per connection, and the sensor adds nothing.
    On both emulator profiles: nothing here may rest on a guess of the default one."""
    dot_emulator = any_dot_emulator
    example = example_on(dot_emulator, tmp_path, monkeypatch)
    before = evaluate_automation_conditions(defs=example, instance=instance)
    assert run_job(example, instance)

    calls = sync_calls(dot_emulator)
    synced = sorted(c["path"] for c in calls)
    assert synced == sorted(f"/api/sync/{c.type}/{c.id}" for c in EXAMPLE_CONNECTIONS)
    assert all(c["status"] == 200 for c in calls)
    for connection in EXAMPLE_CONNECTIONS:
        upstream = upstream_of(example, connection)
        assert upstream, f"{connection.label} has no upstream"
        built_last = max(materialization_times(instance, upstream).values())
        call = next(c for c in calls if c["path"] == f"/api/sync/{connection.type}/{connection.id}")
        assert datetime.fromisoformat(call["ts"]).timestamp() >= built_last, (
            f"{connection.label} synced before its models were built"
        )

    after = evaluate_automation_conditions(defs=example, instance=instance, cursor=before.cursor)
    assert after.total_requested == 0, "the automation must not re-sync what the job synced"


def test_sync_metadata_records_what_happened(
    example: Definitions, instance: DagsterInstance
) -> None:
    syncs = next(iter(SYNC_KEYS))
    job = example.resolve_implicit_global_asset_job_def()
    assert job.execute_in_process(instance=instance, asset_selection=[syncs]).success
    event = instance.get_latest_materialization_event(syncs)
    assert event is not None and event.asset_materialization is not None
    metadata = event.asset_materialization.metadata
    ctype, cid = syncs.path[2:]
    assert metadata["connection"].value == f"{ctype}/{cid}"
    assert metadata["attempts"].value == 1
    assert metadata["duration_s"].value >= 0
    assert "dot_url" not in metadata  # Dot documents no page per connection: no guessed link


def test_failed_blocking_test_syncs_nothing_now_or_later(
    example: Definitions, instance: DagsterInstance, dot_emulator: Any
) -> None:
    before = evaluate_automation_conditions(defs=example, instance=instance)
    assert not run_job(example, instance, dot_demo_fail_test=True)
    assert sync_calls(dot_emulator) == []
    after = evaluate_automation_conditions(defs=example, instance=instance, cursor=before.cursor)
    assert after.total_requested == 0


def test_failed_model_syncs_nothing(
    example: Definitions, instance: DagsterInstance, dot_emulator: Any
) -> None:
    assert not run_job(example, instance, dot_demo_fail_model=True)
    assert sync_calls(dot_emulator) == []


def test_automation_requests_each_sync_once_after_a_clean_build(
    example: Definitions, instance: DagsterInstance
) -> None:
    first = evaluate_automation_conditions(defs=example, instance=instance)
    assert first.total_requested == 0

    dbt_keys = set(example.resolve_assets_def(AssetKey("orders")).keys)  # the nightly build
    job = example.resolve_implicit_global_asset_job_def()
    assert job.execute_in_process(instance=instance, asset_selection=list(dbt_keys)).success

    after_build = evaluate_automation_conditions(
        defs=example, instance=instance, cursor=first.cursor
    )
    requested = {r.key for r in after_build.results if r.true_subset.size}
    assert requested == SYNC_KEYS

    again = evaluate_automation_conditions(
        defs=example, instance=instance, cursor=after_build.cursor
    )
    assert again.total_requested == 0, "a second tick must not request the same syncs again"


def test_one_failing_connection_fails_the_step_and_keeps_the_others(
    example: Definitions, instance: DagsterInstance, dot_emulator: Any
) -> None:
    broken = next(iter(EXAMPLE_CONNECTIONS))
    rule = {"method": "POST", "path": f"/api/sync/{broken.type}/{broken.id}", "kind": "status"}
    rule["status"] = 404
    httpx.put(f"{dot_emulator.url}/_emulator/faults", json={"rules": [rule]}).raise_for_status()
    job = example.resolve_implicit_global_asset_job_def()
    result = job.execute_in_process(
        instance=instance, asset_selection=list(SYNC_KEYS), raise_on_error=False
    )
    assert not result.success
    failure = next(e for e in result.all_events if e.is_step_failure).step_failure_data
    assert broken.label in str(failure.error)
    assert failure.error.cause is not None and failure.error.cause.cls_name == "DotNotFoundError"
    assert failure.user_failure_data is not None
    assert failure.user_failure_data.metadata["error_class"].value == {
        broken.label: "DotNotFoundError"
    }
    materialized = {e.asset_key for e in result.get_asset_materialization_events()}
    assert materialized == SYNC_KEYS - {DotSyncTranslator().get_asset_key(broken)}
