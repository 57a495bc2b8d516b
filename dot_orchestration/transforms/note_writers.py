"""Writing rendered Confluence pages into Dot's notes, in both dialects, and reporting it.

Plain Python over `DotClient`, no Dagster: a note sync run (`transforms.note_sync`) reads
and renders pages, then hands them to a `NoteWriter`, which re-reads Dot, writes, reads
back what it wrote and fills a `NoteReport` the orchestrator turns into metadata and
failures.

- `OrgNotesWriter` (dialect ``org_notes``): Dot's current atomic notes (``/api/org_notes``).
  Which notes are ours and what to write is decided in `transforms.org_notes`; this makes
  the calls, lists the notes once after them and fails each page whose writes Dot did not
  carry out (`DotEffectNotObservedError`).
- `SingleNoteWriter` (dialect ``single_note``): Dot's 2024 API's single org note (``GET
  /api/org`` + ``POST /api/save_note``), one managed block per page, read back after saving.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal, Protocol

from dot_orchestration.client import DotClient, DotEffectNotObservedError, DotError, OrgNote
from dot_orchestration.confluence import ConfluencePage
from dot_orchestration.transforms.note_blocks import merge_managed_blocks, parse_managed_blocks
from dot_orchestration.transforms.note_parts import OwnedNoteKey, owned_note_key, render_owned_note
from dot_orchestration.transforms.org_notes import (
    NoteWrite,
    OwnedNote,
    OwnershipRecord,
    RemovalPolicy,
    WriteProblem,
    held_version,
    left_behind,
    next_record,
    owned_notes,
    plan_page,
    plan_removal,
    verify_writes,
)

__all__ = [
    "NoteReport",
    "NoteWriter",
    "OrgNotesWriter",
    "PageFailure",
    "PageOutcome",
    "RenderedPage",
    "SingleNoteWriter",
]


PageOutcome = Literal["synced", "unchanged", "removed", "left in Dot", "not requested", "failed"]


@dataclass(frozen=True)
class RenderedPage:
    """A page read from Confluence with its body as Markdown, ready to write."""

    page: ConfluencePage
    markdown: str


@dataclass(frozen=True)
class PageFailure:
    """Why a page could not be synced; `keeps_notes` is False only when Confluence says the
    page is gone, so its notes leave Dot as any removed page's do. `error` is the typed
    error, kept so the step's failure can chain it and tell whether a retry may help."""

    message: str
    error: Exception
    keeps_notes: bool = True


@dataclass
class NoteReport:
    """What a run did to each page, and the Dot notes that hold each page afterwards."""

    outcomes: dict[str, PageOutcome] = field(default_factory=dict)
    failures: dict[str, PageFailure] = field(default_factory=dict)
    note_ids: dict[str, list[str]] = field(default_factory=dict)
    writes: int = 0
    #: Notes whose page left the selection, left in Dot (`on_removed="keep"`), by note id.
    left: dict[str, dict[str, str]] = field(default_factory=dict)
    #: org_notes: the ownership record to keep (None: the dialect keeps none).
    record: OwnershipRecord | None = None
    #: org_notes: Dot dropped our marker from a note written in this run.
    marker_stripped: bool = False

    def fail(self, page_id: str, failure: PageFailure) -> None:
        self.outcomes[page_id] = "failed"
        self.failures[page_id] = failure

    def left_in_dot(self, page_id: str, notes: Sequence[OrgNote], removed: bool) -> None:
        """Notes no selected page needs, left in Dot (nothing is written): reported for a
        person. `removed`: the page itself left the selection (or Confluence)."""
        if removed and notes:
            self.outcomes[page_id] = "left in Dot"
        self.left.update((note.id, {"page_id": page_id, "title": note.title}) for note in notes)


# --------------------------------------------------------------------------- the two dialects


class NoteWriter(Protocol):
    """One Dot note dialect: read which versions the notes hold, and write pages."""

    def held_versions(self, dot: DotClient) -> dict[str, int | None]:
        """Page id → the version its active notes hold (None: incomplete or unversioned);
        pages without an active note are absent."""
        ...

    def held_and_left(
        self, dot: DotClient, selected: Iterable[str]
    ) -> tuple[dict[str, int | None], dict[str, list[str]]]:
        """`held_versions`, and page id → the active notes of ours no selected page needs
        (see `transforms.org_notes.left_behind`), each as `"<note id>: <title>"` for a
        person; from one read of Dot."""
        ...

    def write(
        self, dot: DotClient, pages: Sequence[RenderedPage], keep: set[str], report: NoteReport
    ) -> None:
        """Re-read Dot, write `pages`, remove the notes of owned pages not in `keep`."""
        ...


