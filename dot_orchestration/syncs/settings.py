"""What a code location's syncs are: the one settings class for Python and `defs.yaml`.

`build_dot_sync_definitions(SyncSettings(...), upstream=...)` takes it in Python, and the
`sync:` section of a `DotComponent` is this class, so both can switch the same things
(automation on or off, the sensor's name, the nightly schedule, the step's name and pool)
with the same field names, and every default lives here once.
"""

from dagster import DefaultScheduleStatus
from pydantic import BaseModel, ConfigDict, Field

from dot_orchestration.syncing import DotConnection


class SyncSchedule(BaseModel):
    """The nightly `dbt build → Dot syncs` job (`build_dbt_then_sync_schedule`)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    cron_schedule: str = Field(default="0 5 * * *", description="When; default 05:00 daily.")
    timezone: str = Field(default="UTC", description="IANA zone of the cron; default UTC.")
    default_status: DefaultScheduleStatus = Field(
        default=DefaultScheduleStatus.STOPPED,
        description="RUNNING or STOPPED (default) when first deployed.",
    )
    job_name: str = Field(
        default="dbt_build_then_dot_sync",
        description="The job's name; the schedule is named `<job_name>_schedule`.",
    )
    dbt_exclude: str | None = Field(
        default=None,
        description="dbt models the nightly build leaves out, e.g. `tag:dot_usage` (built "
        "after the history export instead).",
    )


class SyncSettings(BaseModel):
    """Dot connections re-synced after the dbt models (or other assets) they read."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    connections: tuple[DotConnection, ...] = Field(
        min_length=1,
        description="Each Dot connection and its upstream: `dbt_select` (a dbt selection, "
        "resolved by the dbt assets' own translator) and/or `asset_keys`.",
    )
    automation: bool = Field(
        default=True,
        description="Sync once after each clean rebuild of the upstream (a sensor, running).",
    )
    automation_sensor_name: str = Field(
        default="dot_sync_automation", description="The name of that sensor."
    )
    schedule: SyncSchedule | None = Field(
        default=None, description="A nightly job building dbt, then syncing: set it to enable."
    )
    name: str = Field(default="dot_connection_syncs", description="The step (op) syncing them all.")
    pool: str = Field(
        default="dot_api",
        description="The Dagster pool of that step: a limit on the pool bounds how many "
        "steps call Dot's API at once across runs.",
    )


__all__ = ["SyncSchedule", "SyncSettings"]
