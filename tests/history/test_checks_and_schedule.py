"""The export's asset checks on a real DuckDB file, and its daily schedule."""

import warnings
from collections.abc import Callable
from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import duckdb
from dagster import (
    AssetCheckSeverity,
    DefaultSensorStatus,
    RunRequest,
    ScheduleDefinition,
    SkipReason,
    SupersessionWarning,
    build_schedule_context,
)

from dot_orchestration.emulator import EmulatorServer
from dot_orchestration.history import (
    DotHistorySettings,
    DuckDBWarehouse,
    HistoryFreshness,
    HistorySchedule,
    build_dot_history_definitions,
)

from ._support import Export

COMPLETE = "every_closed_day_exported"


def evaluations(result: object) -> dict[str, tuple[bool, dict[str, object]]]:
    return {
        e.check_name: (e.passed, {k: v.value for k, v in e.metadata.items()})
        for e in result.get_asset_check_evaluations()  # type: ignore[attr-defined]
    }


def test_a_conversation_in_two_partitions_fails_the_blocking_check(export: Export) -> None:
    assert export.run("2025-03-01", "2025-03-02").success
    with duckdb.connect(str(export.db)) as conn:
        conn.execute(
            "INSERT INTO dot_history.conversations SELECT * REPLACE (DATE '2025-03-02' AS "
            "partition_date) FROM dot_history.conversations "
            "WHERE partition_date = DATE '2025-03-01' LIMIT 1"
        )
        duplicated = conn.execute(
            "SELECT conversation_id FROM dot_history.conversations GROUP BY 1 HAVING count(*) > 1"
        ).fetchone()

    result = export.check()

    assert not result.success  # blocking, severity error
    passed, metadata = evaluations(result)["unique_conversation_ids"]
    assert not passed
    assert metadata["duplicated_conversations"] == 1
    assert metadata["duplicated_messages"] == 0
    assert metadata["examples"] == {"conversations": [{"key": [duplicated[0]], "rows": 2}]}


def test_tables_unlike_the_contract_fail_the_check_and_are_never_written(
    export: Export,
) -> None:
    assert export.run("2025-03-01").success
    with duckdb.connect(str(export.db)) as conn:
        conn.execute("ALTER TABLE dot_history.conversations DROP COLUMN workspace")
        conn.execute("ALTER TABLE dot_history.messages ADD COLUMN reviewer VARCHAR")

    checked = export.check()
    rerun = export.run("2025-03-02")

    passed, metadata = evaluations(checked)["tables_match_contract"]
    assert not passed
    assert metadata["problems"] == {
        "conversations": ["missing columns ['workspace']"],
        "messages": ["unexpected columns ['reviewer']"],
    }
    assert not rerun.success
    assert "frame does not match dot_history.conversations" in str(
        rerun.failure_data_for_node(export.node)
    )


def test_freshness_asks_for_the_latest_closed_day(
    dot: EmulatorServer, export_for: Callable[..., Export]
) -> None:
    yesterday = datetime.now(timezone.utc).date() - timedelta(days=1)
    export = export_for(
        dot.url,
        start_date=yesterday - timedelta(days=3),
        freshness=HistoryFreshness(deadline_cron="0 0 * * *"),
    )
    sensor = export.defs.resolve_sensor_def(f"{export.settings.name}_freshness")

    assert export.run(str(yesterday - timedelta(days=1))).success  # not the latest day
    stale = evaluations(export.check())["freshness_check"]
    assert export.run(str(yesterday)).success  # Dot has nothing that recent: an empty day
    fresh = evaluations(export.check())["freshness_check"]

    assert stale[0] is False
    assert fresh[0] is True
    assert sensor.default_status == DefaultSensorStatus.RUNNING


def test_the_freshness_check_is_built_without_dagsters_supersession_warning() -> None:
    """Dagster marks the partition freshness checks superseded by `FreshnessPolicy`; the
    user did not choose them and cannot act on the warning (see `build_history_freshness`)."""
    settings = DotHistorySettings(
        start_date=date(2025, 3, 1),
        warehouse=DuckDBWarehouse(path="never-written.duckdb"),
        freshness=HistoryFreshness(deadline_cron="0 7 * * *"),
    )
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        defs = build_dot_history_definitions(settings)

    assert [str(w.message) for w in caught if issubclass(w.category, SupersessionWarning)] == []
    assert [sensor.name for sensor in defs.sensors or ()] == ["dot_history_freshness"]


def test_the_schedule_runs_after_the_day_closed_in_the_partitions_time_zone() -> None:
    berlin = ZoneInfo("Europe/Berlin")
    settings = DotHistorySettings(
        start_date=date(2025, 3, 1),
        timezone=berlin.key,
        warehouse=DuckDBWarehouse(path="never-written.duckdb"),
        schedule=HistorySchedule(hour_of_day=2, minute_of_hour=15, refresh_days=3),
    )
    (schedule,) = build_dot_history_definitions(settings).schedules or ()
    assert isinstance(schedule, ScheduleDefinition) and schedule.name == "dot_history_daily"

    def tick(at: datetime) -> RunRequest | SkipReason:
        result = schedule.evaluate_tick(build_schedule_context(scheduled_execution_time=at))
        return result.run_requests[0] if result.run_requests else SkipReason(result.skip_message)

    assert (schedule.cron_schedule, schedule.execution_timezone) == ("15 2 * * *", berlin.key)
    request = tick(datetime(2025, 3, 10, 2, 15, tzinfo=berlin))
    assert isinstance(request, RunRequest)
    assert request.partition_key_range is not None
    assert (request.partition_key_range.start, request.partition_key_range.end) == (
        "2025-03-07",
        "2025-03-09",
    )
    first = tick(datetime(2025, 3, 2, 2, 15, tzinfo=berlin))
    assert isinstance(first, RunRequest) and first.partition_key_range is not None
    assert first.partition_key_range.start == first.partition_key_range.end == "2025-03-01"
    assert isinstance(tick(datetime(2025, 3, 1, 2, 15, tzinfo=berlin)), SkipReason)


def test_a_gap_in_the_history_warns_until_it_is_backfilled(
    dot: EmulatorServer, export_for: Callable[..., Export]
) -> None:
    """Days Dot had nothing for count once exported (empty partitions); a missing day is
    a warning naming it, and does not fail the run."""
    today = datetime.now(timezone.utc).date()
    export = export_for(dot.url, start_date=today - timedelta(days=3))
    days = [str(today - timedelta(days=back)) for back in (3, 2, 1)]

    latest = export.run(days[-1])
    (gap,) = [e for e in latest.get_asset_check_evaluations() if e.check_name == COMPLETE]
    assert latest.success and not gap.passed and gap.severity == AssetCheckSeverity.WARN
    assert gap.description and days[0] in gap.description and days[1] in gap.description
    assert gap.metadata["missing_days"].value == 2

    backfill = export.run(days[0], days[1])
    (gap,) = [e for e in backfill.get_asset_check_evaluations() if e.check_name == COMPLETE]
    assert gap.passed and gap.metadata["closed_days"].value == 3