@dataclass(frozen=True)
class OrgNotesWriter:
    """Current dialect: each page as one or more atomic notes. Which notes are ours and
    what to write is decided in `transforms.org_notes`; this class makes the calls, lists
    the notes once after them and fails each page whose writes Dot did not carry out."""

    title_prefix: str
    on_removed: RemovalPolicy
    record: OwnershipRecord

    def held_versions(self, dot: DotClient) -> dict[str, int | None]:
        return _versions(self._owned(dot.list_org_notes()))

    def held_and_left(
        self, dot: DotClient, selected: Iterable[str]
    ) -> tuple[dict[str, int | None], dict[str, list[str]]]:
        owned = self._owned(dot.list_org_notes())
        left = {
            page_id: [f"{note.note.id}: {note.note.title}" for note in notes]
            for page_id, notes in left_behind(owned, selected).items()
        }
        return _versions(owned), left

    def write(
        self, dot: DotClient, pages: Sequence[RenderedPage], keep: set[str], report: NoteReport
    ) -> None:
        before = dot.list_org_notes()
        owned = self._owned(before)
        ours = {note.note.id for notes in owned.values() for note in notes}
        unowned = [note for note in before if note.id not in ours]
        planned: dict[str, list[NoteWrite]] = {}
        for rendered in pages:
            page = rendered.page
            planned[page.id] = plan_page(
                rendered.markdown,
                page_id=page.id,
                page_title=page.title,
                version=page.version,
                title_prefix=self.title_prefix,
                owned=owned.pop(page.id, []),
                on_removed=self.on_removed,
                unowned=unowned,
            )
        for page_id, notes in owned.items():
            if page_id in keep:
                report.note_ids[page_id] = [note.note.id for note in notes if note.active]
            elif self.on_removed != "keep":
                planned[page_id] = plan_removal(notes, self.on_removed)
        sent = self._send(dot, planned, report)
        after = dot.list_org_notes() if sent else before
        verified = verify_writes(sent, [note.id for note in before], after)
        for problem in verified.problems:
            _not_observed(report, problem)
        observed = {index: sent[index] for index in verified.notes}
        for index, (page_id, write, _) in observed.items():
            if write.key is not None and write.active:
                report.note_ids.setdefault(page_id, []).append(verified.notes[index].id)
        written = {verified.notes[i].id: write for i, (_, write, _) in observed.items()}
        written.update(
            (write.note_id, write)
            for writes in planned.values()
            for write in writes
            if write.action == "keep" and write.note_id
        )
        report.record = next_record(after, self.record, written, self.title_prefix)
        if self.on_removed == "keep":
            left = left_behind(owned_notes(after, report.record, self.title_prefix), keep)
            for page_id, notes in left.items():
                report.left_in_dot(page_id, [note.note for note in notes], page_id not in keep)
        report.marker_stripped = any(
            owned_note_key(verified.notes[i].note) is None and w.key is not None and w.active
            for i, (_, w, _) in observed.items()
        )

    def _send(
        self, dot: DotClient, planned: Mapping[str, Sequence[NoteWrite]], report: NoteReport
    ) -> list[tuple[str, NoteWrite, str | None]]:
        """Make each page's calls; a Dot error fails that page only. Returns every call
        Dot accepted, with the note id it answered (if it answered one), for verifying."""
        sent: list[tuple[str, NoteWrite, str | None]] = []
        for page_id, writes in planned.items():
            accepted: list[tuple[str, NoteWrite, str | None]] = []
            try:
                for write in (write for write in writes if write.calls_dot):
                    accepted.append((page_id, write, _call(dot, write)))
                    report.writes += 1
            except DotError as error:
                message = f"page {page_id}: writing its notes failed: {error}"
                report.fail(page_id, PageFailure(message, error))
            sent += accepted
            if page_id in report.failures:
                continue
            removing = all(write.key is None or not write.active for write in writes)
            changed = any(write.calls_dot for write in writes)
            report.outcomes[page_id] = (
                ("removed" if removing else "synced") if changed else "unchanged"
            )
            report.note_ids.setdefault(page_id, [])
            report.note_ids[page_id] += [
                w.note_id for w in writes if w.action == "keep" and w.note_id
            ]
        return sent

    def _owned(self, notes: Sequence[OrgNote]) -> dict[str, list[OwnedNote]]:
        return owned_notes(notes, self.record, self.title_prefix)


def _versions(owned: Mapping[str, Sequence[OwnedNote]]) -> dict[str, int | None]:
    """Page id → the version its notes hold, for pages with an active note of ours."""
    return {
        page_id: held_version(notes)
        for page_id, notes in owned.items()
        if any(note.active for note in notes)
    }


