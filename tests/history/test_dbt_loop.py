"""dbt → Dot → history → dbt: the daily schedule's run exports the closed days and then
builds `dot_usage_daily` of the example dbt project from them, with real dbt on DuckDB."""

import json
from collections import defaultdict
from datetime import date, datetime, timedelta, timezone
from typing import Any

import duckdb
import pytest
from _dbt_builds import DbtHome
from dagster import (
    AssetExecutionContext,
    AssetKey,
    AssetSelection,
    DagsterInstance,
    Definitions,
    build_schedule_context,
)
from dagster_dbt import DbtCliResource, DbtProject, dbt_assets

from dot_demo.definitions import ExampleSettings, dbt_executable, prepared_dbt_project
from dot_orchestration.emulator import ADMIN_TOKEN, EmulatorServer
from dot_orchestration.history import (
    DotHistoryDbtTranslator,
    DotHistorySettings,
    DuckDBWarehouse,
    HistorySchedule,
    build_dot_history_definitions,
)
from dot_orchestration.resources import DotResource

from ._support import DBT_VARS

USAGE_KEY = AssetKey("dot_usage_daily")
DAYS = [date(2025, 3, 3), date(2025, 3, 4), date(2025, 3, 5)]


def expected_usage(server: EmulatorServer) -> list[tuple[Any, ...]]:
    """`dot_usage_daily` computed by hand from the emulator's conversations."""
    chats = [
        chat
        for batch in server.state.conversations(
            DAYS[0], DAYS[-1] + timedelta(days=1), workspace="default"
        )
        for chat in batch
    ]
    by_day: dict[date, list[Any]] = defaultdict(list)
    for chat in chats:
        by_day[chat.created_at.date()].append(chat)
    rows = []
    for day, day_chats in sorted(by_day.items()):
        users = {chat.author_email for chat in day_chats}
        asked = sum(m["role"] == "user" for chat in day_chats for m in chat.messages)
        verdicts = [chat.auto_review_label for chat in day_chats if chat.auto_review_label]
        good = sum(label in ("Success", "OK") for label in verdicts)
        rows.append(
            (day, len(users), len(day_chats), asked, asked / len(users), len(verdicts), good,
             good / len(verdicts))
        )  # fmt: skip
    return rows


@pytest.fixture
def project(dbt_home: DbtHome, monkeypatch: pytest.MonkeyPatch) -> DbtProject:
    """The example project as the example prepares it (parsed with dot_usage on), building
    into the worker's emptied DuckDB path, in its dbt runs folder: dagster-dbt copies the
    saved parse from `DBT_TARGET_PATH`, so dbt reuses an earlier build's parse."""
    monkeypatch.setenv("DOT_DEMO_DUCKDB_PATH", str(dbt_home.fresh_warehouse()))
    project = prepared_dbt_project(ExampleSettings())
    monkeypatch.setenv("DBT_TARGET_PATH", str(dbt_home.runs_dir))
    return project


def test_the_daily_run_exports_history_then_builds_the_usage_model(
    dot: EmulatorServer, project: DbtProject, dbt_home: DbtHome, instance: DagsterInstance
) -> None:
    settings = DotHistorySettings(
        start_date=date(2025, 3, 1),
        key=("loop_test", "history"),
        warehouse=DuckDBWarehouse(path=str(dbt_home.warehouse)),
        schedule=HistorySchedule(refresh_days=3),
    )

    @dbt_assets(
        manifest=project.manifest_path,
        project=project,
        select="tag:dot_usage",
        dagster_dbt_translator=DotHistoryDbtTranslator(settings),
    )
    def dot_usage(context: AssetExecutionContext, dbt: DbtCliResource) -> Any:
        yield from dbt.cli(["build", "--vars", json.dumps(DBT_VARS)], context=context).stream()

    defs = Definitions.merge(
        build_dot_history_definitions(settings, downstream=AssetSelection.assets(dot_usage)),
        Definitions(
            assets=[dot_usage],
            resources={
                "dot": DotResource(api_token=ADMIN_TOKEN, base_url=dot.url),
                "dbt": DbtCliResource(project_dir=project, dbt_executable=dbt_executable()),
            },
        ),
    )
    schedule = defs.resolve_schedule_def(f"{settings.name}_daily")
    # the dbt model reads both history tables: both are the one history asset
    assert defs.resolve_assets_def(USAGE_KEY).asset_deps[USAGE_KEY] == {settings.asset_key}

    tick = datetime(2025, 3, 6, 1, 0, tzinfo=timezone.utc)
    request = schedule.evaluate_tick(build_schedule_context(scheduled_execution_time=tick))
    [run_request] = request.run_requests or []
    result = defs.resolve_job_def(schedule.job_name).execute_in_process(
        instance=instance, tags=run_request.tags, raise_on_error=False
    )

    assert result.success
    dbt_home.keep_parse_of(result.run_id)  # for the worker's next build
    materialized = {(e.asset_key, e.partition) for e in result.get_asset_materialization_events()}
    assert materialized == {(settings.asset_key, str(day)) for day in DAYS} | {(USAGE_KEY, None)}
    with duckdb.connect(str(dbt_home.warehouse), read_only=True) as conn:
        usage = conn.execute(
            "SELECT activity_date, daily_active_users, conversations, user_messages, "
            "messages_per_user, reviewed_conversations, good_conversations, good_review_share "
            "FROM main.dot_usage_daily ORDER BY activity_date"
        ).fetchall()
    assert usage == expected_usage(dot)
