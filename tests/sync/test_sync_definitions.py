"""`build_dot_sync_definitions`: what `SyncSettings` switches, and that a `DotComponent`'s
`sync:` section (the same class) builds the same definitions as Python does."""

import subprocess
import sys
import textwrap

import pytest
from dagster import (
    AssetKey,
    AssetsDefinition,
    AssetSpec,
    DefaultScheduleStatus,
    DefaultSensorStatus,
    Definitions,
)
from dagster.components.testing import create_defs_folder_sandbox

from dot_orchestration.syncs import (
    SYNC_ACCEPTED_CHECK,
    DotConnection,
    SyncSchedule,
    SyncSettings,
    build_dot_sync_definitions,
    sync_assets_of,
)

CHURN = AssetSpec(["looker", "Churn_40"], kinds={"looker", "dashboard"})
LOOKER = DotConnection(type="looker", id="main", asset_keys=("looker/Churn_40",))


def built(settings: SyncSettings, upstream: list[AssetsDefinition] | None = None) -> Definitions:
    return build_dot_sync_definitions(
        settings, upstream=upstream or [AssetsDefinition(specs=[CHURN])]
    )


def test_the_defaults_are_one_step_in_the_dot_api_pool_and_a_running_sensor() -> None:
    defs = built(SyncSettings(connections=[LOOKER]))
    syncs = sync_assets_of(defs)
    assert (syncs.op.name, syncs.op.pool) == ("dot_connection_syncs", "dot_api")
    assert syncs.keys == {AssetKey(["dot", "sync", "looker", "main"])}
    assert {key.name for key in syncs.check_keys} == {SYNC_ACCEPTED_CHECK}
    (sensor,) = defs.sensors or ()
    assert (sensor.name, sensor.default_status) == (
        "dot_sync_automation",
        DefaultSensorStatus.RUNNING,
    )
    assert not defs.schedules


def test_every_setting_reaches_what_it_names(dbt_defs: AssetsDefinition) -> None:
    settings = SyncSettings(
        connections=[DotConnection(type="duckdb", id="demo", dbt_select="tag:dot")],
        automation_sensor_name="syncs_after_builds",
        schedule=SyncSchedule(
            cron_schedule="30 4 * * 1-5",
            timezone="Europe/Zurich",
            default_status=DefaultScheduleStatus.RUNNING,
            job_name="nightly",
        ),
        name="sync_dot",
        pool="dot_syncs",
    )
    defs = built(settings, [dbt_defs])
    syncs = sync_assets_of(defs)
    assert (syncs.op.name, syncs.op.pool) == ("sync_dot", "dot_syncs")
    assert [sensor.name for sensor in defs.sensors or ()] == ["syncs_after_builds"]
    (schedule,) = defs.schedules or ()
    assert (
        schedule.name,
        schedule.cron_schedule,
        schedule.execution_timezone,
        schedule.default_status,
        schedule.job_name,
    ) == (
        "nightly_schedule",
        "30 4 * * 1-5",
        "Europe/Zurich",
        DefaultScheduleStatus.RUNNING,
        "nightly",
    )

    quiet = built(settings.model_copy(update={"automation": False}), [dbt_defs])
    assert not quiet.sensors, "automation: false leaves the sensor out"


def test_a_schedule_without_dbt_upstream_is_refused() -> None:
    settings = SyncSettings(connections=[LOOKER], schedule=SyncSchedule())
    with pytest.raises(ValueError, match=r"the sync schedule builds dbt, but no @dbt_assets"):
        built(settings)


SETTINGS = SyncSettings(
    connections=[LOOKER], automation_sensor_name="dot_syncs_on_change", pool="dot_syncs"
)
DEFS_YAML = """\
type: dot_orchestration.DotComponent

attributes:
  workspace:
    api_token: "{{ env.DOT_API_KEY }}"
    base_url: http://127.0.0.1:9
  upstream: [bi]
  sync:
    connections:
      - {type: looker, id: main, asset_keys: [looker/Churn_40]}
    automation_sensor_name: dot_syncs_on_change
    pool: dot_syncs
"""


def what_it_is(spec: AssetSpec) -> tuple[object, ...]:
    """A spec without what Dagster adds to every component's specs (`dagster/` metadata:
    the component and its file)."""
    ours = {name: value for name, value in spec.metadata.items() if name.startswith("dot/")}
    return (
        spec.deps,
        spec.description,
        spec.group_name,
        spec.kinds,
        spec.owners,
        spec.tags,
        spec.automation_condition,
        ours,
    )


def test_the_component_builds_what_python_builds(monkeypatch: pytest.MonkeyPatch) -> None:
    """The same settings, once as a `sync:` section and once in Python: the same assets
    (keys, upstream, spec), checks, step, pool and sensor."""
    monkeypatch.setenv("DOT_API_KEY", "dot-unused")
    python = built(SETTINGS)
    with create_defs_folder_sandbox() as sandbox:
        (sandbox.defs_folder_path / "bi").mkdir()
        (sandbox.defs_folder_path / "bi" / "looker.py").write_text(
            "import dagster as dg\n\n"
            'churn = dg.AssetSpec(["looker", "Churn_40"], kinds={"looker", "dashboard"})\n'
        )
        (sandbox.defs_folder_path / "dot").mkdir()
        (sandbox.defs_folder_path / "dot" / "defs.yaml").write_text(textwrap.dedent(DEFS_YAML))
        with sandbox.build_all_defs() as component:
            from_yaml = component.resolve_assets_def(AssetKey(["dot", "sync", "looker", "main"]))
            sensors = [s.name for s in component.sensors or () if "sync" in s.name]

    from_python = sync_assets_of(python)
    assert from_yaml.op.name == from_python.op.name
    assert from_yaml.op.pool == from_python.op.pool == "dot_syncs"
    assert from_yaml.check_keys == from_python.check_keys
    assert from_yaml.keys == from_python.keys
    for key, spec in from_python.specs_by_key.items():
        assert what_it_is(from_yaml.specs_by_key[key]) == what_it_is(spec)
    assert sensors == [sensor.name for sensor in python.sensors or ()] == ["dot_syncs_on_change"]


def test_the_sync_core_imports_no_dagster() -> None:
    """What an Airflow operator would reuse: the connection settings and the calls."""
    code = "import sys, dot_orchestration.syncing; assert 'dagster' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)
