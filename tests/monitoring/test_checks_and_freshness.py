"""The sync and catalogue checks and the schedule's freshness, evaluated on a real instance.

Checks run inside the steps against the emulator; freshness is evaluated by the evaluator
Dagster's freshness daemon uses, on the instance the run wrote to, at chosen clock times.
"""

import asyncio
import os
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from dagster import (
    AssetCheckEvaluation,
    AssetCheckKey,
    AssetKey,
    DagsterInstance,
    Definitions,
    FreshnessPolicy,
)
from dagster._core.definitions.freshness import FreshnessState
from dagster._core.definitions.freshness_evaluator import TimeWindowFreshnessPolicyEvaluator
from dagster._core.loader import LoadingContextForTest
from dagster._core.test_utils import freeze_time

from dot_demo.definitions import ExampleSettings, build_definitions
from dot_orchestration.client import DotClient
from dot_orchestration.connection_sync import SYNC_ACCEPTED_CHECK
from dot_orchestration.dot_exposures import EXPOSURES_SNAPSHOT_KEY
from dot_orchestration.emulator import ADMIN_TOKEN, EmulatorServer
from dot_orchestration.emulator.faults import FaultRule
from dot_orchestration.external_assets import (
    CATALOGUE_ASSET_KEY,
    CATALOGUE_RECONCILED_CHECK,
    CatalogueFile,
    catalogue_reconciled_check,
    collect_source_assets,
)
from dot_orchestration.monitoring import latest_check_outcomes, schedule_freshness_policy

from .conftest import DBT_SYNC, DUCKDB_SYNC, materialize_keys

SCHEDULE = "dbt_build_then_dot_sync_schedule"


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
    assert accepted.metadata["attempts"].value == 1
    assert accepted.metadata["duration_s"].value >= 0

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
    assert passed.passed and passed.metadata["drift"].value == 0
    materialization = instance.get_latest_materialization_event(CATALOGUE_ASSET_KEY)
    assert materialization is not None and materialization.asset_materialization is not None
    metadata = materialization.asset_materialization.metadata
    assert metadata["created"].value == metadata["source_assets"].value > 0
    assert metadata["duration_s"].value > 0

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
    assert failed.metadata["failed"].value == 1
    assert failed.description.startswith("1 writes failed: dagster:")


def test_catalogue_check_reports_drift_it_reads_back(dot_emulator: EmulatorServer) -> None:
    """What Dot lists is compared afresh: assets missing from Dot are drift, by id."""
    desired = collect_source_assets(
        [CatalogueFile(ExampleSettings().catalogue_file)], id_prefix="dagster:"
    )
    with DotClient(api_token=ADMIN_TOKEN, base_url=dot_emulator.url) as client:
        result = catalogue_reconciled_check(
            client, desired, {}, id_prefix="dagster:", on_removed="deactivate"
        )
    assert not result.passed
    assert result.metadata["drift"].value == len(desired)
    assert result.metadata["drifted_ids"].value == sorted(d.asset.id for d in desired)


def freshness_at(
    defs: Definitions, instance: DagsterInstance, key: AssetKey, when: datetime
) -> FreshnessState:
    node = defs.resolve_asset_graph().get(key)
    evaluator = TimeWindowFreshnessPolicyEvaluator()
    with freeze_time(when):
        return asyncio.run(evaluator.evaluate_freshness(LoadingContextForTest(instance), node))


def test_freshness_follows_the_nightly_schedule(
    example: Definitions, instance: DagsterInstance
) -> None:
    """Daily job → fresh for a day plus an hour's grace after each sync, then FAIL."""
    schedule = example.resolve_schedule_def(SCHEDULE)
    policy = schedule_freshness_policy(schedule)
    assert policy == FreshnessPolicy.time_window(fail_window=timedelta(hours=25))
    graph = example.resolve_asset_graph()
    targeted = {DUCKDB_SYNC, DBT_SYNC, AssetKey("orders"), AssetKey("stg_orders")}
    assert all(graph.get(key).freshness_policy == policy for key in targeted)

    now = datetime.now(timezone.utc)
    assert freshness_at(example, instance, DUCKDB_SYNC, now) == FreshnessState.UNKNOWN
    assert materialize_keys(example, instance, [DUCKDB_SYNC])
    assert freshness_at(example, instance, DUCKDB_SYNC, now) == FreshnessState.PASS
    later = now + timedelta(hours=24, minutes=59)
    assert freshness_at(example, instance, DUCKDB_SYNC, later) == FreshnessState.PASS
    overdue = now + timedelta(hours=25, minutes=1)
    assert freshness_at(example, instance, DUCKDB_SYNC, overdue) == FreshnessState.FAIL


def test_every_family_is_as_fresh_as_the_schedule_that_refreshes_it(
    example: Definitions,
) -> None:
    """The catalogue and the history export have schedules of their own; nothing
    materializable is left without a policy."""
    graph = example.resolve_asset_graph()
    for schedule, key in (
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


def test_every_asset_tells_on_call_who_owns_it_and_what_to_do(
    example: Definitions, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """Owners, kinds and a description on every asset; Dot's own assets say what a failure
    means. Confluence is configured so the notes family is loaded too (the definitions
    only read the URL, no call is made)."""
    monkeypatch.setenv("CONFLUENCE_BASE_URL", "https://wiki.example.com/wiki")
    defs = build_definitions(ExampleSettings(demo_home=tmp_path, env=dict(os.environ)))
    graph = defs.resolve_asset_graph()
    nodes = [graph.get(key) for key in graph.materializable_asset_keys]
    assert AssetKey(["dot", "notes", "confluence"]) in graph.materializable_asset_keys
    assert [n.key for n in nodes if not (n.owners and n.kinds and n.description)] == []
    dot_nodes = [n for n in nodes if n.key.path[0] == "dot"]
    assert len(dot_nodes) >= 6
    assert [n.key for n in dot_nodes if "On failure" not in (n.description or "")] == []


def test_check_outcomes_read_back_from_the_instance(
    example: Definitions, instance: DagsterInstance
) -> None:
    """What the alert and incident sensors see: the latest completed evaluation per check."""
    keys = [AssetCheckKey(DUCKDB_SYNC, SYNC_ACCEPTED_CHECK), AssetCheckKey(DBT_SYNC, "x")]
    assert latest_check_outcomes(instance, keys) == []
    assert materialize_keys(example, instance, [DUCKDB_SYNC])
    (outcome,) = latest_check_outcomes(instance, keys)
    assert outcome.key == keys[0] and outcome.passed and outcome.state == "passed"
