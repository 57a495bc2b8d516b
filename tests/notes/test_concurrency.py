"""Humans and other runs write notes too: a run re-reads Dot right before it writes, and
every note writer waits for the notes pool (`dot_notes` by default).

The human edit lands at an exact point of the run, not after a sleep: a hook on the
Confluence client's transport makes it while the run reads page bodies, which is after
the run's first read of Dot and before its write.
"""

from __future__ import annotations

import threading
from dataclasses import replace

import httpx
import yaml
from _instances import NO_LOG_CAPTURE
from dagster import DagsterInstance, instance_for_test

from dot_orchestration.notes import NOTES_POOL, build_confluence_note_asset

from ._support import (
    ACTIVE_CUSTOMERS,
    REQUEST_HOOKS,
    REVENUE,
    HookedConfluenceResource,
    NoteHarness,
    is_body_read,
    sync_of,
)

#: The instance config the demo writes to dagster.yaml (and the README shows).
DEMO_DAGSTER_YAML = """
concurrency:
  pools:
    default_limit: 1
"""


def during_body_read(action: object) -> list[bool]:
    """Run `action()` once, when the run first reads a page body; returns the 'done' flag."""
    done: list[bool] = []

    def hook(request: httpx.Request) -> None:
        if is_body_read(request) and not done:
            done.append(True)
            action()  # type: ignore[operator]

    REQUEST_HOOKS.append(hook)
    return done


def note_calls(notes: NoteHarness) -> list[tuple[str, str, str | None]]:
    """(method, route, who) of every note read and write, in arrival order."""
    routes = {"/api/org", "/api/save_note", "/api/org_notes", "/api/org_notes/{note_id}"}
    return [
        (e["method"], e["route"], e["user"])
        for e in notes.journal()
        if e["route"] in routes and e["status"] and e["status"] < 300
    ]


def test_a_human_edit_to_the_org_note_during_a_run_is_kept(notes: NoteHarness) -> None:
    notes.confluence_class = HookedConfluenceResource
    human = notes.human()
    human.save_note("Written by a human.")
    edited = during_body_read(
        lambda: human.save_note(human.get_org().note + "\n\nAdded while the sync ran.")
    )
    notes.clear_journal()

    result = notes.run(sync_of(dialect="single_note", page_ids=[REVENUE, ACTIVE_CUSTOMERS]))

    assert result.success and edited
    note = notes.org_note()
    assert note.startswith("Written by a human.\n\nAdded while the sync ran.\n\n<faq ")
    assert set(notes.blocks()) == {REVENUE, ACTIVE_CUSTOMERS}
    calls = [(method, route) for method, route, _ in note_calls(notes)]
    assert calls == [
        ("GET", "/api/org"),  # the run plans
        ("GET", "/api/org"),  # the human reads...
        ("POST", "/api/save_note"),  # ...and saves, while the run reads Confluence
        ("GET", "/api/org"),  # the run re-reads right before it writes
        ("POST", "/api/save_note"),  # and merges into what the human saved
        ("GET", "/api/org"),  # then reads it back: save_note's effect is verified
    ]


def test_org_notes_changed_by_a_human_during_a_run_are_respected(notes: NoteHarness) -> None:
    sync = sync_of(page_ids=[REVENUE])
    assert notes.run(sync).success
    [ours] = [n for n in notes.dot.state.space(None).notes()]
    notes.site.state.update_page(REVENUE, body="<h1>Revenue</h1><p>v2</p>")
    notes.confluence_class = HookedConfluenceResource
    human = notes.human()

    def human_edits() -> None:
        human.delete_org_note(ours.id)  # a human deletes the synced note...
        human.create_org_note("Refund policy", "Refunds are booked on the refund date.")

    edited = during_body_read(human_edits)

    result = notes.run(sync)

    assert result.success and edited  # no PUT to the deleted note: the re-read saw it gone
    titles = {title: text for title, text, _ in notes.all_notes()}
    assert titles["Refund policy"] == "Refunds are booked on the refund date."
    assert titles["[Confluence] Revenue"].startswith("# Revenue\n\nv2")
    assert len(titles) == 2


def test_with_the_demos_instance_config_a_note_writer_waits_for_the_pool(
    notes: NoteHarness,
) -> None:
    """Another run holds the pool's one slot: the run's step must queue for the slot (the
    instance lists it as pending) and write nothing until the slot is freed. Decided by
    the instance's own record of the pool, not by how long the run was seen waiting."""
    assets = [
        build_confluence_note_asset(sync_of(dialect=dialect, page_ids=[REVENUE]))
        for dialect in ("org_notes", "single_note")
    ]
    assert {asset.op.pool for asset in assets} == {NOTES_POOL}
    # No log capture: Dagster's local capture can wait a minute for its `tail` processes
    # (tests/conftest.py, `interruptible`), and nothing here reads the run's output.
    config = yaml.safe_load(DEMO_DAGSTER_YAML) | NO_LOG_CAPTURE
    with instance_for_test(overrides=config) as instance:
        storage = instance.event_log_storage
        assert storage.initialize_concurrency_limit_to_default(NOTES_POOL)  # as a step would
        assert storage.get_concurrency_info(NOTES_POOL).slot_count == 1
        claim = storage.claim_concurrency_slot(NOTES_POOL, "another-run", "another-note-writer")
        assert claim.is_claimed
        waiting = replace(notes, instance=instance)
        outcome: list[bool] = []
        run = threading.Thread(
            target=lambda: outcome.append(waiting.run(sync_of(page_ids=[REVENUE])).success)
        )
        run.start()
        queued = queued_runs(instance, run)
        assert queued, "the note writer ran without waiting for the pool's slot"
        assert notes.note_writes() == []  # queued, so nothing written yet
        storage.free_concurrency_slots_for_run("another-run")
        # Generous: the freed slot is found by polling, and a loaded machine runs slowly.
        run.join(timeout=180)
        assert not run.is_alive(), "the note writer never ran after the pool's slot was freed"
    assert outcome == [True] and len(notes.note_writes()) == 1


def queued_runs(instance: DagsterInstance, run: threading.Thread) -> set[str]:
    """The runs queued for the notes pool, once one is (or none, if `run` ended first)."""
    while run.is_alive():
        info = instance.event_log_storage.get_concurrency_info(NOTES_POOL)
        pending = info.pending_run_ids - {"another-run"}
        if pending:
            return set(pending)
        run.join(timeout=0.05)
    return set()
