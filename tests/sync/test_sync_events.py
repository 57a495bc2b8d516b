"""What a sync run stores per connection, each event a write of the instance: the planned
materialization and check, the asset's output and materialization, and one check
evaluation, which names the materialization it is about. Real runs against the emulator."""

from __future__ import annotations

from collections import Counter

import httpx
import pytest
from dagster import (
    AssetCheckKey,
    AssetsDefinition,
    AssetSelection,
    DagsterEventType,
    DagsterInstance,
    ExecuteInProcessResult,
    asset,
    materialize,
)

from dot_orchestration.emulator import ADMIN_TOKEN, EmulatorServer
from dot_orchestration.resources import DotResource
from dot_orchestration.syncs import (
    SYNC_ACCEPTED_CHECK,
    DotConnection,
    SyncSettings,
    build_dot_sync_assets,
)

CONNECTIONS = 5
PER_CONNECTION = {
    DagsterEventType.ASSET_MATERIALIZATION_PLANNED: 1,
    DagsterEventType.ASSET_CHECK_EVALUATION_PLANNED: 1,
    DagsterEventType.STEP_OUTPUT: 1,
    DagsterEventType.ASSET_MATERIALIZATION: 1,
    DagsterEventType.ASSET_CHECK_EVALUATION: 1,
}


@asset
def orders() -> None:
    """A stand-in for the table Dot reads."""


@pytest.fixture(scope="module")
def syncs() -> AssetsDefinition:
    connections = [
        DotConnection(type="snowflake", id=f"c{i}", asset_keys=("orders",))
        for i in range(CONNECTIONS)
    ]
    return build_dot_sync_assets(SyncSettings(connections=connections), upstream=[orders])


def run(
    server: EmulatorServer,
    syncs: AssetsDefinition,
    instance: DagsterInstance,
    selection: AssetSelection | None = None,
) -> ExecuteInProcessResult:
    dot = DotResource(api_token=ADMIN_TOKEN, base_url=server.url)
    return materialize(
        [orders, syncs],
        selection=selection or AssetSelection.assets(syncs),
        resources={"dot": dot},
        instance=instance,
        raise_on_error=False,
    )


def stored(instance: DagsterInstance, result: ExecuteInProcessResult) -> Counter[DagsterEventType]:
    """The Dagster events of the run's sync assets, by type, as the instance stored them."""
    counts: Counter[DagsterEventType] = Counter()
    for entry in instance.all_logs(result.run_id):
        event = entry.dagster_event
        if event is not None and event.event_type in PER_CONNECTION:
            counts[event.event_type] += 1
    return counts


def test_each_synced_connection_stores_five_events(
    dot_emulator: EmulatorServer, syncs: AssetsDefinition, instance: DagsterInstance
) -> None:
    """No output event for the check and no event-log query per check: its evaluation is
    stored as the step yields it (`AssetCheckResult` cost one of each per connection)."""
    result = run(dot_emulator, syncs, instance)

    assert result.success
    assert stored(instance, result) == {kind: CONNECTIONS for kind in PER_CONNECTION}


def test_a_check_names_the_materialization_it_is_about(
    dot_emulator: EmulatorServer, syncs: AssetsDefinition, instance: DagsterInstance
) -> None:
    """The UI links a check to its materialization, and shows it as the latest one's."""
    result = run(dot_emulator, syncs, instance)

    for key in syncs.keys:
        [check] = [c for c in result.get_asset_check_evaluations() if c.asset_key == key]
        assert check.passed and check.check_name == SYNC_ACCEPTED_CHECK
        assert check.metadata["dot/sync_attempts"].value == 1
        record = instance.get_asset_records([key])[0].asset_entry.last_materialization_record
        assert record is not None and record.run_id == result.run_id
        target = check.target_materialization_data
        assert target is not None and target.storage_id == record.storage_id
        [execution] = instance.event_log_storage.get_asset_check_execution_history(
            AssetCheckKey(key, SYNC_ACCEPTED_CHECK), limit=1
        )
        assert execution.status.value == "SUCCEEDED"


def test_a_refused_sync_fails_its_check_in_the_runs_events(
    dot_emulator: EmulatorServer, syncs: AssetsDefinition, instance: DagsterInstance
) -> None:
    rule = {"method": "POST", "path": "/api/sync/snowflake/c0", "kind": "status", "status": 404}
    httpx.put(f"{dot_emulator.url}/_emulator/faults", json={"rules": [rule]}).raise_for_status()

    result = run(dot_emulator, syncs, instance)

    assert not result.success
    checks = {c.asset_key.path[-1]: c.passed for c in result.get_asset_check_evaluations()}
    assert checks == {"c0": False, **{f"c{i}": True for i in range(1, CONNECTIONS)}}


def test_a_run_without_the_checks_evaluates_none(
    dot_emulator: EmulatorServer, syncs: AssetsDefinition, instance: DagsterInstance
) -> None:
    result = run(dot_emulator, syncs, instance, AssetSelection.assets(syncs).without_checks())

    assert result.success
    assert result.get_asset_check_evaluations() == []
    assert {e.asset_key for e in result.get_asset_materialization_events()} == set(syncs.keys)
