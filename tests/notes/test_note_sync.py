"""Confluence pages into Dot notes, end to end over HTTP, in both note dialects.

Each test materializes the sync's real asset on a real Dagster instance against the Dot and
Confluence emulators, then reads Dot's state and its request journal.
"""

from __future__ import annotations

import pytest

from dot_orchestration.emulator.confluence import ConfluenceEmulatorServer
from dot_orchestration.transforms.note_parts import NOTE_CHAR_LIMIT, owned_note_key

from ._support import (
    ACTIVE_CUSTOMERS,
    FAQ,
    HANDBOOK,
    METRICS,
    NRR,
    REVENUE,
    NoteHarness,
    materialization_metadata,
    sync_of,
)

HUMAN_NOTE = (
    "Team glossary\r\n\r\n"
    '<faq topic="refunds">Refunds are booked on the refund date.</faq>\r\n'
    "A stray </faq> and trailing spaces   \r\n\r\n"
)


def test_two_pages_never_overwrite_each_other(notes: NoteHarness, dialect: str) -> None:
    result = notes.run(sync_of(dialect=dialect, page_ids=[REVENUE, ACTIVE_CUSTOMERS]))

    assert result.success
    held = notes.synced_pages(dialect)
    assert set(held) == {REVENUE, ACTIVE_CUSTOMERS}
    assert held[REVENUE].startswith("# Revenue\n")
    assert held[ACTIVE_CUSTOMERS].startswith("# Active customers\n")
    assert "`analytics.fct_orders`" in held[REVENUE]  # converted, identifiers unescaped
    meta = materialization_metadata(result)
    assert (meta["dot/pages_synced"], meta["dot/pages_failed"]) == (2, 0)
    assert meta["dot/note_writes"] == (2 if dialect == "org_notes" else 1)
    assert set(meta["dot/confluence_links"]) == {REVENUE, ACTIVE_CUSTOMERS}
    assert meta["dot/confluence_links"][REVENUE].endswith("/spaces/DATA/pages/100101/Revenue")
    assert set(meta["dot/note_ids"]) == {REVENUE, ACTIVE_CUSTOMERS}


def test_org_notes_are_titled_after_their_pages(notes: NoteHarness) -> None:
    assert notes.run(sync_of(page_ids=[REVENUE])).success

    [(title, text, active)] = notes.owned_notes()[REVENUE]
    assert (title, active) == ("[Confluence] Revenue", True)
    key = owned_note_key(text)
    assert key is not None and (key.part, key.parts, key.version) == (1, 1, 23)


def test_text_outside_the_managed_blocks_survives_byte_for_byte(notes: NoteHarness) -> None:
    notes.human().save_note(HUMAN_NOTE)

    assert notes.run(sync_of(dialect="single_note", page_ids=[REVENUE, NRR])).success
    first = notes.org_note()
    notes.site.state.update_page(REVENUE, body="<h1>Revenue</h1><p>Now net of refunds.</p>")
    assert notes.run(sync_of(dialect="single_note", page_ids=[REVENUE])).success  # NRR left

    note = notes.org_note()
    assert note.startswith(HUMAN_NOTE.rstrip())  # every human byte, CRLFs included
    assert note.endswith("\r\n\r\n")  # the note's trailing whitespace stays at its end
    assert notes.blocks()[REVENUE].startswith("# Revenue\n\nNow net of refunds.")
    assert NRR not in notes.blocks()
    assert first.startswith(HUMAN_NOTE.rstrip())


def test_human_notes_are_never_touched_even_with_our_title(notes: NoteHarness) -> None:
    human = notes.human()
    lookalike = human.create_org_note("[Confluence] Revenue", "Written by hand.")
    other = human.create_org_note("Glossary", "GMV means gross merchandise value.  \n")

    assert notes.run(sync_of(page_ids=[REVENUE])).success
    notes.site.state.delete_page(REVENUE)
    deactivating = sync_of(page_ids=[REVENUE]).model_copy(update={"on_removed": "deactivate"})
    notes.run(deactivating)  # fails: the page is gone; its note deactivated

    by_id = {note.id: note for note in notes.dot.state.space(None).notes()}
    assert (by_id[lookalike.id].note, by_id[lookalike.id].active) == ("Written by hand.", True)
    assert by_id[other.id].note == "GMV means gross merchandise value.  \n"
    assert [active for *_, active in notes.owned_notes()[REVENUE]] == [False]


def test_an_unchanged_run_makes_zero_writes(notes: NoteHarness, dialect: str) -> None:
    sync = sync_of(dialect=dialect, descendants_of=METRICS, page_ids=FAQ)
    assert notes.run(sync).success
    before = notes.dot_state(dialect)
    notes.clear_journal()

    again = notes.run(sync)
    refreshed = notes.run(sync, refresh=True)  # re-renders every page, writes nothing

    assert again.success and refreshed.success
    assert notes.note_writes() == []
    assert notes.dot_state(dialect) == before
    assert materialization_metadata(again)["dot/pages_unchanged"] == 4
    assert materialization_metadata(refreshed)["dot/note_writes"] == 0


