"""When automation syncs a connection: once after a clean rebuild of what it reads."""

from functools import cache

from dagster import AutomationCondition


@cache  # one immutable condition for every sync asset: building it costs ~0.5 ms a spec
def sync_after_upstream_condition() -> AutomationCondition:
    """Run once after the upstream models updated, and only when that update was clean.

    Like `eager()`, but it also waits for the upstream's blocking checks (dbt tests of
    severity error) to pass and never fires while an upstream's latest execution failed.
    Updates made by a run that also targets the sync (the scheduled job) are ignored by
    `any_deps_updated`, so the job and the sensor never sync twice.
    """
    return (
        AutomationCondition.any_deps_updated().since_last_handled()
        & ~AutomationCondition.any_deps_missing()
        & ~AutomationCondition.any_deps_in_progress()
        & ~AutomationCondition.in_progress()
        & AutomationCondition.all_deps_blocking_checks_passed()
        & ~AutomationCondition.any_deps_match(AutomationCondition.execution_failed())
    ).with_label("sync_after_upstream")


__all__ = ["sync_after_upstream_condition"]
