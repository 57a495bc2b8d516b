"""A `history:` section of a `defs.yaml` and the same settings in Python give the same
definitions: the component calls `build_dot_history_definitions` and adds nothing."""

import textwrap
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from components._support import WORKSPACE, write_dot_yaml
from dagster import (
    AssetsDefinition,
    Definitions,
    EnvVar,
    ScheduleDefinition,
    SensorDefinition,
)
from dagster.components.testing import create_defs_folder_sandbox

from dot_orchestration.history import (
    DotHistorySettings,
    DuckDBWarehouse,
    HistoryFreshness,
    HistorySchedule,
    build_dot_history_definitions,
)
from dot_orchestration.resources import DotResource


def shape(defs: Definitions) -> dict[str, Any]:
    """What a history export's definitions are, as comparable values."""
    graph = defs.resolve_asset_graph()
    (key,) = [key for key in graph.get_all_asset_keys() if key.path[-1] == "history"]
    history = graph.get(key)
    (step,) = [a for a in defs.assets or () if isinstance(a, AssetsDefinition) and key in a.keys]
    schedules = [s for s in defs.schedules or () if isinstance(s, ScheduleDefinition)]
    sensors = [s for s in defs.sensors or () if isinstance(s, SensorDefinition)]
    return {
        "key": key,
        "partitions": history.partitions_def,
        "pool": step.op.pool,
        "owners": history.owners,
        "group": history.group_name,
        "metadata": {k: v for k, v in history.metadata.items() if k.startswith("dot/")},
        "checks": sorted(str(check) for check in graph.asset_check_keys),
        "schedules": [
            (s.name, s.cron_schedule, s.execution_timezone, s.default_status) for s in schedules
        ],
        "sensors": sorted(sensor.name for sensor in sensors),
        "warehouse": (defs.resources or {})["dot_warehouse"],
    }


def test_the_component_and_python_build_the_same_export(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DOT_API_KEY", "dot-never-called")
    monkeypatch.setenv("DOT_BASE_URL", "http://127.0.0.1:9")
    db = tmp_path / "warehouse.duckdb"
    settings = DotHistorySettings(
        start_date=date(2025, 3, 1),
        timezone="Europe/Berlin",
        schema_name="usage",
        pool="duckdb",
        owners=("team:data",),
        warehouse=DuckDBWarehouse(path=str(db)),
        schedule=HistorySchedule(hour_of_day=2, minute_of_hour=15, refresh_days=3),
        freshness=HistoryFreshness(deadline_cron="0 7 * * *"),
    )
    dot = DotResource(api_token=EnvVar("DOT_API_KEY"), base_url=EnvVar("DOT_BASE_URL"))
    python = Definitions.merge(
        build_dot_history_definitions(settings), Definitions(resources={"dot": dot})
    )
    history = f"""\
        history:
          start_date: 2025-03-01
          timezone: Europe/Berlin
          schema_name: usage
          pool: duckdb
          owners: ["team:data"]
          warehouse:
            path: "{db}"
          schedule:
            hour_of_day: 2
            minute_of_hour: 15
            refresh_days: 3
          freshness:
            deadline_cron: "0 7 * * *"
        """
    with create_defs_folder_sandbox() as sandbox:
        write_dot_yaml(sandbox, WORKSPACE + textwrap.dedent(history))
        with sandbox.build_all_defs() as yaml:
            assert shape(yaml) == shape(python)
    # where the tables are, under the one `dot/` namespace, for the IO manager to read back
    assert set(shape(python)["metadata"]) == {
        "dot/history_schema",
        "dot/conversations_table",
        "dot/messages_table",
        "dot/include_all_workspaces",
    }
