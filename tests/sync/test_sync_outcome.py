"""A sync reaches Dot at most once: real Dagster runs against both emulator profiles.

Dot documents neither the sync's reply nor a way to ask whether a sync is running, so a
sync that may have reached Dot (a read timeout, a dropped connection, a 5xx) is never
re-sent: the asset fails saying the outcome is unknown, and re-materializing is a person's
choice. The emulator's journal shows what reached Dot.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from dagster import (
    AssetKey,
    AssetsDefinition,
    DagsterInstance,
    ExecuteInProcessResult,
    asset,
    materialize,
)

from dot_orchestration.emulator import ADMIN_TOKEN, EmulatorConfig, EmulatorServer
from dot_orchestration.resources import DotResource
from dot_orchestration.syncs import (
    SYNC_ACCEPTED_CHECK,
    DotConnection,
    SyncSettings,
    build_dot_sync_assets,
)

SYNC_ROUTE = "/api/sync/{connection_type}/{connection_id}"
CONNECTIONS = (
    DotConnection(type="snowflake", id="prod", asset_keys=("orders",)),
    DotConnection(type="dbt", id="main", asset_keys=("orders",)),
)
SNOWFLAKE = AssetKey(["dot", "sync", "snowflake", "prod"])
#: Longer than the read timeout the slow-Dot test gives the client.
SYNC_DELAY_S = 1.5
READ_TIMEOUT_S = 0.5


@asset
def orders() -> None:
    """A stand-in for the table Dot reads."""


@pytest.fixture(scope="module")
def syncs() -> AssetsDefinition:
    return build_dot_sync_assets(SyncSettings(connections=CONNECTIONS), upstream=[orders])


@pytest.fixture(scope="module")
def slow_strict_dot() -> Iterator[EmulatorServer]:
    """The strict profile with syncs that take longer than the client's read timeout."""
    config = EmulatorConfig(seed=42, strict=True, sync_delay_s=SYNC_DELAY_S)
    with EmulatorServer(config, port=0) as server:
        yield server


def run_syncs(
    server: EmulatorServer, syncs: AssetsDefinition, instance: DagsterInstance, **dot: Any
) -> ExecuteInProcessResult:
    resource = DotResource(api_token=ADMIN_TOKEN, base_url=server.url, **dot)
    return materialize(
        [orders, syncs], resources={"dot": resource}, instance=instance, raise_on_error=False
    )


def sync_calls(server: EmulatorServer) -> list[dict[str, Any]]:
    entries = httpx.get(f"{server.url}/_emulator/journal").json()["entries"]
    return [entry for entry in entries if entry["route"] == SYNC_ROUTE]


def test_each_connection_syncs_once_with_what_dot_said(
    any_dot_emulator: EmulatorServer, syncs: AssetsDefinition, instance: DagsterInstance
) -> None:
    result = run_syncs(any_dot_emulator, syncs, instance)

    assert result.success
    calls = sync_calls(any_dot_emulator)
    assert sorted(call["path"] for call in calls) == [
        "/api/sync/dbt/main",
        "/api/sync/snowflake/prod",
    ]
    assert all(call["status"] == 200 for call in calls)
    event = instance.get_latest_materialization_event(SNOWFLAKE)
    assert event is not None and event.asset_materialization is not None
    metadata = event.asset_materialization.metadata
    assert metadata["dot/connection"].value == "snowflake/prod"
    assert metadata["dot/sync_attempts"].value == 1
    assert metadata["dot/sync_duration_s"].value >= 0
    assert "dot_url" not in metadata  # Dot documents no page per connection: no guessed link
    checks = [c for c in result.get_asset_check_evaluations() if c.asset_key == SNOWFLAKE]
    assert [(c.check_name, c.passed) for c in checks] == [(SYNC_ACCEPTED_CHECK, True)]


