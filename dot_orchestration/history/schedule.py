"""When the history is exported and how late it may be: the daily schedule, and a freshness
check (with its sensor) on the latest closed day."""

import warnings

from dagster import (
    AssetChecksDefinition,
    AssetsDefinition,
    AssetSelection,
    DefaultSensorStatus,
    RunRequest,
    ScheduleDefinition,
    ScheduleEvaluationContext,
    SensorDefinition,
    SkipReason,
    SupersessionWarning,
    TimeWindowPartitionsDefinition,
    build_sensor_for_freshness_checks,
    build_time_partition_freshness_checks,
    define_asset_job,
    schedule,
)

from dot_orchestration._compat import PARTITION_RANGE_END_TAG, PARTITION_RANGE_START_TAG
from dot_orchestration.history.settings import (
    DotHistorySettings,
    HistoryFreshness,
    HistorySchedule,
)


def build_history_schedule(
    history: AssetsDefinition,
    options: HistorySchedule,
    export_name: str,
    downstream: AssetSelection | None,
) -> ScheduleDefinition:
    """Every day at `hour_of_day:minute_of_hour` in the partitions' time zone, after the
    day closed: export the last `refresh_days` closed days in one run, then `downstream`.

    `refresh_days > 1` re-exports recent days too, picking up what Dot adds to a
    conversation later (its auto-review score, labels). `downstream` is typically the dbt
    models reading the tables, e.g. `build_dbt_asset_selection([dbt], "tag:dot_usage")`.
    """
    partitions_def = history.partitions_def
    assert isinstance(partitions_def, TimeWindowPartitionsDefinition)  # the history asset's
    name = options.name or f"{export_name}_daily"
    refresh_days = options.refresh_days
    selection = AssetSelection.assets(history)
    job = define_asset_job(
        f"{name}_job",
        selection=selection | downstream if downstream is not None else selection,
        description="Export the days of Dot history that just closed, then what reads them.",
    )

    @schedule(
        name=name,
        job=job,
        cron_schedule=f"{options.minute_of_hour} {options.hour_of_day} * * *",
        execution_timezone=partitions_def.timezone,
        default_status=options.default_status,
    )
    def _daily(context: ScheduleEvaluationContext) -> RunRequest | SkipReason:
        # Set by the daemon for every tick; a hand-built context must pass it too.
        now = context.scheduled_execution_time
        keys = partitions_def.get_partition_keys(current_time=now)[-refresh_days:]
        if not keys:
            return SkipReason(f"no day has closed since {partitions_def.start:%Y-%m-%d}")
        return RunRequest(
            run_key=f"{keys[0]}..{keys[-1]}",
            tags={
                PARTITION_RANGE_START_TAG: keys[0],
                PARTITION_RANGE_END_TAG: keys[-1],
            },
        )

    return _daily


def build_history_freshness(
    settings: DotHistorySettings, options: HistoryFreshness, export_name: str
) -> tuple[list[AssetChecksDefinition], SensorDefinition]:
    """A check that the latest closed day is exported by `deadline_cron` (in the export's
    time zone), and the sensor that evaluates it.

    Based on Dagster's partition records, so a day Dot had nothing for counts once its
    (empty) partition is materialized. Dagster marks these checks superseded by
    `FreshnessPolicy`, but that policy looks at an asset's latest materialization of any
    partition (a backfill of last March would count as fresh); this check asks for the
    latest closed day, which is the promise here.

    Dagster's `SupersessionWarning` for both calls is silenced here: it points at this
    module and tells the user to attach a `FreshnessPolicy`, which is not theirs to do and
    would not keep the promise above.
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SupersessionWarning)
        checks = list(
            build_time_partition_freshness_checks(
                assets=[settings.asset_key],
                deadline_cron=options.deadline_cron,
                timezone=settings.timezone,
            )
        )
        sensor = build_sensor_for_freshness_checks(
            freshness_checks=checks,
            name=options.sensor_name or f"{export_name}_freshness",
            default_status=DefaultSensorStatus.RUNNING,
        )
    return checks, sensor
