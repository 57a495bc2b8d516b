"""Freshness from the component's schedules: on with `monitoring`, an hour of grace by
default, off with `schedule_freshness: false` or without a `monitoring` section.

Shown on the catalogue's schedule, the one schedule that needs no other system.
"""

from datetime import timedelta

import pytest
from dagster import AssetKey
from dagster.components.testing import DefsFolderSandbox

from dot_orchestration.emulator import EmulatorServer
from dot_orchestration.monitoring import schedule_freshness_policy

from ._support import WORKSPACE, write_dot_yaml

CATALOGUE = "catalogue:\n  dagster_assets: true\n  schedule: {}\n"
CATALOGUE_KEY = AssetKey(["dot", "external_assets"])


@pytest.mark.parametrize(
    ("monitoring", "grace"),
    [
        ("monitoring: {}\n", timedelta(hours=1)),
        ("monitoring:\n  freshness_grace_minutes: 0\n", timedelta(0)),
        ("monitoring:\n  schedule_freshness: false\n", None),
        ("", None),
    ],
    ids=["default grace", "no grace", "switched off", "no monitoring"],
)
def test_the_catalogue_schedule_sets_the_catalogue_freshness(
    project: DefsFolderSandbox,
    dot_env: EmulatorServer,
    monitoring: str,
    grace: timedelta | None,
) -> None:
    write_dot_yaml(project, WORKSPACE + CATALOGUE + monitoring)

    with project.build_all_defs() as defs:
        repo = defs.get_repository_def()
        schedule = repo.get_schedule_def("dot_catalogue_daily")
        policy = repo.asset_graph.get(CATALOGUE_KEY).freshness_policy

    assert (schedule.cron_schedule, schedule.execution_timezone) == ("0 5 * * *", "UTC")
    expected = None if grace is None else schedule_freshness_policy(schedule, grace=grace)
    assert policy == expected
