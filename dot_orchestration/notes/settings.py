"""What the notes operation is told: the site, the syncs, when they run, their pool.

`DotNotesSettings` is the one settings class of Python and YAML: `build_dot_notes_definitions`
takes it, and the `confluence` section of a `DotComponent`'s `defs.yaml` is validated by it,
so whatever a file can switch (the sensor, the schedule, their timing, the pool) Python
can too, by the same field names.
"""

from __future__ import annotations

from collections.abc import Sequence

from dagster import Backoff, Config, DefaultScheduleStatus, DefaultSensorStatus, RetryPolicy
from pydantic import BaseModel, ConfigDict, Field, model_validator

from dot_orchestration.resources import ConfluenceResource
from dot_orchestration.transforms.note_sync import ConfluenceNoteSync

__all__ = [
    "NOTES_POOL",
    "ConfluenceNoteRunConfig",
    "DotNotesSettings",
    "NoteSchedule",
    "NoteSensor",
    "note_sync_run_config",
    "step_retry_policy",
]

#: The default Dagster pool every note writer runs in; give it a limit of 1.
NOTES_POOL = "dot_notes"


class _Settings(BaseModel):
    """Frozen and strict: a misspelt field is an error, in Python as in YAML."""

    model_config = ConfigDict(frozen=True, extra="forbid")


class NoteSensor(_Settings):
    """Polls the selected pages and syncs the changed ones (`build_confluence_note_sensor`)."""

    enabled: bool = Field(default=True, description="False: no sensor.")
    minimum_interval_seconds: int = Field(default=300, ge=1, description="Seconds between ticks.")
    default_status: DefaultSensorStatus = Field(
        default=DefaultSensorStatus.RUNNING, description="RUNNING or STOPPED when first deployed."
    )


class NoteSchedule(_Settings):
    """The daily re-render of every page (`build_confluence_note_schedule`)."""

    enabled: bool = Field(default=True, description="False: no schedule.")
    cron_schedule: str = Field(default="0 4 * * *", description="When; default 04:00 daily.")
    timezone: str = Field(default="UTC", description="IANA zone of the cron.")
    default_status: DefaultScheduleStatus = Field(
        default=DefaultScheduleStatus.RUNNING,
        description="RUNNING or STOPPED when first deployed.",
    )


class DotNotesSettings(_Settings):
    """Confluence pages as Dot notes: the site, the syncs, and when they run."""

    site: ConfluenceResource = Field(
        description="The Confluence site and its credentials (secrets as EnvVar / env "
        "references); provided to every sync as the `confluence` resource."
    )
    syncs: tuple[ConfluenceNoteSync, ...] = Field(
        min_length=1, description="Each sync: its `name`, page `selection` and note `dialect`."
    )
    sensor: NoteSensor = Field(default_factory=NoteSensor)
    schedule: NoteSchedule = Field(default_factory=NoteSchedule)
    pool: str = Field(
        default=NOTES_POOL,
        min_length=1,
        description="The Dagster pool every note writer runs in; give it a limit of 1 so two "
        "runs never interleave their read-modify-write of Dot's notes.",
    )

    @model_validator(mode="after")
    def _unique_names(self) -> DotNotesSettings:
        names = [sync.name for sync in self.syncs]
        twice = sorted({name for name in names if names.count(name) > 1})
        if twice:
            raise ValueError(f"two Confluence syncs are named {', '.join(twice)}; rename one")
        return self


class ConfluenceNoteRunConfig(Config):
    """What one run syncs. The sensor names the changed pages; the schedule refreshes."""

    page_ids: list[str] | None = Field(
        default=None,
        description="Only these selected pages; empty list: none (removals only); "
        "unset: every selected page.",
    )
    refresh: bool = Field(
        default=False,
        description="Re-render pages whose notes already hold the page's version (undoes "
        "hand edits of synced notes, applies converter changes). Unchanged text is not written.",
    )


def op_name(sync: ConfluenceNoteSync) -> str:
    return f"dot_notes_{sync.name}"


def note_sync_run_config(
    sync: ConfluenceNoteSync, *, page_ids: Sequence[str] | None = None, refresh: bool = False
) -> dict[str, object]:
    """The run config of a sync's job (for sensors, schedules, the launchpad, tests)."""
    config = ConfluenceNoteRunConfig(
        page_ids=None if page_ids is None else list(page_ids), refresh=refresh
    )
    return {"ops": {op_name(sync): {"config": config.model_dump()}}}


def step_retry_policy(sync: ConfluenceNoteSync) -> RetryPolicy | None:
    """The note writer's Dagster retry policy: exponential backoff, and no jitter.

    The wait is what lets a create Dot was still carrying out when its answer was lost
    land before the retry re-lists the notes; jitter may shorten the first wait to
    nothing, and the notes pool runs one note writer at a time, so there is no crowd of
    retries to spread out.
    """
    if not sync.step_retries:
        return None
    return RetryPolicy(
        max_retries=sync.step_retries, delay=sync.step_retry_delay_s, backoff=Backoff.EXPONENTIAL
    )