def _call(dot: DotClient, write: NoteWrite) -> str | None:
    """One `/api/org_notes` call; the id of the note Dot answered, if it answered one."""
    if write.action == "create":
        created = dot.create_org_note(write.title, write.text)
        return None if created is None else created.id
    if write.action == "delete":
        dot.delete_org_note(write.note_id or "")
    else:
        dot.update_org_note(write.note_id or "", write.title, write.text, active=write.active)
    return write.note_id


def _not_observed(report: NoteReport, problem: WriteProblem) -> None:
    """A page whose writes Dot accepted without their effect showing: it fails, naming
    what was asked, what Dot lists and what to do."""
    error = DotEffectNotObservedError(
        f"page {problem.page_id}: Dot answered 2xx but does not show the write: expected "
        f"{problem.expected}; Dot lists {problem.observed}. Next: {problem.next_step}.",
        expected={problem.page_id: problem.expected},
        observed={problem.page_id: problem.observed},
    )
    report.outcomes.pop(problem.page_id, None)
    report.fail(problem.page_id, PageFailure(str(error), error))


@dataclass(frozen=True)
class SingleNoteWriter:
    """The ``single_note`` dialect: one managed block per page in the org note, keyed by the page
    URL Dot's own script uses (`{site}/pages/{id}`, stable across renames and moves), so a
    block that script wrote is updated in place, not duplicated. A block is ours when it
    ends with our marker for the page its URL names."""

    site: str

    def url(self, page_id: str) -> str:
        return f"{self.site}/pages/{page_id}"

    def held_versions(self, dot: DotClient) -> dict[str, int | None]:
        note = dot.get_org().note or ""
        return {page_id: key.version for page_id, key in self._owned(note).items()}

    def held_and_left(
        self, dot: DotClient, selected: Iterable[str]
    ) -> tuple[dict[str, int | None], dict[str, list[str]]]:
        org = dot.get_org()
        owned = self._owned(org.note or "")
        left = set(owned).difference(selected)
        held = {page_id: key.version for page_id, key in owned.items()}
        return held, {page_id: [f"{org.id}: block {self.url(page_id)}"] for page_id in left}

    def write(
        self, dot: DotClient, pages: Sequence[RenderedPage], keep: set[str], report: NoteReport
    ) -> None:
        org = dot.get_org()  # re-read right before saving: keep what changed meanwhile
        note = org.note or ""
        owned = self._owned(note)
        removed = [page_id for page_id in owned if page_id not in keep]
        blocks: dict[str, str | None] = {self.url(page_id): None for page_id in removed}
        for rendered in pages:
            page = rendered.page
            blocks[self.url(page.id)] = render_owned_note(
                rendered.markdown, page.id, 1, 1, version=page.version
            )
        merged = merge_managed_blocks(note, blocks)
        if merged.changed:
            dot.save_note(merged.note, org_id=org.id)
            report.writes += 1
        changed = {*merged.added, *merged.updated}
        for rendered in pages:
            synced = self.url(rendered.page.id) in changed
            report.outcomes[rendered.page.id] = "synced" if synced else "unchanged"
        report.outcomes.update((page_id, "removed") for page_id in removed)
        held = {*(page_id for page_id in owned if page_id in keep), *(p.page.id for p in pages)}
        report.note_ids.update((page_id, [org.id]) for page_id in held)
        if merged.changed:
            self._verify(dot, merged.note, [*changed, *merged.removed], report)

    def _verify(self, dot: DotClient, sent: str, urls: Sequence[str], report: NoteReport) -> None:
        """Re-read the org note: Dot documents no reply to `save_note`, so the pages it
        wrote count only if the note now holds the text sent (trailing whitespace aside)."""
        stored = dot.get_org().note or ""
        if stored.rstrip() == sent.rstrip():
            return
        pages = [url.rpartition("/pages/")[2] for url in urls]
        error = DotEffectNotObservedError(
            f"Dot answered 2xx to save_note, but the org note it holds now is not the text "
            f"sent ({len(stored)} characters, {len(sent)} sent), so the blocks of pages "
            f"{', '.join(pages)} are not known to be written. Next: compare the org note "
            "in Dot with the run's pages; re-materialize once, and report the difference "
            "if it stays.",
            expected={page: "the block sent" for page in pages},
            observed={page: f"an org note of {len(stored)} characters" for page in pages},
        )
        for page_id in pages:
            report.outcomes.pop(page_id, None)
            report.fail(page_id, PageFailure(str(error), error))

    def _owned(self, note: str) -> dict[str, OwnedNoteKey]:
        owned: dict[str, OwnedNoteKey] = {}
        for url, markdown in parse_managed_blocks(note).items():
            key = owned_note_key(markdown)
            if key is not None and url == self.url(key.page_id):
                owned[key.page_id] = key
        return owned