def test_a_changed_page_updates_only_its_note(notes: NoteHarness, dialect: str) -> None:
    sync = sync_of(dialect=dialect, descendants_of=METRICS)
    assert notes.run(sync).success
    before = notes.synced_pages(dialect)
    notes.site.state.update_page(NRR, body="<h1>NRR</h1><p>Now measured quarterly.</p>")
    notes.clear_journal()

    result = notes.run(sync)

    after = notes.synced_pages(dialect)
    assert after[NRR].startswith("# NRR\n\nNow measured quarterly.")
    assert {page: text for page, text in after.items() if page != NRR} == {
        page: text for page, text in before.items() if page != NRR
    }
    writes = notes.note_writes()
    assert len(writes) == 1
    if dialect == "org_notes":
        assert writes[0]["method"] == "PUT" and "page=100103" in writes[0]["body"]["note"]
    meta = materialization_metadata(result)
    assert (meta["dot/pages_synced"], meta["dot/pages_unchanged"]) == (1, 2)


@pytest.mark.parametrize("on_removed", ["deactivate", "delete"])
def test_a_removed_page_is_deactivated_or_deleted_as_configured(
    notes: NoteHarness, on_removed: str
) -> None:
    sync = sync_of(descendants_of=METRICS).model_copy(update={"on_removed": on_removed})
    assert notes.run(sync).success
    notes.site.state.delete_page(ACTIVE_CUSTOMERS)  # deleted
    notes.site.state.move_page(NRR, "100000")  # moved out of the selection

    result = notes.run(sync)

    assert result.success
    owned = notes.owned_notes()
    if on_removed == "delete":
        assert set(owned) == {REVENUE}
    else:
        assert [active for *_, active in owned[ACTIVE_CUSTOMERS]] == [False]
        assert [active for *_, active in owned[NRR]] == [False]
        assert owned[ACTIVE_CUSTOMERS][0][1].startswith("# Active customers")  # text kept
    assert materialization_metadata(result)["dot/pages_removed"] == 2


def test_a_removed_page_leaves_the_org_note(notes: NoteHarness) -> None:
    notes.human().save_note(HUMAN_NOTE)
    sync = sync_of(dialect="single_note", descendants_of=METRICS)
    assert notes.run(sync).success
    notes.site.state.delete_page(ACTIVE_CUSTOMERS)

    assert notes.run(sync).success

    assert set(notes.blocks()) == {REVENUE, NRR}
    assert notes.org_note().startswith(HUMAN_NOTE.rstrip())


def test_an_oversized_page_splits_and_its_extra_parts_go_when_it_shrinks(
    notes: NoteHarness,
) -> None:
    sync = sync_of(page_ids=HANDBOOK).model_copy(update={"on_removed": "deactivate"})
    assert notes.run(sync).success

    parts = notes.owned_notes()[HANDBOOK]
    assert len(parts) >= 2
    assert [title for title, *_ in parts] == [
        f"[Confluence] Warehouse handbook ({i}/{len(parts)})" for i in range(1, len(parts) + 1)
    ]
    assert all(len(text) <= NOTE_CHAR_LIMIT for _, text, _ in parts)
    assert all(text.split("\n", 1)[0].startswith("# ") for _, text, _ in parts[1:])  # at headings

    notes.site.state.update_page(HANDBOOK, body="<h1>Handbook</h1><p>Moved to dbt docs.</p>")
    assert notes.run(sync).success

    shrunk = notes.owned_notes()[HANDBOOK]
    assert (
        [(title, active) for title, _, active in shrunk]
        == [
            ("[Confluence] Warehouse handbook", True),  # part 1 updated in place, renamed
            *[(title, False) for title, *_ in parts[1:]],  # the other parts deactivated
        ]
    )


def test_one_page_at_a_time_in_any_order_equals_all_at_once(
    notes: NoteHarness, dialect: str
) -> None:
    pages = [REVENUE, NRR, ACTIVE_CUSTOMERS]
    sync = sync_of(dialect=dialect, page_ids=pages)
    notes.human().save_note(HUMAN_NOTE)
    assert notes.run(sync).success
    all_at_once = notes.synced_pages(dialect), notes.org_note()

    notes.dot.state.reset()
    notes.human().save_note(HUMAN_NOTE)
    for page in reversed(pages):
        assert notes.run(sync, page_ids=[page]).success

    assert (notes.synced_pages(dialect), notes.org_note()) == all_at_once


def test_a_block_written_by_dots_own_script_is_taken_over_not_duplicated(
    notes: NoteHarness,
) -> None:
    script_block = f'<faq confluence_page_url="{notes.site.url}/pages/{REVENUE}">\n\nold\n\n</faq>'
    notes.human().save_note(f"Intro\n\n{script_block}")

    assert notes.run(sync_of(dialect="single_note", page_ids=REVENUE)).success

    note = notes.org_note()
    assert note.count("<faq") == 1 and note.startswith("Intro\n\n<faq")
    assert notes.blocks()[REVENUE].startswith("# Revenue")


def test_data_center_syncs_the_same_notes_as_cloud(
    notes: NoteHarness, site: ConfluenceEmulatorServer, dialect: str
) -> None:
    sync = sync_of(dialect=dialect, descendants_of=METRICS, cql='label = "faq"')
    assert notes.run(sync).success
    cloud = notes.synced_pages(dialect)
    notes.dot.state.reset()

    notes.flavour = "datacenter"
    assert notes.run(sync).success

    assert notes.synced_pages(dialect) == cloud
    assert set(cloud) == {REVENUE, ACTIVE_CUSTOMERS, NRR, FAQ}
    bearer = [e for e in site.state.journal if e.auth == "bearer"]
    assert bearer and all("/rest/api/" in e.path for e in bearer)
