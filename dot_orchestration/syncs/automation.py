"""When the syncs run: the automation sensor that follows clean builds, and the nightly
`dbt build → Dot syncs` job for teams who want one run a day."""

import operator
from collections.abc import Sequence
from functools import reduce

from dagster import (
    AssetsDefinition,
    AssetSelection,
    AutomationConditionSensorDefinition,
    DefaultSensorStatus,
    ScheduleDefinition,
    define_asset_job,
)

from dot_orchestration._compat import dbt_selection_of
from dot_orchestration.syncs.settings import SyncSchedule


def build_sync_automation_sensor(
    sync_assets: AssetsDefinition, name: str
) -> AutomationConditionSensorDefinition:
    """Evaluates the sync assets' conditions; running by default so syncs follow builds."""
    return AutomationConditionSensorDefinition(
        name,
        target=AssetSelection.assets(sync_assets),
        default_status=DefaultSensorStatus.RUNNING,
        minimum_interval_seconds=30,
    )


def build_dbt_then_sync_schedule(
    dbt_assets: Sequence[AssetsDefinition], sync_assets: AssetsDefinition, schedule: SyncSchedule
) -> ScheduleDefinition:
    """The nightly job building `dbt_assets`, then syncing, on `schedule`.

    Safe beside the automation sensor: a run that targets the syncs too is not treated as
    an upstream update by `sync_after_upstream_condition`, so no connection syncs twice.
    `schedule.dbt_exclude` leaves models out of the nightly build (e.g. `tag:dot_usage`,
    built by the history export's own schedule once its tables exist).
    """
    dbt: AssetSelection = AssetSelection.assets(*dbt_assets)
    if schedule.dbt_exclude:
        # Less what dbt selects for the exclusion: its models, and the tests dbt selects
        # with them (each test of an excluded model, as `dbt build --exclude` leaves out),
        # resolved here once: the job is resolved at every load, run and step.
        excluded = (dbt_selection_of(d, schedule.dbt_exclude) for d in dbt_assets)
        dbt = dbt - reduce(operator.or_, excluded)
    built = dbt | AssetSelection.assets(sync_assets)
    # The built assets with only the checks dbt and the syncs define: another definition's
    # check on a dbt model (a question's answer check, say) belongs to its own runs, not to
    # every dbt build, where it would read an answer older than the build. Written with
    # `built` once: each mention is resolved again at every load.
    others_checks = AssetSelection.all_asset_checks() - AssetSelection.checks(
        *dbt_assets, sync_assets
    )
    job = define_asset_job(
        schedule.job_name,
        selection=built - others_checks,
        description="dbt build, then tell Dot to re-sync every connection that reads the models.",
    )
    return ScheduleDefinition(
        name=f"{schedule.job_name}_schedule",
        job=job,
        cron_schedule=schedule.cron_schedule,
        execution_timezone=schedule.timezone,
        default_status=schedule.default_status,
    )


__all__ = ["build_dbt_then_sync_schedule", "build_sync_automation_sensor"]
