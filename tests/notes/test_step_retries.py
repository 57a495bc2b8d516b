"""Dagster retries the note writer after a transient failure, and the retry adopts, never
duplicates, a note whose create reached Dot while its answer was lost.

The Dot client does not re-send such a create (Dot may have made the note), so the faults
here hit `POST /api/org_notes` in phase "after": the emulator runs the handler, then drops
the connection or answers 502 instead. What a retry did is read back from the run's event
log on the instance, what reached Dot from the emulator's journal.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from dagster import DagsterEvent, DagsterEventType, ExecuteInProcessResult
from dagster_shared.error import SerializableErrorInfo

from dot_orchestration.emulator.faults import FaultRule
from dot_orchestration.notes.settings import step_retry_policy
from dot_orchestration.transforms.note_parts import owned_note_key

from ._support import (
    ACTIVE_CUSTOMERS,
    METRICS,
    REVENUE,
    NoteHarness,
    failure_of,
    sync_of,
)

CREATE = ("POST", "/api/org_notes")
PAGES = [REVENUE, ACTIVE_CUSTOMERS]
LOST_ANSWERS = {
    "dropped connection": ({"kind": "drop"}, "DotTransportError"),
    "502 proxy page": ({"kind": "malformed", "malformed": "html", "status": 502}, "DotServerError"),
}


def first_create_fails(notes: NoteHarness, **fault: Any) -> None:
    notes.dot.state.faults = [FaultRule(method=CREATE[0], path=CREATE[1], times=1, **fault)]


def retries_logged(notes: NoteHarness, result: ExecuteInProcessResult) -> list[set[str]]:
    """Each step retry the run's event log holds, as the error classes of its chain."""
    events = notes.instance.all_logs(result.run_id, of_type=DagsterEventType.STEP_UP_FOR_RETRY)
    return [
        error_classes(entry.dagster_event.event_specific_data.error)
        for entry in events
        if entry.dagster_event is not None
    ]


def observations(result: ExecuteInProcessResult) -> list[DagsterEvent]:
    return [event for event in result.all_events if event.is_asset_observation]


def error_classes(info: SerializableErrorInfo | None) -> set[str]:
    return {error.cls_name or "" for error in chain(info)}


def chain(info: SerializableErrorInfo | None) -> Iterator[SerializableErrorInfo]:
    while info is not None:
        yield info
        info = info.cause or info.context


def failure_classes(result: ExecuteInProcessResult) -> set[str]:
    (failure,) = [event for event in result.all_events if event.is_step_failure]
    return error_classes(failure.step_failure_data.error)


def creates(notes: NoteHarness) -> list[dict[str, Any]]:
    return [e for e in notes.note_writes() if (e["method"], e["route"]) == CREATE]


def note_count(notes: NoteHarness) -> dict[str, int]:
    return {page: len(held) for page, held in notes.owned_notes().items()}


def owned_ids(notes: NoteHarness) -> list[str]:
    """Ids of the notes in Dot that carry our marker."""
    space = notes.dot.state.space(None)
    return sorted(str(note.id) for note in space.notes() if owned_note_key(note.note))


def reported_ids(note_ids: dict[str, list[str]]) -> list[str]:
    """Ids of the notes a materialization says hold its pages."""
    return sorted(str(note_id) for ids in note_ids.values() for note_id in ids)


@pytest.mark.parametrize(("fault", "error"), LOST_ANSWERS.values(), ids=LOST_ANSWERS.keys())
def test_a_create_whose_answer_was_lost_is_retried_by_the_step_and_adopted(
    notes: NoteHarness, fault: dict[str, Any], error: str
) -> None:
    first_create_fails(notes, phase="after", **fault)

    result = notes.run(sync_of(page_ids=PAGES))

    assert result.success
    [retry] = retries_logged(notes, result)
    assert {"RetryRequestedFromPolicy", "Failure", error} <= retry
    assert note_count(notes) == {REVENUE: 1, ACTIVE_CUSTOMERS: 1}
    calls = creates(notes)
    assert len(calls) == 2 and sum(1 for call in calls if call["fault"]) == 1
    # the failed attempt records no materialization: an observation says what it did
    [retried] = [event.materialization for event in result.get_asset_materialization_events()]
    [first] = [event.asset_observation_data.asset_observation for event in observations(result)]
    assert (first.metadata["dot/pages_synced"].value, first.metadata["dot/pages_failed"].value) == (
        1,
        1,
    )
    assert retried.metadata["dot/pages_unchanged"].value == 2  # the lost create's note: adopted
    assert retried.metadata["dot/note_writes"].value == 0
    assert reported_ids(retried.metadata["dot/note_ids"].value) == owned_ids(notes)


def test_a_refused_create_is_not_retried(notes: NoteHarness) -> None:
    first_create_fails(notes, kind="status", status=403)

    result = notes.run(sync_of(page_ids=PAGES))

    assert not result.success
    assert retries_logged(notes, result) == []
    assert "DotPermissionError" in failure_classes(result)
    description, metadata = failure_of(result)
    assert "writing its notes failed" in description and "403" in description
    assert list(metadata["dot/page_error_class"].values()) == ["DotPermissionError"]
    assert len(creates(notes)) == 2  # one refused, one for the other page; none again
    assert sum(note_count(notes).values()) == 1


def test_retries_stop_after_step_retries_and_the_failure_keeps_its_class(
    notes: NoteHarness, dialect: str
) -> None:
    notes.dot.state.faults = [FaultRule(method="GET", path="/api/org*", kind="status", status=503)]

    result = notes.run(sync_of(dialect=dialect, descendants_of=METRICS, step_retries=2))

    assert not result.success
    assert [("DotServerError" in classes) for classes in retries_logged(notes, result)] == [
        True,
        True,
    ]
    assert "DotServerError" in failure_classes(result)
    description, _ = failure_of(result)
    assert "reading Dot's notes failed" in description and "503" in description
    assert notes.note_writes() == []


def test_without_step_retries_a_lost_create_fails_the_run_and_the_next_run_adopts_it(
    notes: NoteHarness,
) -> None:
    sync = sync_of(page_ids=PAGES, step_retries=0)
    assert step_retry_policy(sync) is None
    first_create_fails(notes, kind="drop", phase="after")

    failed = notes.run(sync)
    assert not failed.success and retries_logged(notes, failed) == []
    assert "DotTransportError" in failure_classes(failed)
    notes.clear_journal()

    assert notes.run(sync).success
    assert note_count(notes) == {REVENUE: 1, ACTIVE_CUSTOMERS: 1}
    assert notes.note_writes() == []
