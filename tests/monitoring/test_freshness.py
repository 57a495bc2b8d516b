"""Freshness from schedules: what we own is the policy attached to each asset a schedule
refreshes (one schedule interval plus the grace), read back from the public asset specs.
Whether Dagster then flags an asset is Dagster's freshness evaluation, not ours; a real run
of the scheduled job shows the policy sits exactly on what that job materializes.
"""

from datetime import timedelta

import pytest
from dagster import (
    AssetKey,
    DagsterInstance,
    Definitions,
    FreshnessPolicy,
    ScheduleDefinition,
    apply_freshness_policy,
    asset,
    define_asset_job,
    job,
    op,
)

from dot_orchestration.monitoring import MonitoringSettings, build_dot_monitoring_definitions

from .conftest import CUSTOMERS, ORDERS, customers, orders


@asset(deps=[orders])
def daily_revenue() -> int:
    """Downstream of orders and refreshed by no schedule: no policy of ours."""
    return 1


def nightly(selection: list[AssetKey], cron: str = "0 5 * * *") -> ScheduleDefinition:
    return ScheduleDefinition(
        name="nightly",
        job=define_asset_job("nightly_job", selection=selection),
        cron_schedule=cron,
        execution_timezone="Europe/Zurich",
    )


def policies(defs: Definitions) -> dict[AssetKey, FreshnessPolicy | None]:
    return {spec.key: spec.freshness_policy for spec in defs.resolve_all_asset_specs()}


def window(hours: float) -> FreshnessPolicy:
    return FreshnessPolicy.time_window(fail_window=timedelta(hours=hours))


def test_what_the_scheduled_job_materializes_is_late_one_interval_plus_grace_after(
    instance: DagsterInstance,
) -> None:
    defs = build_dot_monitoring_definitions(
        Definitions(
            assets=[orders, customers, daily_revenue], schedules=[nightly([ORDERS, CUSTOMERS])]
        ),
        MonitoringSettings(freshness_grace_minutes=30),
    )
    scheduled_job = defs.resolve_job_def(defs.resolve_schedule_def("nightly").job_name)
    assert scheduled_job.execute_in_process(instance=instance).success

    materialized = {
        key for key in policies(defs) if instance.get_latest_materialization_event(key) is not None
    }
    assert materialized == {ORDERS, CUSTOMERS}
    found = policies(defs)
    assert {key for key, policy in found.items() if policy is not None} == materialized
    assert all(found[key] == window(24.5) for key in materialized), "a day and 30 minutes"


def test_the_smallest_interval_wins_and_an_assets_own_policy_is_kept() -> None:
    own_policy = window(6)
    defs = build_dot_monitoring_definitions(
        Definitions(
            assets=[
                orders,
                customers.map_asset_specs(  # a policy the user set stays
                    lambda spec: apply_freshness_policy(spec, own_policy)
                ),
                daily_revenue,
            ],
            schedules=[
                nightly([ORDERS, CUSTOMERS], cron=["0 5 * * *", "0 */4 * * *"]),  # type: ignore[arg-type]
                ScheduleDefinition(
                    name="weekly",
                    job=define_asset_job(
                        "weekly_job", selection=[ORDERS, AssetKey("daily_revenue")]
                    ),
                    cron_schedule="0 6 * * 1",
                ),
            ],
        )
    )
    assert policies(defs) == {
        ORDERS: window(4 + 1),  # every 4 hours, plus the default hour; listed first
        CUSTOMERS: own_policy,
        AssetKey("daily_revenue"): window(7 * 24 + 1),
    }


@pytest.mark.parametrize(
    ("settings", "expected"),
    [
        (MonitoringSettings(freshness_grace_minutes=0), window(24)),
        (MonitoringSettings(schedule_freshness=False), None),
    ],
    ids=["no grace", "switched off"],
)
def test_grace_and_the_switch(settings: MonitoringSettings, expected: FreshnessPolicy) -> None:
    defs = build_dot_monitoring_definitions(
        Definitions(assets=[orders], schedules=[nightly([ORDERS])]), settings
    )
    assert policies(defs) == {ORDERS: expected}


def test_upstream_assets_get_no_policy_and_stay_where_they_are_defined() -> None:
    """`DotComponent`'s path: a schedule of ours also builds the dbt component's models,
    whose specs only that component may change."""
    defs = build_dot_monitoring_definitions(
        Definitions(assets=[orders], schedules=[nightly([ORDERS, CUSTOMERS])]),
        upstream=[customers],
    )
    assert [spec.key for spec in defs.resolve_all_asset_specs() if spec.key == CUSTOMERS] == []
    location = Definitions.merge(defs, Definitions(assets=[customers]))
    assert policies(location) == {ORDERS: window(25), CUSTOMERS: None}


def test_a_schedule_of_an_op_job_is_refused_naming_it_and_the_way_out() -> None:
    @op
    def ping() -> None:
        return None

    @job
    def pings() -> None:
        ping()

    schedule = ScheduleDefinition(name="pinger", job=pings, cron_schedule="@daily")
    with pytest.raises(ValueError, match="pinger does not target an asset job") as refused:
        build_dot_monitoring_definitions(
            Definitions(assets=[orders], jobs=[pings], schedules=[schedule])
        )
    assert "schedule_freshness=False" in str(refused.value)
    defs = build_dot_monitoring_definitions(
        Definitions(assets=[orders], jobs=[pings], schedules=[schedule]),
        MonitoringSettings(schedule_freshness=False),
    )
    assert policies(defs) == {ORDERS: None}
