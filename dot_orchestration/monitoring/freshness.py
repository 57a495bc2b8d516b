"""Freshness from schedules: an asset a schedule refreshes gets a `FreshnessPolicy` of one
schedule interval plus a grace period, so the UI (and the freshness daemon) flags it once a
scheduled refresh is overdue."""

import warnings
from collections.abc import Sequence
from datetime import timedelta
from functools import partial

from dagster import (
    AssetSelection,
    Definitions,
    FreshnessPolicy,
    PreviewWarning,
    ScheduleDefinition,
    apply_freshness_policy,
)

from dot_orchestration._compat import get_smallest_cron_interval


def schedule_freshness_policy(
    schedule: ScheduleDefinition, *, grace: timedelta = timedelta(hours=1)
) -> FreshnessPolicy:
    """Fresh while the last materialization is younger than one schedule interval plus
    `grace` (the time a scheduled run may take): a missed or failed run shows as FAIL."""
    crons = (
        [schedule.cron_schedule]
        if isinstance(schedule.cron_schedule, str)
        else list(schedule.cron_schedule)
    )
    interval = min(get_smallest_cron_interval(cron, schedule.execution_timezone) for cron in crons)
    return FreshnessPolicy.time_window(fail_window=interval + grace)


def apply_schedule_freshness(
    defs: Definitions,
    schedules: Sequence[ScheduleDefinition],
    *,
    grace: timedelta = timedelta(hours=1),
) -> Definitions:
    """Give every asset a schedule's job targets that schedule's freshness policy.

    A policy set on the asset itself wins; for an asset two schedules target, the first
    schedule listed wins.
    """
    for schedule in schedules:
        policy = schedule_freshness_policy(schedule, grace=grace)
        # The documented way to attach a policy (see `apply_freshness_policy`); the method is
        # "preview" in Dagster 1.13 and our tests pin its behaviour, so its warning is noise.
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", PreviewWarning)
            defs = defs.map_resolved_asset_specs(
                func=partial(apply_freshness_policy, policy=policy, overwrite_existing=False),
                selection=_job_selection(schedule),
            )
    return defs


def _job_selection(schedule: ScheduleDefinition) -> AssetSelection:
    selection = getattr(schedule.job, "selection", None)
    if not isinstance(selection, AssetSelection):
        raise ValueError(
            f"schedule {schedule.name} does not target an asset job; freshness is derived "
            "only from schedules of asset jobs (define_asset_job): pass the others' assets a "
            "FreshnessPolicy of their own, or set `schedule_freshness=False`"
        )
    return selection


__all__ = ["apply_schedule_freshness", "schedule_freshness_policy"]
