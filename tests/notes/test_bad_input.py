"""Bad input gives a clear error or an explicit empty result, and never a wiped note.

Each test first syncs good pages, then breaks something, and checks that the run says what
is wrong and how to fix it, that every other page still synced, and that no note of the
broken page (nor any other) was lost.
"""

from __future__ import annotations

import pytest

from dot_orchestration.emulator.faults import FaultRule

from ._support import (
    ACTIVE_CUSTOMERS,
    METRICS,
    NRR,
    RESTRICTED,
    REVENUE,
    NoteHarness,
    failed_run_metadata,
    failure_of,
    materialization_metadata,
    sync_of,
)


def test_an_unknown_page_id_fails_clearly_and_the_other_pages_still_sync(
    notes: NoteHarness, dialect: str
) -> None:
    assert notes.run(sync_of(dialect=dialect, page_ids=[REVENUE])).success
    before = notes.synced_pages(dialect)

    result = notes.run(sync_of(dialect=dialect, page_ids=[REVENUE, NRR, "999999"]))

    assert not result.success
    description, _ = failure_of(result)
    assert "page 999999 was not found" in description
    assert "remove it from the selection" in description
    metadata = failed_run_metadata(result)  # what was synced is on the failure
    assert (metadata["dot/pages_synced"], metadata["dot/pages_unchanged"]) == (1, 1)
    assert metadata["dot/pages_failed"] == 1
    held = notes.synced_pages(dialect)
    assert held[REVENUE] == before[REVENUE] and NRR in held


def test_a_page_the_user_may_not_view_keeps_its_note(notes: NoteHarness, dialect: str) -> None:
    sync = sync_of(dialect=dialect, page_ids=[REVENUE, ACTIVE_CUSTOMERS])
    assert notes.run(sync).success
    before = notes.dot_state(dialect)
    notes.site.state.restrict_page(REVENUE, frozenset({"admin"}))  # the analyst lost access
    notes.clear_journal()

    result = notes.run(sync_of(dialect=dialect, page_ids=[REVENUE, ACTIVE_CUSTOMERS, RESTRICTED]))

    description, _ = failure_of(result)
    assert "page 100101: the Confluence user may not view it" in description
    assert "page 100500: the Confluence user may not view it" in description
    assert "grant them view permission" in description
    assert notes.dot_state(dialect) == before and notes.note_writes() == []


def test_malformed_storage_format_fails_that_page_and_keeps_its_last_good_note(
    notes: NoteHarness, dialect: str
) -> None:
    sync = sync_of(dialect=dialect, descendants_of=METRICS)
    assert notes.run(sync).success
    before = notes.synced_pages(dialect)
    cut_off = '<h1>NRR</h1><ac:structured-macro ac:name="code"><ac:plain-text-body><![CDATA[sel'
    notes.site.state.update_page(NRR, body=cut_off)
    notes.site.state.update_page(REVENUE, body="<h1>Revenue</h1><p>Net now.</p>")

    result = notes.run(sync)

    description, metadata = failure_of(result)
    assert "page 100103 ('Net revenue retention', version 4)" in description
    assert "storage format cannot be converted" in description and "offset" in description
    assert "repair the page in Confluence" in description
    held = notes.synced_pages(dialect)
    assert held[NRR] == before[NRR]
    assert held[REVENUE].startswith("# Revenue\n\nNet now.")
    assert metadata["dot/page_failures"].keys() == {NRR}


def test_a_cql_query_without_results_is_an_explicit_empty_result(notes: NoteHarness) -> None:
    result = notes.run(sync_of(cql='label = "no-such-label"'))

    assert result.success
    metadata = materialization_metadata(result)
    assert metadata["dot/pages_selected"] == 0 and metadata["dot/note_writes"] == 0
    assert metadata["dot/empty_sources"] == ["CQL 'label = \"no-such-label\"'"]
    assert notes.note_writes() == []


def test_an_empty_selection_never_empties_dot(notes: NoteHarness, dialect: str) -> None:
    assert notes.run(sync_of(dialect=dialect, descendants_of=METRICS)).success
    before = notes.dot_state(dialect)
    renamed = sync_of(dialect=dialect, cql='label = "metrics-renamed"')

    refused = notes.run(renamed)
    description, _ = failure_of(refused)
    assert "matched no pages, so the 3 page(s) with notes in Dot were left alone" in description
    assert "allow_empty_selection=True" in description
    assert notes.dot_state(dialect) == before

    removing = {"on_removed": "deactivate"} if dialect == "org_notes" else {}
    meant = notes.run(renamed.model_copy(update={"allow_empty_selection": True, **removing}))
    assert meant.success and notes.synced_pages(dialect) == {}


@pytest.mark.parametrize("flavour", ["cloud", "datacenter"])
def test_a_missing_parent_page_stops_the_run_before_any_write(
    notes: NoteHarness, flavour: str
) -> None:
    notes.flavour = flavour
    assert notes.run(sync_of(descendants_of=METRICS)).success
    before = notes.all_notes()
    notes.clear_journal()

    result = notes.run(sync_of(descendants_of=[METRICS, "424242"]))

    description, _ = failure_of(result)
    assert "could not be resolved, so nothing was written" in description
    assert "424242" in description and "fix descendants_of" in description
    assert notes.all_notes() == before and notes.journal() == []


def test_invalid_cql_stops_the_run_with_confluences_explanation(notes: NoteHarness) -> None:
    result = notes.run(sync_of(cql="label = metrics OR label = dot"))

    description, _ = failure_of(result)
    assert "could not be resolved, so nothing was written" in description
    assert "HTTP 400" in description


def test_an_org_note_with_an_unclosed_block_is_not_touched(notes: NoteHarness) -> None:
    broken = f'Intro\n\n<faq confluence_page_url="{notes.site.url}/pages/1">\n\nno end'
    notes.human().save_note(broken)

    result = notes.run(sync_of(dialect="single_note", page_ids=[REVENUE]))

    description, _ = failure_of(result)
    assert "managed block that is not closed" in description and "line 3" in description
    assert notes.org_note() == broken


def test_a_dot_error_writing_one_page_fails_that_page_only(notes: NoteHarness) -> None:
    assert notes.run(sync_of(page_ids=[REVENUE])).success
    notes.site.state.update_page(REVENUE, body="<h1>Revenue</h1><p>v2</p>")
    notes.dot.state.faults = [
        FaultRule(method="PUT", path="/api/org_notes/*", kind="status", status=500)
    ]

    # One attempt (a 500 is transient, so the default would retry it, failing each time).
    result = notes.run(sync_of(page_ids=[REVENUE, ACTIVE_CUSTOMERS], step_retries=0))

    description, _ = failure_of(result)
    assert "page 100101: writing its notes failed" in description and "500" in description
    assert failed_run_metadata(result)["dot/pages_synced"] == 1
    held = notes.synced_pages("org_notes")
    assert held[ACTIVE_CUSTOMERS].startswith("# Active customers")
    assert "v2" not in held[REVENUE]  # the old note, untouched