def test_a_sync_slower_than_the_read_timeout_reaches_dot_once_and_its_outcome_is_unknown(
    slow_strict_dot: EmulatorServer, syncs: AssetsDefinition, instance: DagsterInstance
) -> None:
    started = time.monotonic()
    result = run_syncs(
        slow_strict_dot, syncs, instance, read_timeout_s=READ_TIMEOUT_S, max_attempts=5
    )

    assert not result.success
    # Wait until Dot has finished every sync it received, then count what reached it.
    time.sleep(max(0.0, SYNC_DELAY_S + 0.5 - (time.monotonic() - started)))
    calls = sync_calls(slow_strict_dot)
    assert sorted(call["path"] for call in calls) == [
        "/api/sync/dbt/main",
        "/api/sync/snowflake/prod",
    ], "each sync must reach Dot exactly once, never re-sent after its read timeout"
    assert len(slow_strict_dot.state.sync_log) == 2

    failure = next(e for e in result.all_events if e.is_step_failure).step_failure_data
    assert failure.error is not None and failure.user_failure_data is not None
    assert "Outcome unknown for dbt/main, snowflake/prod" in str(failure.error)
    assert "From asset failure" in str(failure.error)
    assert failure.error.cause is not None
    assert failure.error.cause.cls_name == "DotOutcomeUnknownError"
    metadata = failure.user_failure_data.metadata
    assert metadata["dot/sync_outcome"].value == {
        "dbt/main": "unknown",
        "snowflake/prod": "unknown",
    }
    [check] = [c for c in result.get_asset_check_evaluations() if c.asset_key == SNOWFLAKE]
    assert not check.passed
    assert check.metadata["dot/sync_outcome"].value == "unknown"
    assert check.description is not None
    assert check.description.startswith("Outcome unknown: the sync request may have reached Dot")
    assert instance.get_latest_materialization_event(SNOWFLAKE) is None


def test_a_refused_sync_fails_the_step_keeps_the_others_and_is_not_called_unknown(
    dot_emulator: EmulatorServer, syncs: AssetsDefinition, instance: DagsterInstance
) -> None:
    rule = {"method": "POST", "path": "/api/sync/snowflake/*", "kind": "status", "status": 404}
    httpx.put(f"{dot_emulator.url}/_emulator/faults", json={"rules": [rule]}).raise_for_status()

    result = run_syncs(dot_emulator, syncs, instance)

    assert not result.success
    failure = next(e for e in result.all_events if e.is_step_failure).step_failure_data
    assert failure.error is not None and failure.user_failure_data is not None
    assert "1 of 2 Dot syncs failed: snowflake/prod" in str(failure.error)
    assert failure.error.cause is not None and failure.error.cause.cls_name == "DotNotFoundError"
    metadata = failure.user_failure_data.metadata
    assert metadata["dot/sync_outcome"].value == {"snowflake/prod": "refused"}
    assert metadata["dot/sync_error_class"].value == {"snowflake/prod": "DotNotFoundError"}
    assert "Outcome unknown" not in str(failure.error)
    assert len(sync_calls(dot_emulator)) == 2
    materialized = {e.asset_key for e in result.get_asset_materialization_events()}
    assert materialized == {AssetKey("orders"), AssetKey(["dot", "sync", "dbt", "main"])}


def test_a_misspelt_environment_fails_the_run_before_any_sync(
    dot_emulator: EmulatorServer, syncs: AssetsDefinition, instance: DagsterInstance
) -> None:
    """Checked once against `GET /api/environments` when the resource is set up."""
    result = run_syncs(dot_emulator, syncs, instance, environment="stagin")

    assert not result.success
    assert sync_calls(dot_emulator) == []
    failure = next(e for e in result.all_events if e.is_failure)
    assert "no environment id 'stagin'" in str(failure.event_specific_data)
    assert "lists staging" in str(failure.event_specific_data)


def test_a_listed_environment_syncs_in_that_environment(
    dot_emulator: EmulatorServer, syncs: AssetsDefinition, instance: DagsterInstance
) -> None:
    assert run_syncs(dot_emulator, syncs, instance, environment="staging").success
    assert {record.environment for record in dot_emulator.state.sync_log} == {"staging"}
