"""Which atomic notes are ours, what to write, and whether Dot's listing shows a write."""

from __future__ import annotations

from dot_orchestration.client import OrgNote
from dot_orchestration.transforms.note_parts import content_hash, render_owned_note
from dot_orchestration.transforms.org_notes import (
    NoteWrite,
    OwnedNote,
    RecordedNote,
    held_version,
    left_behind,
    next_record,
    owned_notes,
    plan_page,
    plan_removal,
    record_from_json,
    record_to_json,
    verify_writes,
)

PREFIX = "[Confluence]"
TEXT = render_owned_note("# Revenue\n\nNet of refunds.", "101", 1, 1, version=23)
STRIPPED = "# Revenue\n\nNet of refunds.\n\n"  # as a Dot that drops HTML comments stores it


def note(note_id: str, text: str, title: str = "[Confluence] Revenue", **extra: object) -> OrgNote:
    return OrgNote.model_validate({"id": note_id, "title": title, "note": text, **extra})


def recorded(text: str = TEXT, stored: str = STRIPPED, version: int = 23) -> RecordedNote:
    title = "[Confluence] Revenue"
    return RecordedNote(
        "101", 1, 1, version, content_hash(title, text), content_hash(title, stored)
    )


def test_ownership_by_marker_or_by_record_and_prefix_only() -> None:
    notes = [
        note("a", TEXT),  # marker
        note("b", STRIPPED),  # no marker, recorded
        note("c", STRIPPED),  # no marker, not recorded: a lookalike
        note("d", STRIPPED, title="Revenue (renamed by hand)"),  # recorded, prefix gone
    ]
    record = {"b": recorded(), "d": recorded()}

    owned = owned_notes(notes, record, PREFIX)

    assert [o.note.id for o in owned["101"]] == ["a", "b"]


def test_a_recorded_note_holds_its_version_until_someone_edits_it() -> None:
    record = {"b": recorded()}
    [kept] = owned_notes([note("b", STRIPPED)], record, PREFIX)["101"]
    [edited] = owned_notes([note("b", STRIPPED + "Hand edit.")], record, PREFIX)["101"]

    assert held_version([kept]) == 23
    assert held_version([edited]) is None


def test_no_op_without_the_marker_plans_no_write() -> None:
    [owned] = owned_notes([note("b", STRIPPED)], {"b": recorded()}, PREFIX)["101"]
    writes = plan_page(
        "# Revenue\n\nNet of refunds.",
        page_id="101",
        page_title="Revenue",
        version=23,
        title_prefix=PREFIX,
        owned=[owned],
        on_removed="keep",
    )
    assert [w.action for w in writes] == ["keep"]


def test_a_lost_create_is_adopted_only_by_exact_title_and_text() -> None:
    lookalike = note("h", "# Revenue\n\nWritten by hand.")
    twin = note("t", STRIPPED)
    unowned = [lookalike, twin]
    writes = plan_page(
        "# Revenue\n\nNet of refunds.",
        page_id="101",
        page_title="Revenue",
        version=23,
        title_prefix=PREFIX,
        owned=[],
        on_removed="keep",
        unowned=unowned,
    )
    assert [(w.action, w.note_id) for w in writes] == [("keep", "t")]
    assert unowned == [lookalike]


def test_removal_policies() -> None:
    owned = [
        OwnedNote(note("a", TEXT, active=True), recorded().key),
        OwnedNote(note("b", TEXT, active=False), recorded().key),
        OwnedNote(note("c", TEXT), recorded().key),  # Dot did not say: counts as active
    ]
    assert plan_removal(owned, "keep") == []
    assert [w.note_id for w in plan_removal(owned, "deactivate")] == ["a", "c"]
    assert [w.note_id for w in plan_removal(owned, "delete")] == ["a", "b", "c"]


def test_verify_matches_creates_to_new_notes_and_flags_ignored_writes() -> None:
    create = NoteWrite("create", None, "[Confluence] Revenue", TEXT, recorded().key)
    update = NoteWrite("update", "u", "[Confluence] NRR", "NRR v2", recorded().key)
    deactivate = NoteWrite("update", "d", "[Confluence] Old", "old", recorded().key, active=False)
    delete = NoteWrite("delete", "x", "[Confluence] Gone", "gone", None)
    after = [
        note("u", "NRR v1", title="[Confluence] NRR"),  # the update did not take
        note("d", "old", title="[Confluence] Old"),  # no `active` field: not observed
        note("x", "gone", title="[Confluence] Gone"),  # still listed
        note("new", STRIPPED),  # the create, marker dropped
    ]
    sent = [("101", create, None), ("102", update, "u"), ("103", deactivate, "d")]

    verified = verify_writes([*sent, ("104", delete, "x")], ["u", "d", "x"], after)

    assert verified.notes == {0: after[3]}
    assert [(p.page_id, p.observed) for p in verified.problems] == [
        ("102", "note u titled '[Confluence] NRR', no active field, a different text"),
        ("103", "note d titled '[Confluence] Old', no active field, the text sent"),
        ("104", "note x still listed"),
    ]
    assert "listed with active: false" in verified.problems[1].expected
    assert "Dot's UI" in verified.problems[1].next_step


def test_the_record_follows_writes_and_keeps_entries_of_unmarked_notes() -> None:
    create = NoteWrite("create", None, "[Confluence] Revenue", TEXT, recorded().key)
    after = [note("new", STRIPPED), note("old", "edited by hand", title="[Confluence] NRR")]
    old_entry = RecordedNote("103", 1, 1, 3, "w", "s")

    record = next_record(after, {"old": old_entry}, {"new": create}, PREFIX)

    assert record == {"new": recorded(), "old": old_entry}
    assert record_from_json(record_to_json(record)) == record
    assert record_from_json({"x": {"page_id": "bad id!"}, "y": "nonsense"}) == {}
    assert record_from_json("not json") == {}


def test_left_behind_lists_removed_pages_and_parts_a_page_no_longer_has() -> None:
    def part(note_id: str, page: str, index: int, parts: int, version: int) -> OwnedNote:
        text = render_owned_note("x", page, index, parts, version=version)
        [owned] = owned_notes([note(note_id, text)], {}, PREFIX)[page]
        return owned

    shrunk = [part("p1", "101", 1, 1, 24), part("p2", "101", 2, 2, 23)]
    gone = [part("g1", "102", 1, 1, 5)]

    left = left_behind({"101": shrunk, "102": gone}, ["101"])

    assert {page: [o.note.id for o in notes] for page, notes in left.items()} == {
        "101": ["p2"],
        "102": ["g1"],
    }
    assert held_version(shrunk) == 24  # the leftover part does not make the page stale
