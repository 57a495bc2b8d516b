"""A run with a failed page is a failed materialization, and loses nothing.

The other pages are still written, but no materialization is recorded: freshness and
automation must see a failure. What the run did stays visible (an observation and the
Failure's metadata), and the notes it wrote stay known to the next run even where Dot
drops the ownership marker (the strict profile), because the run's ownership record is
kept in that observation (Dot's text no longer matches what was sent once the page
changes, so only the record can say the note is ours).
"""

from __future__ import annotations

from dagster import AssetKey

from ._support import (
    RESTRICTED,
    REVENUE,
    NoteHarness,
    failure_of,
    materialization_metadata,
    sync_of,
)

KEY = AssetKey(["dot", "notes", "confluence"])


def revenue_notes(notes: NoteHarness) -> list[str]:
    """Ids of the notes in Dot titled after the Revenue page."""
    space = notes.dot.state.space(None)
    return [note.id for note in space.notes() if note.title == "[Confluence] Revenue"]


def test_a_run_with_a_failing_page_records_no_materialization_and_loses_no_note(
    strict_notes: NoteHarness,
) -> None:
    notes = strict_notes
    sync = sync_of(page_ids=[REVENUE, RESTRICTED], step_retries=0)  # RESTRICTED: no access

    failed = notes.run(sync)

    assert not failed.success
    assert notes.instance.fetch_materializations(KEY, limit=10).records == []
    description, metadata = failure_of(failed)
    assert "page 100500: the Confluence user may not view it" in description
    assert (metadata["dot/pages_synced"], metadata["dot/pages_failed"]) == (1, 1)
    [written] = revenue_notes(notes)  # the other page was written...
    [observed] = notes.instance.fetch_observations(KEY, limit=10).records
    assert observed.asset_observation is not None  # ...and the run's record kept
    record = observed.asset_observation.metadata["dot/note_ownership_record"].value
    assert written in record

    notes.site.state.update_page(REVENUE, body="<h1>Revenue</h1><p>v2</p>")
    notes.clear_journal()
    again = notes.run(sync_of(page_ids=[REVENUE]))

    assert again.success
    assert revenue_notes(notes) == [written]  # known as ours: updated, not made twice
    [update] = notes.note_writes()
    assert (update["method"], update["path"]) == ("PUT", f"/api/org_notes/{written}")
    [text] = [note.note for note in notes.dot.state.space(None).notes() if note.id == written]
    assert "v2" in text
    assert written in materialization_metadata(again)["dot/note_ownership_record"]
