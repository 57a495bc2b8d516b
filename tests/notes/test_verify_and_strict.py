"""Notes against what Dot documents: verify every write, claim no effect that was not seen.

The main flow runs against both Dot profiles (`any_notes`): the default emulator keeps the
marker, answers notes and honours `active` and DELETE; the strict one answers `null`, drops
HTML comments (our marker) from stored notes, ignores `active` and has no DELETE.
"""

from __future__ import annotations

from typing import Any

import pytest
from reliability._proxy import AnsweringProxy, CannedAnswer

from dot_orchestration.emulator.faults import FaultRule
from dot_orchestration.transforms.note_parts import owned_note_key

from ._support import (
    ACTIVE_CUSTOMERS,
    METRICS,
    NRR,
    REVENUE,
    NoteHarness,
    current_check,
    failed_run_metadata,
    failure_of,
    left_check,
    materialization_metadata,
    sync_of,
)

PREFIX = "[Confluence] "


def ours(notes: NoteHarness) -> dict[str, tuple[str, str, bool]]:
    """Every note whose title carries the sync's prefix, by id: (title, text, active)."""
    return {
        note.id: (note.title, note.note, note.active)
        for note in notes.dot.state.space(None).notes()
        if note.title.startswith(PREFIX)
    }


def titles(notes: NoteHarness, *, active: bool | None = None) -> list[str]:
    return sorted(t for t, _, a in ours(notes).values() if active is None or a == active)


def removing(on_removed: str) -> Any:
    return sync_of(descendants_of=METRICS).model_copy(update={"on_removed": on_removed})


def test_main_flow_with_a_removed_page_claims_only_what_dot_shows(any_notes: NoteHarness) -> None:
    notes = any_notes
    sync = sync_of(descendants_of=METRICS)
    first = notes.run(sync, with_check=True)
    assert first.success
    created = ours(notes)
    assert len(created) == 3
    strict = notes.dot.state.config.strict
    assert all((owned_note_key(text) is None) == strict for _, text, _ in created.values())
    meta = materialization_metadata(first)
    assert meta["dot/pages_synced"] == 3 and meta["dot/note_writes"] == 3
    assert set(meta["dot/note_ownership_record"]) == set(
        created
    )  # the fallback when Dot drops markers
    assert ("stripped" in meta["dot/note_marker"]) == strict
    assert current_check(first).passed and left_check(first).passed

    notes.site.state.delete_page(ACTIVE_CUSTOMERS)  # deleted in Confluence
    notes.site.state.move_page(NRR, "100000")  # moved out of the selection
    notes.clear_journal()
    second = notes.run(sync, with_check=True)

    assert second.success
    assert notes.note_writes() == []  # the default writes nothing for removed pages
    assert ours(notes) == created  # every note still there, active, unchanged
    meta = materialization_metadata(second)
    assert (meta["dot/pages_removed"], meta["dot/pages_left_in_dot"]) == (0, 2)
    assert sorted(n["title"] for n in meta["dot/notes_left_in_dot"].values()) == [
        "[Confluence] Active customers",
        "[Confluence] Net revenue retention",
    ]
    warning = left_check(second)
    assert not warning.passed and warning.severity.value == "WARN"
    assert set(warning.metadata["dot/notes_left_in_dot"].value) == {ACTIVE_CUSTOMERS, NRR}
    assert "delete or deactivate them in Dot's UI" in (warning.description or "")
    assert current_check(second).passed  # Revenue, the one page left, is current

    notes.clear_journal()
    assert notes.run(sync).success and notes.run(sync, refresh=True).success
    assert notes.note_writes() == []  # no-op runs make 0 writes, markers or not
    lists = [e for e in notes.journal() if (e["method"], e["route"]) == ("GET", "/api/org_notes")]
    assert len(lists) == 4  # to plan and to write, per run: nothing written, nothing to verify


def test_a_changed_page_is_updated_in_place_in_both_profiles(any_notes: NoteHarness) -> None:
    notes = any_notes
    sync = sync_of(page_ids=[REVENUE, NRR])
    assert notes.run(sync).success
    before = ours(notes)
    notes.site.state.update_page(NRR, body="<h1>NRR</h1><p>Now measured quarterly.</p>")
    notes.clear_journal()

    result = notes.run(sync)

    assert result.success
    after = ours(notes)
    assert set(after) == set(before)  # no new note: updated in place, found by the record
    changed = [i for i in after if after[i] != before[i]]
    assert len(changed) == 1 and "Now measured quarterly." in after[changed[0]][1]
    assert [w["method"] for w in notes.note_writes()] == ["PUT"]


def test_without_the_marker_a_lookalike_note_is_never_claimed(strict_notes: NoteHarness) -> None:
    notes = strict_notes
    lookalike = notes.human().create_org_note("[Confluence] Revenue", "Written by hand.")
    assert lookalike is None  # strict Dot answers a create with `null`
    [hand_written_id] = list(ours(notes))

    assert notes.run(sync_of(page_ids=[REVENUE])).success

    assert ours(notes)[hand_written_id] == ("[Confluence] Revenue", "Written by hand.", True)
    assert len(ours(notes)) == 2  # the sync made its own note beside it


