"""What a note sync shows and keeps: the spec's metadata, a run's metadata, and the
ownership record each run hands to the next.

Every key is in the ``dot`` namespace (``dot/<name>``), named so that no other Dot
operation's key means something else by it.

**The ownership record survives a failed run.** A run that succeeds keeps the record in its
materialization. A run with a failed page records no materialization (it must not count as
fresh for freshness policies or automation), yet it may have created or updated notes of
the other pages: it keeps its metadata, record included, in an `AssetObservation` of the
asset instead, emitted right before the step fails. The next run (or the step's retry)
reads the newer of the two, so a note written by a failed run stays ours even where Dot
dropped the marker.
"""

from __future__ import annotations

from collections import Counter

from dagster import AssetKey, AssetObservation, DagsterInstance, MetadataValue

from dot_orchestration._compat import NamespacedMetadataSet
from dot_orchestration.transforms.note_sync import NoteRun
from dot_orchestration.transforms.org_notes import (
    OwnershipRecord,
    record_from_json,
    record_to_json,
)

__all__ = [
    "RECORD_METADATA_KEY",
    "ConfluenceNoteMetadata",
    "failed_run_observation",
    "recorded_ownership",
    "run_metadata",
]

NAMESPACE = "dot"
#: The metadata key holding the ownership record (see `transforms.org_notes`).
RECORD_METADATA_KEY = f"{NAMESPACE}/note_ownership_record"
#: Where releases before the ``dot`` namespace kept it: still read, so an upgrade loses no
#: note whose marker Dot dropped.
_UNNAMESPACED_RECORD_KEY = "ownership_record"


class ConfluenceNoteMetadata(NamespacedMetadataSet):
    """Shown on the asset: which dialect and which pages it syncs, in which pool."""

    note_dialect: str | None = None
    note_selection: str | None = None
    pool: str | None = None

    @classmethod
    def namespace(cls) -> str:
        return NAMESPACE


def _key(name: str) -> str:
    return f"{NAMESPACE}/{name}"


def run_metadata(dialect: str, run: NoteRun) -> dict[str, MetadataValue]:
    """What a run did, page by page: on its materialization, or on its failure."""
    selected, report = run.selected, run.report
    counts = Counter(report.outcomes.values())
    metadata: dict[str, MetadataValue] = {
        _key("note_dialect"): MetadataValue.text(dialect),
        _key("pages_selected"): MetadataValue.int(len(selected.pages)),
        _key("pages_synced"): MetadataValue.int(counts["synced"]),
        _key("pages_unchanged"): MetadataValue.int(counts["unchanged"]),
        _key("pages_removed"): MetadataValue.int(counts["removed"]),
        _key("pages_left_in_dot"): MetadataValue.int(counts["left in Dot"]),
        _key("pages_failed"): MetadataValue.int(counts["failed"]),
        _key("note_writes"): MetadataValue.int(report.writes),
        _key("pages"): MetadataValue.md(_pages_table(run)),
        _key("note_ids"): MetadataValue.json(report.note_ids),
        _key("confluence_links"): MetadataValue.json(
            {page_id: page.web_url for page_id, page in selected.pages.items()}
        ),
    }
    if selected.empty_sources:
        metadata[_key("empty_sources")] = MetadataValue.json(list(selected.empty_sources))
    if report.left:
        metadata[_key("notes_left_in_dot")] = MetadataValue.json(report.left)
    if report.record is not None:
        metadata[RECORD_METADATA_KEY] = MetadataValue.json(record_to_json(report.record))
        metadata[_key("note_marker")] = MetadataValue.text(
            "stripped by Dot: ownership by the recorded note ids and the title prefix"
            if report.marker_stripped
            else "kept by Dot (or nothing written)"
        )
    if report.failures:
        metadata[_key("page_failures")] = MetadataValue.json(
            {page_id: failure.message for page_id, failure in report.failures.items()}
        )
    return metadata


def _pages_table(run: NoteRun) -> str:
    rows = ["| page | version | outcome | Dot notes |", "| --- | --- | --- | --- |"]
    by_id = sorted(run.report.outcomes.items(), key=lambda item: (len(item[0]), item[0]))
    for page_id, outcome in by_id:
        page = run.selected.pages.get(page_id)
        name = f"[{_cell(page.title)}]({page.web_url})" if page else page_id
        version = str(page.version) if page else ""
        notes = ", ".join(run.report.note_ids.get(page_id, []))
        rows.append(f"| {name} | {version} | {outcome} | {notes} |")
    return "\n".join(rows)


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("[", "\\[").replace("]", "\\]")


def failed_run_observation(key: AssetKey, dialect: str, run: NoteRun) -> AssetObservation:
    """What a run that fails did, ownership record included, kept without a
    materialization. Shown in the asset's history even when the step is retried (a retried
    step's Failure metadata is not kept), and read by the next run."""
    return AssetObservation(
        asset_key=key,
        description="A note sync run that failed: what it did, and the notes it owns "
        "(kept for the next run).",
        metadata=run_metadata(dialect, run),
    )


def recorded_ownership(instance: DagsterInstance, key: AssetKey) -> OwnershipRecord:
    """The ownership record of the asset's last run that kept one: which notes it wrote,
    so that they stay ours if Dot dropped the marker from their text. The newer of the last
    materialization and the last observation carrying a record."""
    newest: tuple[int, object] | None = None
    for fetched in (instance.fetch_materializations(key, 1), instance.fetch_observations(key, 1)):
        for record in fetched.records:
            event = record.asset_materialization or record.asset_observation
            metadata = event.metadata if event is not None else {}
            value = metadata.get(RECORD_METADATA_KEY) or metadata.get(_UNNAMESPACED_RECORD_KEY)
            if value is not None and (newest is None or record.storage_id > newest[0]):
                newest = (record.storage_id, value)
    return record_from_json(getattr(newest[1], "value", None) if newest else None)
