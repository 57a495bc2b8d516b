"""When a sync runs: its job, the sensor that syncs changed pages, the daily schedule."""

import json

from dagster import (
    AssetsDefinition,
    AssetSelection,
    RunRequest,
    ScheduleDefinition,
    SensorDefinition,
    SensorEvaluationContext,
    SensorResult,
    SkipReason,
    define_asset_job,
    sensor,
)

from dot_orchestration._compat import UnresolvedAssetJobDefinition
from dot_orchestration.confluence import select_pages
from dot_orchestration.notes.settings import NoteSchedule, NoteSensor, note_sync_run_config
from dot_orchestration.resources import ConfluenceResource
from dot_orchestration.transforms.note_sync import ConfluenceNoteSync

__all__ = [
    "build_confluence_note_job",
    "build_confluence_note_schedule",
    "build_confluence_note_sensor",
]


def build_confluence_note_job(
    sync: ConfluenceNoteSync, notes: AssetsDefinition
) -> UnresolvedAssetJobDefinition:
    """The asset and its check: what the sensor and the schedule run."""
    return define_asset_job(
        f"dot_notes_{sync.name}_job",
        selection=AssetSelection.assets(notes),
        description=f"Confluence pages → Dot notes ({sync.dialect}).",
    )


def build_confluence_note_sensor(
    sync: ConfluenceNoteSync,
    job: UnresolvedAssetJobDefinition,
    settings: NoteSensor | None = None,
) -> SensorDefinition:
    """Polls the selected pages' versions and requests one run for the changed pages.

    The cursor is the JSON `{page id: version}` of the last tick. A tick costs what
    resolving the selection costs (one bulk version lookup per 250 pages, plus one walk
    per parent and one search per query), however many pages changed. A page that left
    the selection or was deleted counts as changed, so its notes are reported (or removed,
    as `on_removed` says) promptly. A run that fails is not re-requested: the asset check
    shows the stale pages and the schedule's next run syncs them.
    """
    settings = settings or NoteSensor()

    @sensor(
        name=f"dot_notes_{sync.name}_sensor",
        job=job,
        minimum_interval_seconds=settings.minimum_interval_seconds,
        default_status=settings.default_status,
        description=f"Syncs changed Confluence pages into Dot notes ({sync.name}).",
    )
    def _changed_pages(
        context: SensorEvaluationContext, confluence: ConfluenceResource
    ) -> SensorResult | SkipReason:
        with confluence.get_client() as wiki:
            selected = select_pages(wiki, sync.selection)
        versions = {page_id: page.version for page_id, page in selected.pages.items()}
        before = _read_cursor(context)
        changed = sorted(page_id for page_id, v in versions.items() if before.get(page_id) != v)
        gone = sorted(set(before) - set(versions))
        if not changed and not gone:
            return SkipReason(f"none of the {len(versions)} selected pages changed")
        context.log.info(f"changed pages: {changed}; gone from the selection: {gone}")
        return SensorResult(
            run_requests=[RunRequest(run_config=note_sync_run_config(sync, page_ids=changed))],
            cursor=json.dumps(versions, sort_keys=True),
        )

    return _changed_pages


def _read_cursor(context: SensorEvaluationContext) -> dict[str, int]:
    """The last tick's versions; an unreadable cursor counts as none (every page changed)."""
    try:
        versions = json.loads(context.cursor or "{}")
    except ValueError:
        versions = None
    if not isinstance(versions, dict):
        context.log.warning("the cursor is not a JSON object; every page counts as changed")
        return {}
    return versions


def build_confluence_note_schedule(
    sync: ConfluenceNoteSync,
    job: UnresolvedAssetJobDefinition,
    settings: NoteSchedule | None = None,
) -> ScheduleDefinition:
    """The fallback: re-render every selected page daily (unchanged text is not written),
    catching whatever the sensor missed: failed runs, hand edits of synced notes, a
    converter upgrade."""
    settings = settings or NoteSchedule()
    return ScheduleDefinition(
        name=f"dot_notes_{sync.name}_schedule",
        job=job,
        cron_schedule=settings.cron_schedule,
        execution_timezone=settings.timezone,
        run_config=note_sync_run_config(sync, refresh=True),
        default_status=settings.default_status,
    )
