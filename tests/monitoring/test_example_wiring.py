"""The example's own wiring: where the example code location is the subject.

Its sync and catalogue checks evaluated in its steps against the emulator, a freshness
policy on everything its schedules refresh, and an owner and a "what to do" on every asset
on-call may be paged about. Library behaviour is tested on small definitions elsewhere in
this folder.
"""

import os
from pathlib import Path

import pytest
from dagster import AssetCheckEvaluation, AssetCheckKey, AssetKey, DagsterInstance, Definitions

from dot_orchestration.catalogue import (
    CATALOGUE_ASSET_KEY,
    CATALOGUE_RECONCILED_CHECK,
    EXPOSURES_SNAPSHOT_KEY,
    CatalogueFile,
    catalogue_reconciled_check,
    collect_source_assets,
)
from dot_orchestration.client import DotClient
from dot_orchestration.emulator import ADMIN_TOKEN, EmulatorServer
from dot_orchestration.emulator.faults import FaultRule
from dot_orchestration.monitoring import schedule_freshness_policy
from dot_orchestration.syncs import SYNC_ACCEPTED_CHECK

DUCKDB_SYNC = AssetKey(["dot", "sync", "duckdb", "dot_demo"])
DBT_SYNC = AssetKey(["dot", "sync", "dbt", "dot_demo"])


def materialize_keys(defs: Definitions, instance: DagsterInstance, keys: list[AssetKey]) -> bool:
    """Run the assets (and their checks) as the UI's "Materialize" button does."""
    job = defs.resolve_implicit_global_asset_job_def()
    return job.execute_in_process(
        instance=instance, asset_selection=keys, raise_on_error=False
    ).success


def check_record(instance: DagsterInstance, key: AssetCheckKey) -> AssetCheckEvaluation:
    record = instance.get_latest_asset_check_evaluation_record(key)
    assert record is not None and record.event is not None, f"{key} was not evaluated"
    evaluation = record.event.asset_check_evaluation
    assert evaluation is not None
    return evaluation


def test_sync_check_records_attempts_or_dots_refusal(
    example: Definitions, instance: DagsterInstance, dot_emulator: EmulatorServer
) -> None:
    """A refused sync fails its own check with Dot's answer; the other passes with metadata."""
    dot_emulator.state.faults = [
        FaultRule(method="POST", path="/api/sync/duckdb/*", kind="status", status=403)
    ]
    assert not materialize_keys(example, instance, [DUCKDB_SYNC, DBT_SYNC])

    accepted = check_record(instance, AssetCheckKey(DBT_SYNC, SYNC_ACCEPTED_CHECK))
    assert accepted.passed
    assert accepted.metadata["dot/sync_attempts"].value == 1
    assert accepted.metadata["dot/sync_duration_s"].value >= 0

    refused = check_record(instance, AssetCheckKey(DUCKDB_SYNC, SYNC_ACCEPTED_CHECK))
    assert not refused.passed
    assert "403" in refused.description and "/api/sync/duckdb/dot_demo" in refused.description
    assert instance.get_latest_materialization_event(DUCKDB_SYNC) is None


def test_catalogue_check_passes_when_dot_matches_and_names_failed_writes(
    example: Definitions, instance: DagsterInstance, dot_emulator: EmulatorServer
) -> None:
    check = AssetCheckKey(CATALOGUE_ASSET_KEY, CATALOGUE_RECONCILED_CHECK)
    assert materialize_keys(example, instance, [CATALOGUE_ASSET_KEY])
    passed = check_record(instance, check)
    assert passed.passed and passed.metadata["dot/drift"].value == 0
    materialization = instance.get_latest_materialization_event(CATALOGUE_ASSET_KEY)
    assert materialization is not None and materialization.asset_materialization is not None
    metadata = materialization.asset_materialization.metadata
    assert metadata["dot/created"].value == metadata["dot/source_assets"].value > 0
    assert metadata["dot/catalogue_duration_s"].value > 0

    dot_emulator.state.reset()
    dot_emulator.state.faults = [
        FaultRule(
            method="POST",
            path="/api/import_and_overwrite_external_asset",
            kind="status",
            status=403,
            times=1,
        )
    ]
    assert not materialize_keys(example, instance, [CATALOGUE_ASSET_KEY])
    failed = check_record(instance, check)
    assert not failed.passed
    assert failed.metadata["dot/failed"].value == 1
    assert failed.description.startswith("1 writes failed: dagster:")


