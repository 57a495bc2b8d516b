"""The sensor (changed pages only, cursor kept, bounded calls), the fallback schedule and
the asset check, evaluated by Dagster against both emulators."""

from __future__ import annotations

import json

import pytest
from dagster import (
    Definitions,
    RunRequest,
    SensorResult,
    SkipReason,
    build_schedule_context,
    build_sensor_context,
)

from dot_orchestration.confluence import ConfluenceServerError
from dot_orchestration.emulator.confluence import FaultRule

from ._support import (
    ACTIVE_CUSTOMERS,
    FAQ,
    HOME,
    METRICS,
    NRR,
    REVENUE,
    NoteHarness,
    current_check,
    sync_of,
)

SENSOR, SCHEDULE, JOB = (
    "dot_notes_confluence_sensor",
    "dot_notes_confluence_schedule",
    "dot_notes_confluence_job",
)


def tick(notes: NoteHarness, defs: Definitions, cursor: str | None) -> SensorResult | SkipReason:
    context = build_sensor_context(
        instance=notes.instance, cursor=cursor, resources=notes.resources(), definitions=defs
    )
    result = defs.resolve_sensor_def(SENSOR)(context)
    assert isinstance(result, SensorResult | SkipReason)
    return result


def requested_pages(result: SensorResult | SkipReason) -> list[str]:
    assert isinstance(result, SensorResult)
    [request] = result.run_requests or []
    assert isinstance(request, RunRequest)
    config = request.run_config["ops"]["dot_notes_confluence"]["config"]
    return list(config["page_ids"])


def launch(notes: NoteHarness, defs: Definitions, result: SensorResult) -> bool:
    [request] = result.run_requests or []
    job = defs.resolve_job_def(JOB)
    run = job.execute_in_process(
        run_config=request.run_config, instance=notes.instance, raise_on_error=False
    )
    return run.success


@pytest.mark.parametrize("flavour", ["cloud", "datacenter"])
def test_the_sensor_requests_runs_only_for_changed_pages_and_keeps_its_cursor(
    notes: NoteHarness, flavour: str
) -> None:
    notes.flavour = flavour
    defs = notes.definitions(sync_of(descendants_of=METRICS, page_ids=FAQ))

    first = tick(notes, defs, None)
    assert sorted(requested_pages(first)) == sorted([FAQ, REVENUE, ACTIVE_CUSTOMERS, NRR])
    assert isinstance(first, SensorResult) and first.cursor is not None
    assert json.loads(first.cursor) == {FAQ: 31, REVENUE: 23, ACTIVE_CUSTOMERS: 9, NRR: 3}
    assert launch(notes, defs, first)

    assert isinstance(tick(notes, defs, first.cursor), SkipReason)

    notes.site.state.update_page(NRR, body="<h1>NRR</h1><p>Quarterly now.</p>")
    notes.clear_journal()
    changed = tick(notes, defs, first.cursor)
    assert requested_pages(changed) == [NRR]
    assert isinstance(changed, SensorResult) and changed.cursor is not None
    assert json.loads(changed.cursor)[NRR] == 4
    assert launch(notes, defs, changed)
    assert [w["method"] for w in notes.note_writes()] == ["PUT"]  # NRR's note only

    notes.site.state.delete_page(ACTIVE_CUSTOMERS)
    gone = tick(notes, defs, changed.cursor)
    assert requested_pages(gone) == []  # nothing to render; its note is left and reported
    assert launch(notes, defs, gone)
    assert [active for *_, active in notes.owned_notes()[ACTIVE_CUSTOMERS]] == [True]


def test_a_tick_that_cannot_read_confluence_fails_without_requesting_runs(
    notes: NoteHarness,
) -> None:
    defs = notes.definitions(sync_of(descendants_of=METRICS))
    notes.site.state.faults = [FaultRule(status=503, retry_after=0.01, times=None)]

    with pytest.raises(ConfluenceServerError, match="HTTP 503"):
        tick(notes, defs, json.dumps({REVENUE: 22}))  # a failed tick keeps its cursor


@pytest.mark.parametrize("flavour", ["cloud", "datacenter"])
def test_a_sensor_tick_costs_the_same_calls_for_7_or_67_pages(
    notes: NoteHarness, flavour: str
) -> None:
    notes.flavour = flavour
    defs = notes.definitions(sync_of(descendants_of=HOME))

    def calls_per_tick() -> tuple[int, int]:
        notes.site.state.journal.clear()
        result = tick(notes, defs, None)
        return len(requested_pages(result)), len(notes.site.state.journal)

    pages, calls = calls_per_tick()
    for number in range(60):
        notes.site.state.create_page(
            title=f"Metric {number}", body="<p>x</p>", space_key="DATA", parent_id=METRICS
        )

    assert (pages, calls) == (7, 2)  # one walk of the tree, one bulk version lookup
    assert calls_per_tick() == (67, 2)


def test_the_schedule_re_renders_every_page_and_undoes_hand_edits(notes: NoteHarness) -> None:
    sync = sync_of(page_ids=[REVENUE, NRR])
    assert notes.run(sync).success
    [(_, original, _)] = notes.owned_notes()[REVENUE]
    note_id = notes.dot.state.space(None).notes()[0].id
    notes.human().update_org_note(note_id, "[Confluence] Revenue", "Edited by hand.\n" + original)
    defs = notes.definitions(sync)

    [request] = (
        defs.resolve_schedule_def(SCHEDULE)
        .evaluate_tick(build_schedule_context(instance=notes.instance))
        .run_requests
        or []
    )
    notes.clear_journal()
    run = defs.resolve_job_def(JOB).execute_in_process(
        run_config=request.run_config, instance=notes.instance
    )

    assert run.success
    assert notes.owned_notes()[REVENUE][0][1] == original
    assert len(notes.note_writes()) == 1  # NRR was re-rendered too, and left alone


def test_the_check_passes_when_every_page_has_a_current_note_and_names_stale_ones(
    notes: NoteHarness, dialect: str
) -> None:
    sync = sync_of(dialect=dialect, descendants_of=METRICS)
    passed = current_check(notes.run(sync, with_check=True))
    notes.site.state.update_page(NRR, body="<p>changed</p>")
    notes.site.state.create_page(
        title="Churn", body="<p>new</p>", space_key="DATA", parent_id=METRICS
    )

    failed = current_check(notes.run(sync, page_ids=[], with_check=True))

    assert passed.passed and passed.metadata["dot/pages_selected"].value == 3
    assert not failed.passed
    problems = failed.metadata["dot/pages_not_current"].value
    assert problems[NRR] == "the note holds version 3, the page is at version 4"
    assert list(problems.values()).count("no active note in Dot") == 1
    assert set(failed.metadata["dot/confluence_links"].value) == set(problems)
