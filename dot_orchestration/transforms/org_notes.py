"""Atomic org notes (``/api/org_notes``): which notes are ours, what to write, did it take.

Pure functions over the notes Dot lists, no HTTP and no Dagster, so the rules that decide
what is written to Dot, and what a run may claim it did, can be read and tested on their own.

**Ownership.** A note is ours when its text ends with our marker (`owned_note_key`), or,
because Dot keeps notes as Markdown files in git and may drop an HTML comment, when the
*ownership record* of the last run names its id and its title still starts with the sync's
title prefix. The record (`OwnershipRecord`, kept by the caller, e.g. in the Dagster
asset's last materialization) holds, per note id, the page/part/version the note was
written for and two hashes: of what was sent, and of what Dot stored. A note Dot still
holds exactly as stored is current and unchanged without its marker; one edited since (the
stored hash differs) is re-rendered like any stale note.

**Writing.** `plan_page` turns a page's rendered parts into creates, updates and keeps;
`plan_removal` decides what happens to the notes of a page that left the selection:
``keep`` (the default: nothing is written, the notes are reported for a person to delete
or deactivate in Dot), ``deactivate`` (a PUT with ``active: false``, undocumented; never
sent again for a note Dot already lists as inactive) or ``delete`` (the undocumented
``DELETE``).

**Verifying.** Dot documents neither the reply of a note write nor the effect of
``active`` or ``DELETE``. So a run lists the notes once after all its writes and
`verify_writes` compares: a create must show up as a new note with the title and text
sent (modulo the marker), an update likewise under its id, a deactivation as ``active:
false``, a deletion as the id gone. Anything else is a `WriteProblem` the caller raises as
`DotEffectNotObservedError`: no run reports an effect it did not observe.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Literal

from dot_orchestration.client import OrgNote
from dot_orchestration.transforms.note_parts import (
    OwnedNoteKey,
    content_hash,
    note_title,
    owned_note_key,
    render_owned_notes,
)

__all__ = [
    "NoteWrite",
    "OwnedNote",
    "OwnershipRecord",
    "RecordedNote",
    "RemovalPolicy",
    "VerifiedWrites",
    "WriteProblem",
    "held_version",
    "left_behind",
    "next_record",
    "owned_notes",
    "plan_page",
    "plan_removal",
    "record_from_json",
    "record_to_json",
    "verify_writes",
]

RemovalPolicy = Literal["keep", "deactivate", "delete"]
_MARKER_LINE = re.compile(r"^[ \t]*<!-- dot-orchestration:confluence [^\n]*-->[ \t]*$", re.M)


@dataclass(frozen=True)
class RecordedNote:
    """What a run left in one note: the page part it holds, and hashes (`content_hash` of
    title and text) of what was sent and of what Dot stored."""

    page_id: str
    part: int
    parts: int
    version: int | None
    written_hash: str
    stored_hash: str

    @property
    def key(self) -> OwnedNoteKey:
        return OwnedNoteKey(self.page_id, self.part, self.parts, self.version)


#: Note id → what the last run recorded about it.
OwnershipRecord = Mapping[str, RecordedNote]


def record_to_json(record: OwnershipRecord) -> dict[str, dict[str, object]]:
    """The record as plain JSON (note id → fields), sorted for stable metadata."""
    return {note_id: asdict(record[note_id]) for note_id in sorted(record)}


def record_from_json(data: object) -> dict[str, RecordedNote]:
    """A record written by `record_to_json`; anything unreadable counts as no record, so a
    damaged record can only make a run claim fewer notes, never more."""
    if isinstance(data, str):
        try:
            data = json.loads(data)
        except ValueError:
            return {}
    if not isinstance(data, Mapping):
        return {}
    record: dict[str, RecordedNote] = {}
    for note_id, fields in data.items():
        try:
            entry = RecordedNote(**fields)
            entry.key  # noqa: B018 - validates page id, part and version
        except (TypeError, ValueError):
            continue
        record[str(note_id)] = entry
    return record


@dataclass(frozen=True)
class OwnedNote:
    """A note of ours as Dot lists it; `recorded` is its record entry, if any."""

    note: OrgNote
    key: OwnedNoteKey
    recorded: RecordedNote | None = None

    @property
    def active(self) -> bool:
        """Listed as active, or without an `active` field (Dot's documented listing)."""
        return self.note.active is not False

    @property
    def current_version(self) -> int | None:
        """The page version the note holds: the marker's, else the record's while the note
        is as Dot stored it after our write (a human edit makes it unknown)."""
        if owned_note_key(self.note.note) is not None:
            return self.key.version
        return self.key.version if self.unedited else None

    @property
    def unedited(self) -> bool:
        return self.recorded is not None and self.recorded.stored_hash == _hash(self.note)


def owned_notes(
    notes: Sequence[OrgNote], record: OwnershipRecord, title_prefix: str
) -> dict[str, list[OwnedNote]]:
    """Our notes by page id, in Dot's order: by marker, else by record and title prefix."""
    owned: dict[str, list[OwnedNote]] = {}
    for note in notes:
        recorded = record.get(note.id)
        key = owned_note_key(note.note)
        if key is None and recorded is not None and note.title.startswith(title_prefix):
            key = recorded.key
        if key is not None:
            owned.setdefault(key.page_id, []).append(OwnedNote(note, key, recorded))
    return owned


def held_version(notes: Sequence[OwnedNote]) -> int | None:
    """The version a page's active notes hold: that of their newest render, if its parts
    1..N are all there and unedited (None otherwise). Older parts left in Dot (a page that
    shrank, with removal left to a person) do not make the page stale."""
    newest = _newest_render(notes)
    if not newest:
        return None
    parts, version = newest[0].key.parts, newest[0].key.version
    complete = [note.key.part for note in newest] == list(range(1, parts + 1))
    unedited = all(note.current_version == version for note in newest)
    return version if complete and unedited else None


def left_behind(
    owned: Mapping[str, Sequence[OwnedNote]], selected: Iterable[str]
) -> dict[str, list[OwnedNote]]:
    """Active notes of ours that no selected page needs: every note of a page that left the
    selection, and the notes outside the newest render of a selected page (parts it no
    longer has, copies)."""
    wanted = set(selected)
    left: dict[str, list[OwnedNote]] = {}
    for page_id, notes in owned.items():
        needed = {note.note.id for note in _newest_render(notes)} if page_id in wanted else set()
        extra = [note for note in notes if note.active and note.note.id not in needed]
        if extra:
            left[page_id] = extra
    return left


def _newest_render(notes: Sequence[OwnedNote]) -> list[OwnedNote]:
    """The active notes of the newest render (by the version and part count their keys
    claim), one per part, in part order."""
    active = [note for note in notes if note.active]
    if not active:
        return []
    newest = max((note.key.version or 0, note.key.parts) for note in active)
    by_part: dict[int, OwnedNote] = {}
    for note in active:
        if (note.key.version or 0, note.key.parts) == newest:
            by_part.setdefault(note.key.part, note)
    return [by_part[part] for part in sorted(by_part)]


@dataclass(frozen=True)
class NoteWrite:
    """One call to `/api/org_notes`, or a note left as it is (``keep``).

    `key` is what the note holds afterwards (None for a deletion); `active` False asks Dot
    to deactivate it.
    """

    action: Literal["create", "update", "delete", "keep"]
    note_id: str | None
    title: str
    text: str
    key: OwnedNoteKey | None
    active: bool = True

    @property
    def calls_dot(self) -> bool:
        return self.action != "keep"


def plan_page(
    markdown: str,
    *,
    page_id: str,
    page_title: str,
    version: int,
    title_prefix: str,
    owned: Sequence[OwnedNote],
    on_removed: RemovalPolicy,
    unowned: list[OrgNote] | None = None,
) -> list[NoteWrite]:
    """Part N goes into the note keyed part N (an active one first); the page's other notes
    (parts it no longer has, copies) are treated as removed.

    A part with no note of ours adopts an `unowned` note that already holds exactly its
    title and text (marker aside), which is taken out of the list: that is a create whose
    answer was lost, made by a Dot that dropped the marker, so the retry does not make a
    second note. Anyone else's note differs in title or text and is never touched.
    """
    texts = render_owned_notes(markdown, page_id, version=version)
    by_part: dict[int, OwnedNote] = {}
    extras: list[OwnedNote] = []
    for note in sorted(owned, key=lambda owned_note: not owned_note.active):
        if note.key.part <= len(texts) and note.key.part not in by_part:
            by_part[note.key.part] = note
        else:
            extras.append(note)
    writes = []
    for part, text in enumerate(texts, 1):
        title = note_title(page_title, title_prefix, part, len(texts))
        key = OwnedNoteKey(page_id, part, len(texts), version)
        found = by_part.get(part)
        if found is None and (twin := _twin(unowned or [], title, text)) is not None:
            (unowned or []).remove(twin)
            writes.append(NoteWrite("keep", twin.id, title, text, key))
            continue
        writes.append(_part_write(found, title, text, key))
    return writes + plan_removal(extras, on_removed)


def _twin(notes: Sequence[OrgNote], title: str, text: str) -> OrgNote | None:
    same = (n for n in notes if n.active is not False and n.title == title)
    return next((n for n in same if _comparable(n.note) == _comparable(text)), None)


def _part_write(note: OwnedNote | None, title: str, text: str, key: OwnedNoteKey) -> NoteWrite:
    if note is None:
        return NoteWrite("create", None, title, text, key)
    action: Literal["update", "keep"] = "keep" if _holds(note, title, text) else "update"
    return NoteWrite(action, note.note.id, title, text, key)


def _holds(note: OwnedNote, title: str, text: str) -> bool:
    """The note already holds this title and text: verbatim, or as Dot stored our last
    write of exactly this text (unedited since)."""
    if not note.active or note.note.title != title:
        return False
    if note.note.note == text:
        return True
    recorded = note.recorded
    return (
        recorded is not None
        and note.unedited
        and recorded.written_hash == content_hash(title, text)
    )


def plan_removal(notes: Sequence[OwnedNote], on_removed: RemovalPolicy) -> list[NoteWrite]:
    """The writes for notes whose page left: none (``keep``), a deactivating PUT for each
    note not already listed inactive, or a DELETE for each."""
    if on_removed == "delete":
        return [NoteWrite("delete", n.note.id, n.note.title, n.note.note, None) for n in notes]
    if on_removed == "deactivate":
        return [
            NoteWrite("update", n.note.id, n.note.title, n.note.note, n.key, active=False)
            for n in notes
            if n.note.active is not False
        ]
    return []


@dataclass(frozen=True)
class WriteProblem:
    """A write Dot answered with a 2xx whose effect its listing does not show."""

    page_id: str
    expected: str
    observed: str
    next_step: str


@dataclass(frozen=True)
class VerifiedWrites:
    """What the listing after the writes shows: the note each observed write left (by its
    position in the `writes` given), and the problems."""

    notes: dict[int, OrgNote]
    problems: list[WriteProblem]


def verify_writes(
    writes: Sequence[tuple[str, NoteWrite, str | None]],
    before: Iterable[str],
    after: Sequence[OrgNote],
) -> VerifiedWrites:
    """Compare each `(page id, write, id Dot answered)` with the notes listed afterwards.

    `before` is the ids listed before the writes: a create is matched to a new id (the one
    Dot answered, when it answered one) with the title and text sent. Texts compare without
    our marker and trailing whitespace, since Dot may drop the comment or normalise them.
    """
    by_id = {note.id: note for note in after}
    new_ids = [note.id for note in after if note.id not in set(before)]
    found: dict[int, OrgNote] = {}
    problems: list[WriteProblem] = []
    for index, (page_id, write, answered_id) in enumerate(writes):
        if write.action == "keep":
            continue
        if write.action == "delete":
            if write.note_id in by_id:
                problems.append(_problem(page_id, write, by_id[write.note_id]))
            continue
        if write.action == "create":
            candidates = [answered_id] if answered_id else new_ids
            note = next(
                (by_id[i] for i in candidates if i in by_id and _took(write, by_id[i])), None
            )
            if note is not None and note.id in new_ids:
                new_ids.remove(note.id)
        else:
            listed = by_id.get(write.note_id or "")
            note = listed if listed is not None and _took(write, listed) else None
        if note is None:
            listed = by_id.get(write.note_id or answered_id or "")
            problems.append(_problem(page_id, write, listed))
        else:
            found[index] = note
    return VerifiedWrites(found, problems)


def _took(write: NoteWrite, note: OrgNote) -> bool:
    if note.title != write.title or _comparable(note.note) != _comparable(write.text):
        return False
    return note.active is False if not write.active else note.active is not False


def _comparable(text: str) -> str:
    without_marker = _MARKER_LINE.sub("", text)
    return "\n".join(line.rstrip() for line in without_marker.strip().splitlines())


def _problem(page_id: str, write: NoteWrite, listed: OrgNote | None) -> WriteProblem:
    asked = {
        "create": f"a new note {write.title!r} with the text sent",
        "update": f"note {write.note_id} titled {write.title!r} with the text sent",
        "delete": f"note {write.note_id} gone",
    }[write.action]
    if write.action == "update" and not write.active:
        asked = f"note {write.note_id} ({write.title!r}) listed with active: false"
    if listed is None:
        seen = "no such note" if write.action != "delete" else "it listed"
    elif write.action == "delete":
        seen = f"note {listed.id} still listed"
    else:
        active = "no active field" if listed.active is None else f"active: {listed.active}"
        same_text = _comparable(listed.note) == _comparable(write.text)
        seen = (
            f"note {listed.id} titled {listed.title!r}, {active}, "
            f"{'the text sent' if same_text else 'a different text'}"
        )
    if write.action == "delete" or not write.active:
        step = (
            "Dot's API documents no deactivation or deletion of notes: deactivate or delete "
            "the note in Dot's UI (or `dot notes deactivate <id>`), or set on_removed='keep' "
            "(the default) and leave removed pages' notes to a person"
        )
    else:
        step = (
            "open the note in Dot: if Dot changes notes on save, the sync cannot tell its "
            "write took; re-materialize once, and report the difference if it stays"
        )
    return WriteProblem(page_id, asked, seen, step)


def next_record(
    after: Sequence[OrgNote],
    previous: OwnershipRecord,
    written: Mapping[str, NoteWrite],
    title_prefix: str,
) -> dict[str, RecordedNote]:
    """The record to keep after a run: every note of ours Dot lists now (`after`).

    `written` maps the id of each note a write of this run was observed in to that write.
    Such a note records the write and what Dot stored; one owned by its marker records
    itself; one owned only by the record keeps its entry, so a later human edit still shows.
    """
    provisional = dict(previous)
    for note in after:
        write = written.get(note.id)
        if write is not None and write.key is not None:
            key = write.key
            provisional[note.id] = RecordedNote(
                key.page_id,
                key.part,
                key.parts,
                key.version,
                content_hash(write.title, write.text),
                _hash(note),
            )
    record: dict[str, RecordedNote] = {}
    for notes in owned_notes(after, provisional, title_prefix).values():
        for owned in notes:
            if owned.note.id in written or owned_note_key(owned.note.note) is None:
                if owned.recorded is not None:
                    record[owned.note.id] = owned.recorded
                continue
            digest = _hash(owned.note)
            key = owned.key
            record[owned.note.id] = RecordedNote(
                key.page_id, key.part, key.parts, key.version, digest, digest
            )
    return record


def _hash(note: OrgNote) -> str:
    return content_hash(note.title, note.note)
