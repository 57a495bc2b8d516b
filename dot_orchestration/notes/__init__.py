"""Confluence pages as Dot notes, from Dagster: kept current, never overwriting each other,
losing nothing.

The run itself is Dagster-free (`dot_orchestration.transforms.note_sync` and
`transforms.note_writers`); this package makes it an asset with checks, a job, a sensor
and a schedule, one module per concern:

- `settings`: `DotNotesSettings` (also the `confluence` section of `defs.yaml`), the run
  config, the step retry policy;
- `assets`: the asset and its translator; a failed run is a failed materialization;
- `metadata`: the spec's and a run's metadata, and the ownership record kept between runs;
- `checks`: `every_selected_page_has_a_current_note`, `no_note_outlives_its_page`;
- `automation`: the job, the sensor syncing changed pages, the daily schedule;
- `definitions`: `build_dot_notes_definitions`, the one wiring path.
"""

from dot_orchestration.notes.assets import (
    ConfluenceNotesTranslator,
    build_confluence_note_asset,
)
from dot_orchestration.notes.automation import (
    build_confluence_note_job,
    build_confluence_note_schedule,
    build_confluence_note_sensor,
)
from dot_orchestration.notes.checks import build_confluence_note_check
from dot_orchestration.notes.definitions import build_dot_notes_definitions
from dot_orchestration.notes.metadata import (
    RECORD_METADATA_KEY,
    ConfluenceNoteMetadata,
    recorded_ownership,
)
from dot_orchestration.notes.settings import (
    NOTES_POOL,
    ConfluenceNoteRunConfig,
    DotNotesSettings,
    NoteSchedule,
    NoteSensor,
    note_sync_run_config,
)
from dot_orchestration.resources import ConfluenceResource
from dot_orchestration.transforms.note_sync import TRANSIENT_ERRORS, ConfluenceNoteSync

__all__ = [
    "NOTES_POOL",
    "RECORD_METADATA_KEY",
    "TRANSIENT_ERRORS",
    "ConfluenceNoteMetadata",
    "ConfluenceNoteRunConfig",
    "ConfluenceNoteSync",
    "ConfluenceNotesTranslator",
    "ConfluenceResource",
    "DotNotesSettings",
    "NoteSchedule",
    "NoteSensor",
    "build_confluence_note_asset",
    "build_confluence_note_check",
    "build_confluence_note_job",
    "build_confluence_note_schedule",
    "build_confluence_note_sensor",
    "build_dot_notes_definitions",
    "note_sync_run_config",
    "recorded_ownership",
]
