"""A branch run with a real dbt build: the example's models built into DuckDB, the
environment pointed at the schema they landed in (read from the manifest, not typed in),
and `sync_target` sent only once the models are built. One build: the suite is slow."""

from datetime import datetime

import duckdb
import pytest
from _dbt_builds import DbtHome
from dagster import AssetsDefinition, DagsterInstance, Definitions
from dagster_dbt import DbtCliResource, DbtProject

from dot_demo.definitions import EXAMPLE_CONNECTIONS, dbt_executable
from dot_orchestration.emulator import ADMIN_TOKEN, EmulatorServer
from dot_orchestration.environments import build_dot_environment_definitions, with_dbt_targets
from dot_orchestration.resources import DotResource
from dot_orchestration.syncs import SyncSettings, build_dot_sync_definitions, sync_assets_of

from .test_dbt_targets import UNTARGETED
from .test_lifecycle import (
    BRANCH,
    PRODUCTION_SYNC,
    SYNC_TARGET,
    journal,
    materialize_all,
    mergeable,
    routes,
)
from .test_modes import failure_text, listed


def test_a_branch_run_syncs_the_target_its_dbt_build_wrote(
    dot_emulator: EmulatorServer,
    instance: DagsterInstance,
    dbt_project: DbtProject,
    dbt_defs: AssetsDefinition,
    dbt_home: DbtHome,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("DOT_DEMO_DUCKDB_PATH", str(dbt_home.fresh_warehouse()))
    for name, value in BRANCH.items():  # the syncs read the deployment's variables
        monkeypatch.setenv(name, value)
    settings = with_dbt_targets(UNTARGETED, EXAMPLE_CONNECTIONS, [dbt_defs])
    syncs = build_dot_sync_definitions(
        SyncSettings(connections=EXAMPLE_CONNECTIONS), upstream=[dbt_defs], environment=settings
    )
    dbt = DbtCliResource(project_dir=dbt_project, dbt_executable=dbt_executable())
    dot = DotResource(api_token=ADMIN_TOKEN, base_url=dot_emulator.url)
    defs = Definitions.merge(
        build_dot_environment_definitions(settings, check_after=sync_assets_of(syncs).keys),
        syncs,
        Definitions(assets=[dbt_defs], resources={"dbt": dbt, "dot": dot}),
    )

    result = materialize_all(defs, instance)
    assert result.success, failure_text(result)
    dbt_home.keep_parse_of(result.run_id)
    assert mergeable(result).passed

    with duckdb.connect(str(dbt_home.warehouse), read_only=True) as warehouse:
        [(catalog, schema)] = warehouse.execute(
            "SELECT table_catalog, table_schema FROM information_schema.tables "
            "WHERE table_name = 'customers'"
        ).fetchall()
    [environment] = [e for e in listed(dot_emulator).values() if e["name"] == "dagster-add-tier"]
    assert environment["targets"] == {"dot_demo": {"database": catalog, "schema": schema}}

    [targets_set] = [e for e in journal(dot_emulator) if e["path"].endswith("/targets")]
    [synced] = routes(dot_emulator, SYNC_TARGET)
    assert targets_set["seq"] < synced["seq"] and synced["environment"] == environment["id"]
    built = [
        instance.get_latest_materialization_event(key)
        for key in dbt_defs.keys
        if key in {d.asset_key for s in sync_assets_of(syncs).specs for d in s.deps}
    ]
    assert built and all(event is not None for event in built)
    last_model = max(event.timestamp for event in built if event is not None)
    assert datetime.fromisoformat(synced["ts"]).timestamp() >= last_model
    assert routes(dot_emulator, PRODUCTION_SYNC) == []