def test_catalogue_check_reports_drift_it_reads_back(dot_emulator: EmulatorServer) -> None:
    """What Dot lists is compared afresh: assets missing from Dot are drift, by id."""
    from dot_demo.definitions import ExampleSettings

    desired = collect_source_assets(
        [CatalogueFile(ExampleSettings().catalogue_file)], id_prefix="dagster:"
    )
    with DotClient(api_token=ADMIN_TOKEN, base_url=dot_emulator.url) as client:
        result = catalogue_reconciled_check(
            client, desired, {}, id_prefix="dagster:", on_removed="deactivate"
        )
    assert not result.passed
    assert result.metadata["dot/drift"].value == len(desired)
    assert result.metadata["dot/drifted_ids"].value == sorted(d.asset.id for d in desired)


def test_every_family_is_as_fresh_as_the_schedule_that_refreshes_it(
    example: Definitions,
) -> None:
    """The nightly job (dbt models and syncs), the catalogue and the history export each
    have a schedule; nothing materializable is left without a policy, and the example has
    the three monitoring sensors."""
    graph = example.resolve_asset_graph()
    for schedule, key in (
        ("dbt_build_then_dot_sync_schedule", DUCKDB_SYNC),
        ("dbt_build_then_dot_sync_schedule", AssetKey("orders")),
        ("dbt_build_then_dot_sync_schedule", AssetKey("stg_orders")),
        ("dot_catalogue_daily", CATALOGUE_ASSET_KEY),
        ("dot_catalogue_daily", EXPOSURES_SNAPSHOT_KEY),
        ("dot_history_daily", AssetKey(["dot", "history"])),
        ("dot_history_daily", AssetKey("dot_usage_daily")),
    ):
        policy = schedule_freshness_policy(example.resolve_schedule_def(schedule))
        assert graph.get(key).freshness_policy == policy, (schedule, key)
    unpoliced = [
        key.to_user_string()
        for key in graph.materializable_asset_keys
        if graph.get(key).freshness_policy is None
    ]
    assert unpoliced == []
    sensors = {sensor.name for sensor in example.sensors or ()}
    assert {"dot_run_failure_alerts", "dot_check_alerts", "dot_quality_incidents"} <= sensors


def test_every_asset_tells_on_call_who_owns_it_and_what_to_do(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, dot_emulator: EmulatorServer
) -> None:
    """Owners, kinds and a description on every asset; Dot's own assets say what a failure
    means. Confluence is configured so the notes family is loaded too (the definitions
    only read the URL, no call is made)."""
    from dot_demo.definitions import ExampleSettings, build_definitions

    monkeypatch.setenv("DOT_BASE_URL", dot_emulator.url)
    monkeypatch.setenv("DOT_API_KEY", ADMIN_TOKEN)
    monkeypatch.setenv("CONFLUENCE_BASE_URL", "https://wiki.example.com/wiki")
    defs = build_definitions(ExampleSettings(demo_home=tmp_path, env=dict(os.environ)))
    graph = defs.resolve_asset_graph()
    nodes = [graph.get(key) for key in graph.materializable_asset_keys]
    assert AssetKey(["dot", "notes", "confluence"]) in graph.materializable_asset_keys
    assert [n.key for n in nodes if not (n.owners and n.kinds and n.description)] == []
    dot_nodes = [n for n in nodes if n.key.path[0] == "dot"]
    assert len(dot_nodes) >= 6
    assert [n.key for n in dot_nodes if "On failure" not in (n.description or "")] == []
