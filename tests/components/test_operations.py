"""Every Dot operation configured in one `defs.yaml`, run against the emulators.

The project holds the example's dbt component and one DotComponent with every section. The
tests run what a YAML user gets — a catalogue reconcile, an export day, a note sync, a Dot
incident for a failed dbt test — and compare with what Dot (the emulator) and DuckDB hold.
"""

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path

import duckdb
import pytest
from dagster import (
    AssetCheckEvaluation,
    AssetKey,
    DagsterInstance,
    Definitions,
    EnvVar,
    build_sensor_context,
)
from dagster_dbt import DbtProjectComponent

from dot_orchestration.catalogue import refresh_dot_exposures
from dot_orchestration.client import DotClient
from dot_orchestration.emulator import ADMIN_TOKEN, EmulatorServer
from dot_orchestration.emulator.confluence import ConfluenceEmulatorServer
from dot_orchestration.monitoring import schedule_freshness_policy

from ._support import (
    dbt_sandbox,
    every_section,
    journal,
    run_assets,
    set_confluence_env,
    set_dot_env,
    spec_of,
    write_dot_yaml,
)

HISTORY_DAY = (datetime.now(timezone.utc) - timedelta(days=2)).date()
DUCKDB_SYNC = AssetKey(["dot", "sync", "duckdb", "dot_demo"])
SYNC_KEYS = {DUCKDB_SYNC, AssetKey(["dot", "sync", "dbt", "dot_demo"])}
CATALOGUE_KEY = AssetKey(["dot", "external_assets"])
HISTORY_KEY = AssetKey(["dot", "history"])
NOTES_KEY = AssetKey(["dot", "notes", "metrics"])
SNAPSHOT_KEY = AssetKey(["dot", "exposures_snapshot"])


@dataclass
class Loaded:
    defs: Definitions
    dbt: DbtProjectComponent
    dot: EmulatorServer
    site: ConfluenceEmulatorServer
    warehouse: Path


@pytest.fixture(scope="module")
def module_defs(
    dbt_project_dir: Path,
    dot_emulator_server: EmulatorServer,
    confluence_server: ConfluenceEmulatorServer,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[Definitions, DbtProjectComponent, Path]]:
    """The project loaded once for the module (a load is most of a test's time here): the
    tests only read the definitions or run them, and each starts from reset emulators
    (`loaded`), so none sees what another ran but in the shared instance and warehouse,
    which each reads by its own run or partition."""
    files = tmp_path_factory.mktemp("operations")
    dot_emulator_server.state.reset()
    with pytest.MonkeyPatch.context() as patch, dbt_sandbox(dbt_project_dir) as project:
        set_dot_env(patch, dot_emulator_server)
        set_confluence_env(patch, confluence_server)
        defs_yaml = write_dot_yaml(project, every_section(files, HISTORY_DAY))
        with DotClient(api_token=ADMIN_TOKEN, base_url=dot_emulator_server.url) as client:
            refresh_dot_exposures(client, defs_yaml.parent / "dot_exposures.json")
        with project.build_component_tree() as tree:
            yield (
                tree.build_defs(),
                tree.load_component("dbt", DbtProjectComponent),
                files / "warehouse.duckdb",
            )


@pytest.fixture
def loaded(
    module_defs: tuple[Definitions, DbtProjectComponent, Path],
    dot_env: EmulatorServer,
    confluence_env: ConfluenceEmulatorServer,
) -> Loaded:
    """The module's definitions, with the emulators reset and the environment a run reads."""
    defs, dbt, warehouse = module_defs
    return Loaded(defs=defs, dbt=dbt, dot=dot_env, site=confluence_env, warehouse=warehouse)


def dbt_assets_of(loaded: Loaded) -> set[AssetKey]:
    """The keys the dbt component materializes (not the dbt sources it reads)."""
    with_dbt = loaded.defs.get_repository_def().asset_graph
    return {key for key in with_dbt.materializable_asset_keys if key.path[0] != "dot"}


def test_every_section_becomes_assets_checks_schedules_and_sensors(loaded: Loaded) -> None:
    repo = loaded.defs.get_repository_def()
    keys = repo.asset_graph.get_all_asset_keys()
    assert {*SYNC_KEYS, CATALOGUE_KEY, HISTORY_KEY, NOTES_KEY} <= keys
    assert AssetKey(["dot", "exposures_snapshot"]) in keys

    # dbt_select and the dashboards' refs resolve through dagster-dbt's translator.
    tagged = {loaded.dbt.asset_key_for_model(m) for m in ("orders", "customers", "daily_revenue")}
    assert set(spec_of(loaded.defs, DUCKDB_SYNC).parent_keys) == tagged
    dashboards = [k for k in keys if k.path[:2] == ["dot", "dashboards"]]
    assert dashboards, "the exposures file holds shared Dot dashboards"
    assert all(spec_of(loaded.defs, k).parent_keys <= keys for k in dashboards)

    schedules = {s.name: s for s in repo.schedule_defs}
    assert schedules["dbt_build_then_dot_sync_schedule"].cron_schedule == "30 4 * * *"
    assert schedules["dbt_build_then_dot_sync_schedule"].execution_timezone == "Europe/Berlin"
    assert schedules["dot_history_daily"].cron_schedule == "0 2 * * *"
    assert "dot_notes_metrics_schedule" in schedules
    sensors = {s.name: s for s in repo.sensor_defs}
    expected = {"dot_sync_automation", "dot_history_freshness", "dot_notes_metrics_sensor"}
    assert expected <= set(sensors)
    assert sensors["dot_notes_metrics_sensor"].minimum_interval_seconds == 600
    resources = loaded.defs.resources or {}
    assert set(resources) >= {"dot", "confluence", "dot_warehouse", "alerts"}
    # Secrets stay references; an optional one whose variable is unset is left out.
    assert resources["dot"].api_token == EnvVar("DOT_API_KEY")
    assert resources["confluence"].api_token == EnvVar("CONFLUENCE_API_TOKEN")
    alerts = resources["alerts"]
    assert alerts.teams_webhook_url == EnvVar("DOT_ALERTS_TEAMS_WEBHOOK_URL")
    assert alerts.slack_token is None


