"""The notes operation's one wiring path: `build_dot_notes_definitions(settings)`.

The `confluence` section of a `DotComponent` and a Python code location both call it with
the same `DotNotesSettings`, so they produce the same definitions.
"""

from dagster import Definitions

from dot_orchestration.notes.assets import ConfluenceNotesTranslator, build_confluence_note_asset
from dot_orchestration.notes.automation import (
    build_confluence_note_job,
    build_confluence_note_schedule,
    build_confluence_note_sensor,
)
from dot_orchestration.notes.checks import build_confluence_note_check
from dot_orchestration.notes.settings import DotNotesSettings

__all__ = ["build_dot_notes_definitions"]


def build_dot_notes_definitions(
    settings: DotNotesSettings, *, translator: ConfluenceNotesTranslator | None = None
) -> Definitions:
    """Per sync: the asset (in `settings.pool`), its checks, its job, and the sensor and
    schedule unless switched off; plus the `confluence` resource (`settings.site`). Merge
    it with definitions that provide `dot` (`DotResource`)."""
    parts = [Definitions(resources={"confluence": settings.site})]
    for sync in settings.syncs:
        notes = build_confluence_note_asset(sync, pool=settings.pool, translator=translator)
        job = build_confluence_note_job(sync, notes)
        sensors = [build_confluence_note_sensor(sync, job, settings.sensor)]
        schedules = [build_confluence_note_schedule(sync, job, settings.schedule)]
        parts.append(
            Definitions(
                assets=[notes],
                asset_checks=[build_confluence_note_check(sync, notes)],
                jobs=[job],
                sensors=sensors if settings.sensor.enabled else [],
                schedules=schedules if settings.schedule.enabled else [],
            )
        )
    return Definitions.merge(*parts)