def test_a_hand_edit_of_a_note_without_marker_is_undone_by_a_refresh(
    strict_notes: NoteHarness,
) -> None:
    notes = strict_notes
    sync = sync_of(page_ids=[REVENUE])
    assert notes.run(sync).success
    [(note_id, (title, text, _))] = ours(notes).items()
    notes.human().update_org_note(note_id, title, "Edited by hand.\n" + text)

    stale = current_check(notes.run(sync, page_ids=[], with_check=True))
    assert stale.metadata["dot/pages_not_current"].value == {
        REVENUE: "its notes are incomplete or carry no version"
    }
    notes.clear_journal()
    assert notes.run(sync, refresh=True).success

    assert ours(notes)[note_id][1] == text
    assert len(notes.note_writes()) == 1


def test_strict_dot_ignoring_active_fails_deactivation_loudly(strict_notes: NoteHarness) -> None:
    notes = strict_notes
    assert notes.run(removing("deactivate")).success
    notes.site.state.delete_page(ACTIVE_CUSTOMERS)

    result = notes.run(removing("deactivate"))

    description, meta = failure_of(result)
    assert "listed with active: false" in description and "no active field" in description
    assert "deactivate or delete the note in Dot's UI" in description
    assert meta["dot/page_error_class"] == {ACTIVE_CUSTOMERS: "DotEffectNotObservedError"}
    assert titles(notes, active=True) == titles(notes)  # nothing was deactivated
    recorded = failed_run_metadata(result)
    assert recorded["dot/pages_removed"] == 0 and recorded["dot/pages_failed"] == 1


def test_strict_dot_without_delete_fails_deletion_and_claims_nothing(
    strict_notes: NoteHarness,
) -> None:
    notes = strict_notes
    assert notes.run(removing("delete")).success
    notes.site.state.move_page(NRR, "100000")

    result = notes.run(removing("delete"))

    description, meta = failure_of(result)
    assert "DELETE /api/org_notes/" in description and "405" in description
    assert meta["dot/page_error_class"] == {NRR: "DotAPIError"}
    assert len(ours(notes)) == 3
    assert failed_run_metadata(result)["dot/pages_removed"] == 0


@pytest.mark.parametrize("on_removed", ["deactivate", "delete"])
def test_default_dot_shows_the_opt_in_removal_and_it_is_done_once(
    notes: NoteHarness, on_removed: str
) -> None:
    assert notes.run(removing(on_removed)).success
    notes.site.state.move_page(NRR, "100000")

    removed = notes.run(removing(on_removed))
    notes.clear_journal()
    again = notes.run(removing(on_removed))

    assert removed.success and again.success
    assert materialization_metadata(removed)["dot/pages_removed"] == 1
    if on_removed == "deactivate":
        assert titles(notes, active=False) == ["[Confluence] Net revenue retention"]
    else:
        assert len(ours(notes)) == 2
    assert notes.note_writes() == []  # an inactive note is not PUT again on every run


def test_a_lost_create_is_adopted_by_the_retry_without_the_marker(
    strict_notes: NoteHarness,
) -> None:
    notes = strict_notes
    notes.dot.state.faults = [
        FaultRule(method="POST", path="/api/org_notes", times=1, kind="drop", phase="after")
    ]

    result = notes.run(sync_of(page_ids=[REVENUE, ACTIVE_CUSTOMERS]))

    assert result.success  # the step's retry finished the run
    creates = [w for w in notes.note_writes() if w["method"] == "POST"]
    assert len(creates) == 2  # the lost one made its note; the retry adopted it
    assert titles(notes) == ["[Confluence] Active customers", "[Confluence] Revenue"]
    notes.clear_journal()
    assert notes.run(sync_of(page_ids=[REVENUE, ACTIVE_CUSTOMERS]), refresh=True).success
    assert notes.note_writes() == []  # adopted into the record: ours from now on


def test_a_save_note_dot_does_not_carry_out_fails_its_pages(notes: NoteHarness) -> None:
    answers = {("POST", "/api/save_note"): CannedAnswer(200, b"{}")}
    with AnsweringProxy(notes.dot.url, answers) as proxy:
        notes.dot_url = proxy.url
        result = notes.run(sync_of(dialect="single_note", page_ids=[REVENUE, NRR]))

    description, meta = failure_of(result)
    assert "Dot answered 2xx to save_note, but the org note it holds now is not" in description
    assert meta["dot/page_error_class"] == {
        REVENUE: "DotEffectNotObservedError",
        NRR: "DotEffectNotObservedError",
    }
    assert failed_run_metadata(result)["dot/pages_synced"] == 0
    assert notes.org_note() == ""


@pytest.mark.parametrize("body", ["truncated_json", "html"])
def test_write_replies_of_any_2xx_shape_cause_no_false_failure(
    notes: NoteHarness, body: str
) -> None:
    notes.dot.state.faults = [
        FaultRule(
            method=method,
            path="/api/org_notes*",
            kind="malformed",
            malformed=body,
            status=200,
            phase="after",
        )
        for method in ("POST", "PUT")
    ]  # Dot carries out the write, and answers 200 with a body that is no note (or no JSON)
    sync = sync_of(page_ids=[REVENUE, NRR])
    assert notes.run(sync).success
    notes.site.state.update_page(NRR, body="<h1>NRR</h1><p>Now measured quarterly.</p>")

    result = notes.run(sync)

    assert result.success
    assert materialization_metadata(result)["dot/pages_synced"] == 1
    assert "Now measured quarterly." in notes.synced_pages("org_notes")[NRR]