def test_catalogue_reconcile_from_yaml(loaded: Loaded, instance: DagsterInstance) -> None:
    result = run_assets(loaded.defs, [CATALOGUE_KEY], instance)

    assert result.success
    held = {stored.asset.id for stored in loaded.dot.state.space().assets()}
    assert {"dagster:metabase-daily-revenue", "dagster:hex-order-funnel"} <= held
    checks = result.get_asset_check_evaluations()
    assert checks and all(check.passed for check in checks)


def test_export_day_from_yaml(loaded: Loaded, instance: DagsterInstance) -> None:
    result = run_assets(loaded.defs, [HISTORY_KEY], instance, partition_key=HISTORY_DAY.isoformat())

    assert result.success
    truth = loaded.dot.state.history_truth(HISTORY_DAY, HISTORY_DAY + timedelta(days=1))
    with duckdb.connect(str(loaded.warehouse), read_only=True) as db:
        (landed,) = db.execute("select count(*) from dot_history.conversations").fetchone()
    assert landed == truth.conversations > 0
    evaluations = {e.check_name: e.passed for e in result.get_asset_check_evaluations()}
    assert evaluations["tables_match_contract"] and evaluations["unique_conversation_ids"]


def test_note_sync_from_yaml(loaded: Loaded, instance: DagsterInstance) -> None:
    result = run_assets(loaded.defs, [NOTES_KEY], instance)

    assert result.success
    with DotClient(api_token=ADMIN_TOKEN, base_url=loaded.dot.url) as client:
        notes = client.list_org_notes()
    assert any("100101" in note.note for note in notes), [n.title for n in notes]
    writes = [e for e in journal(loaded.dot, "/api/org_notes") if e["method"] == "POST"]
    assert writes and all(e["status"] == 200 for e in writes)


def test_nightly_job_and_automation_target_the_dbt_models_and_the_syncs(loaded: Loaded) -> None:
    """What runs together: the job builds every dbt asset, then syncs; the sensor only syncs.
    (Running dbt for real is what `tests/sync` does with the same factories.)"""
    repo = loaded.defs.get_repository_def()
    dbt_keys = dbt_assets_of(loaded)

    job = repo.get_job("dbt_build_then_dot_sync")
    assert set(job.asset_layer.executable_asset_keys) >= dbt_keys | SYNC_KEYS
    sensor = next(s for s in repo.sensor_defs if s.name == "dot_sync_automation")
    assert sensor.asset_selection.resolve(repo.asset_graph) == SYNC_KEYS


def test_each_schedule_gives_the_dot_assets_it_refreshes_a_freshness_policy(
    loaded: Loaded,
) -> None:
    """Freshness from the component's own schedules, with the YAML's grace; the dbt
    models the nightly job also builds keep the dbt component's (none here)."""
    repo = loaded.defs.get_repository_def()
    targets = {
        "dbt_build_then_dot_sync_schedule": SYNC_KEYS,
        "dot_history_daily": {HISTORY_KEY},
        "dot_notes_metrics_schedule": {NOTES_KEY},
        "dot_catalogue_daily": {CATALOGUE_KEY, SNAPSHOT_KEY},
    }
    for name, keys in targets.items():
        schedule = repo.get_schedule_def(name)
        policy = schedule_freshness_policy(schedule, grace=timedelta(minutes=30))
        for key in keys:
            assert repo.asset_graph.get(key).freshness_policy == policy, (name, key)
    assert repo.get_schedule_def("dot_catalogue_daily").cron_schedule == "0 6 * * *"
    assert all(repo.asset_graph.get(key).freshness_policy is None for key in dbt_assets_of(loaded))


def test_a_failed_dbt_test_opens_a_dot_incident_from_yaml(
    loaded: Loaded, instance: DagsterInstance
) -> None:
    orders = loaded.dbt.asset_key_for_model("orders")
    repo = loaded.defs.get_repository_def()
    assert {"dot_run_failure_alerts", "dot_check_alerts"} <= {s.name for s in repo.sensor_defs}
    check = next(key for key in repo.asset_graph.asset_check_keys if key.asset_key == orders)
    instance.report_runless_asset_event(
        AssetCheckEvaluation(asset_key=orders, check_name=check.name, passed=False)
    )
    sensor = loaded.defs.resolve_sensor_def("dot_quality_incidents")
    resources = {"dot": (loaded.defs.resources or {})["dot"]}

    with build_sensor_context(instance=instance, resources=resources) as context:
        sensor(context)

    (report,) = journal(loaded.dot, "/api/quality/incidents")
    assert report["status"] == 200 and "orders" in json.dumps(report["body"]).lower()
    tables = [item["table"] for item in report["body"]["items"]]
    assert tables and all(table == table.upper() for table in tables), tables  # YAML's case
