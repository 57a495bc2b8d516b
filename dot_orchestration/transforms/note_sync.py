"""One Confluence → Dot note sync, run without an orchestrator.

Teams keep metric definitions, FAQs and playbooks in Confluence. One `ConfluenceNoteSync`
names the pages (ids, descendants of parents, CQL, spaces) and the Dot note dialect:

- ``org_notes`` (current, default): one atomic note per page, titled after it, updated in
  place, split into numbered notes at heading boundaries past Dot's ~50,000 characters.
  A page that leaves the selection or is deleted keeps its notes, reported for a person
  (Dot's API documents no removal); deactivating or deleting them is a verified opt-in.
- ``single_note`` (Dot's 2024 API): one managed ``<faq confluence_page_url="…">`` block per
  page in the single org note (``GET /api/org`` + ``POST /api/save_note``); every byte
  outside the blocks is kept.

`run_note_sync` is the whole run over two open clients: read Dot to plan, read and convert
the pages that need it (the slow part, a few at a time), re-read Dot right before writing
and merge into that fresh copy, so a human edit made meanwhile survives. It imports no
orchestrator: Dagster's asset (`dot_orchestration.notes`) and any other scheduler call it
and turn a `NoteSyncError` into their own failure, retried only when `retryable`.

Ownership is proven by the marker line `render_owned_note` ends every note (or block) with,
never by a title alone. Dot keeps notes as Markdown files in git and does not document
whether an HTML comment survives, so every ``org_notes`` run also returns the notes it owns
(`NoteReport.record`: ids, page parts, hashes); the caller stores it and hands it to the
next run, which treats a note as ours when that record names it and its title keeps the
prefix (`transforms.org_notes`). The marker does not name the sync, so run one Confluence
note sync per Dot environment.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal, Protocol, TypeVar

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from dot_orchestration._lazy import LazyModule
from dot_orchestration.client import (
    DotClient,
    DotError,
    DotRateLimitError,
    DotServerError,
    DotTransportError,
)
from dot_orchestration.confluence import (
    ConfluenceClient,
    ConfluenceError,
    ConfluenceNotFoundError,
    ConfluencePermissionError,
    ConfluenceRateLimitError,
    ConfluenceServerError,
    ConfluenceTransportError,
    PageSelection,
    SelectedPages,
    select_pages,
)
from dot_orchestration.transforms.note_blocks import MalformedNoteError
from dot_orchestration.transforms.note_writers import (
    NoteReport,
    NoteWriter,
    OrgNotesWriter,
    PageFailure,
    RenderedPage,
    SingleNoteWriter,
)
from dot_orchestration.transforms.org_notes import OwnershipRecord, RemovalPolicy

if TYPE_CHECKING:
    from dot_orchestration.transforms import storage_markdown
else:  # bs4 and markdownify on first use, not when definitions load (`_lazy`)
    storage_markdown = LazyModule(
        "dot_orchestration.transforms.storage_markdown", globals(), "storage_markdown"
    )

__all__ = [
    "TRANSIENT_ERRORS",
    "ConfluenceNoteSync",
    "Dialect",
    "NoteRun",
    "NoteSyncError",
    "check_note_sync",
    "not_current",
    "run_note_sync",
]

#: Failures a later attempt can overcome: no usable answer (dropped, timed out), a 5xx or
#: a 429 that outlasted the client's own retries, from Dot or Confluence. Everything else
#: (a refused or under-privileged token, a rejected request, an answer Dot or a proxy
#: garbled the same way each time, a bad page) would fail again, so it fails at once.
TRANSIENT_ERRORS: tuple[type[Exception], ...] = (
    DotTransportError,
    DotServerError,
    DotRateLimitError,
    ConfluenceTransportError,
    ConfluenceServerError,
    ConfluenceRateLimitError,
)

Dialect = Literal["org_notes", "single_note"]
_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_]*")
T = TypeVar("T")


class ConfluenceNoteSync(BaseModel):
    """One Confluence → Dot note sync, checked when the definitions load.

    `on_removed` applies to ``org_notes``: ``keep`` (default) leaves a removed page's notes
    in Dot and reports them (metadata `dot/notes_left_in_dot` and the warning check
    `no_note_outlives_its_page`), because Dot's API documents no way to deactivate or
    delete a note; ``deactivate`` (the undocumented `active` field) and ``delete`` (the
    undocumented DELETE) are opt-ins whose effect each run verifies, failing when Dot
    ignored them. In the ``single_note`` dialect a removed page's block is taken out.
    `allow_empty_selection`: by default a selection that finds no page at all removes
    nothing and fails, because a query gone wrong must not empty Dot's knowledge.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = Field(default="confluence", description="Names the asset, job, sensor.")
    selection: PageSelection
    dialect: Dialect = "org_notes"
    title_prefix: str = Field(default="[Confluence]", description="org_notes: title prefix.")
    on_removed: RemovalPolicy | None = None
    allow_empty_selection: bool = False
    description: str | None = None
    owners: tuple[str, ...] = ()
    step_retries: int = Field(
        default=3,
        ge=0,
        description="Times the orchestrator runs the sync again after a transient failure "
        "(Dot or Confluence unavailable, a note create whose answer was lost); 0: never.",
    )
    step_retry_delay_s: float = Field(
        default=5.0,
        ge=0,
        description="Wait before the first retry; the next ones wait 3 and 7 times it.",
    )

    @field_validator("name")
    @classmethod
    def _key_safe_name(cls, name: str) -> str:
        if not _NAME.fullmatch(name):
            raise ValueError(
                f"name {name!r} must start with a letter and hold only letters, digits and _ "
                "(it becomes part of the asset key and the job name)"
            )
        return name

    @model_validator(mode="after")
    def _options_fit_the_dialect(self) -> ConfluenceNoteSync:
        if self.dialect == "single_note":
            misplaced = sorted({"on_removed", "title_prefix"} & self.model_fields_set)
            if misplaced:
                raise ValueError(
                    f"Confluence note sync {self.name!r}: {', '.join(misplaced)} only apply to "
                    "dialect 'org_notes'; the single_note dialect (one org note) has no "
                    "titles and no deactivation (a removed page's block is taken out). "
                    "Remove them."
                )
        return self

    @property
    def removal(self) -> RemovalPolicy:
        return self.on_removed or "keep"

    def writer(self, site: str, record: OwnershipRecord) -> NoteWriter:
        """The writer of this sync's dialect; `site` keys the single note's blocks."""
        if self.dialect == "single_note":
            return SingleNoteWriter(site)
        return OrgNotesWriter(self.title_prefix, self.removal, record)


class NoteSyncError(Exception):
    """A run that failed, saying what happened and the fix; `cause` is the typed error
    behind it (None: bad input). `details` are per-page facts for the failure's metadata.
    `report`, when set, is what the run did before failing: pages written, the ownership
    record to keep."""

    def __init__(
        self,
        message: str,
        cause: BaseException | None,
        *,
        details: Mapping[str, Mapping[str, str]] | None = None,
        run: NoteRun | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.cause = cause
        self.details = dict(details or {})
        self.run = run

    @property
    def retryable(self) -> bool:
        """Whether another attempt may succeed: the cause is transient."""
        return isinstance(self.cause, TRANSIENT_ERRORS)


@dataclass(frozen=True)
class NoteRun:
    """What one run selected and what it did to each page."""

    selected: SelectedPages
    report: NoteReport = field(default_factory=NoteReport)


class _Log(Protocol):
    def warning(self, msg: str) -> None: ...


def run_note_sync(
    sync: ConfluenceNoteSync,
    wiki: ConfluenceClient,
    dot: DotClient,
    record: OwnershipRecord,
    log: _Log,
    *,
    page_ids: Sequence[str] | None = None,
    refresh: bool = False,
    max_concurrency: int = 4,
) -> NoteRun:
    """Read Dot to plan, render the pages that need it, re-read Dot and write.

    `record` is the ownership record the last run returned (`{}` for none). `page_ids`
    limits the run to those selected pages (None: all); `refresh` re-renders pages whose
    notes already hold their version. A page that fails (no permission, unconvertible
    storage format, a Dot error) keeps its notes as they were; one Confluence does not
    find loses them like any removed page. The other pages are still written; then
    `NoteSyncError` is raised naming each failed page and the fix, carrying the run (its
    record must be kept). A failure that leaves the selection or Dot's notes unknown
    raises before anything is written.
    """
    selected = _select(wiki, sync, log)
    writer = sync.writer(wiki.base_url, record)
    held = _on_dot(sync, "reading", lambda: writer.held_versions(dot))
    _refuse_to_empty(sync, selected, held)
    run = NoteRun(selected)
    report = run.report
    targets = _targets(selected, held, page_ids, refresh, report, log)
    rendered = _render_pages(wiki, targets, max_concurrency, report)
    keep = {*selected.pages, *(i for i, f in report.failures.items() if f.keeps_notes)}
    _on_dot(sync, "writing", lambda: writer.write(dot, rendered, keep, report))
    if report.marker_stripped:
        log.warning(
            f"Confluence note sync {sync.name!r}: Dot dropped the ownership marker from the "
            "notes it stored; they stay ours by their ids (recorded with this run) and the "
            f"title prefix {sync.title_prefix!r}. Keep the prefix, and keep this asset's "
            "history."
        )
    if report.left:
        log.warning(
            f"Confluence note sync {sync.name!r}: {len(report.left)} note(s) of pages that "
            f"left the selection stay active in Dot ({', '.join(sorted(report.left))}): "
            "delete or deactivate them in Dot's UI, or set on_removed='deactivate'/'delete'"
        )
    if report.failures:
        raise NoteSyncError(
            f"{len(report.failures)} Confluence page(s) not synced; every other page was: "
            + " | ".join(failure.message for failure in report.failures.values()),
            _retry_cause(report.failures.values()),
            details={
                "page_failures": {page_id: f.message for page_id, f in report.failures.items()},
                "page_error_class": {
                    page_id: type(f.error).__name__ for page_id, f in report.failures.items()
                },
            },
            run=run,
        )
    return run


def check_note_sync(
    sync: ConfluenceNoteSync, wiki: ConfluenceClient, dot: DotClient, record: OwnershipRecord
) -> tuple[SelectedPages, dict[str, int | None], dict[str, list[str]]]:
    """The selection, the version each page's notes hold, and the notes of ours no selected
    page needs: one selection and one read of Dot, no page body (the markers, or where Dot
    dropped them the last run's `record`, say which version a note holds)."""
    selected = select_pages(wiki, sync.selection)
    held, left = sync.writer(wiki.base_url, record).held_and_left(dot, selected.pages)
    return selected, held, left


def not_current(selected: SelectedPages, held: Mapping[str, int | None]) -> dict[str, str]:
    """Page id → why its notes are not current, for every selected page that has none."""
    problems = {
        page_id: problem
        for page_id, page in selected.pages.items()
        if (problem := _staleness(held, page_id, page.version))
    }
    problems.update(
        (page_id, "not found in Confluence (deleted, a wrong id, or hidden)")
        for page_id in selected.missing
    )
    return problems


def _staleness(held: Mapping[str, int | None], page_id: str, version: int) -> str | None:
    """Why a page's notes are not current, or None when they are."""
    if page_id not in held:
        return "no active note in Dot"
    if held[page_id] is None:
        return "its notes are incomplete or carry no version"
    if held[page_id] != version:
        return f"the note holds version {held[page_id]}, the page is at version {version}"
    return None


def _retry_cause(failures: Iterable[PageFailure]) -> Exception:
    """The error the run's failure chains: the first transient one, so that one page Dot
    did not answer gets the run retried even beside a page that will fail every time."""
    errors = [failure.error for failure in failures]
    return next((error for error in errors if isinstance(error, TRANSIENT_ERRORS)), errors[0])


def _select(wiki: ConfluenceClient, sync: ConfluenceNoteSync, log: _Log) -> SelectedPages:
    """The selection, or a failure before anything is written: acting on part of a
    selection would remove the notes of the pages it missed."""
    try:
        selected = select_pages(wiki, sync.selection)
    except ConfluenceError as error:
        raise NoteSyncError(
            f"Confluence note sync {sync.name!r}: the page selection "
            f"({sync.selection.describe()}) could not be resolved, so nothing was written: "
            f"{error}",
            error,
        ) from error
    for source in selected.empty_sources:
        log.warning(f"Confluence note sync {sync.name!r}: {source} matched no pages")
    return selected


def _on_dot(sync: ConfluenceNoteSync, doing: str, call: Callable[[], T]) -> T:
    """Dot errors and a broken org note as a failure that says what the run was doing."""
    try:
        return call()
    except MalformedNoteError as error:
        raise NoteSyncError(
            f"Confluence note sync {sync.name!r}: the org note has a managed block "
            f"that is not closed, so it cannot be merged without losing text: {error}",
            error,
        ) from error
    except DotError as error:
        raise NoteSyncError(
            f"Confluence note sync {sync.name!r}: {doing} Dot's notes failed: {error}", error
        ) from error


def _refuse_to_empty(
    sync: ConfluenceNoteSync, selected: SelectedPages, held: Mapping[str, int | None]
) -> None:
    """A selection that finds nothing (a CQL query gone wrong, a label renamed) must not
    empty Dot's knowledge: with notes in Dot, that takes `allow_empty_selection`. Explicit
    ids Confluence did not list are not "nothing": each is looked up and reported."""
    if selected.pages or selected.missing or not held or sync.allow_empty_selection:
        return
    raise NoteSyncError(
        f"Confluence note sync {sync.name!r}: the selection "
        f"({sync.selection.describe()}) matched no pages, so the {len(held)} page(s) with "
        "notes in Dot were left alone. Fix the selection; to really remove them all, set "
        "allow_empty_selection=True.",
        None,
    )


def _targets(
    selected: SelectedPages,
    held: Mapping[str, int | None],
    page_ids: Sequence[str] | None,
    refresh: bool,
    report: NoteReport,
    log: _Log,
) -> list[str]:
    """The pages to read: those asked for whose notes do not hold their current version
    (all of them with `refresh`), and the explicit ids Confluence did not list, to learn why."""
    asked = list(selected.pages)
    if page_ids is not None:
        requested = set(page_ids)
        outside = sorted(requested.difference(selected.pages))
        if outside:
            log.warning(f"run config names pages outside the selection: {outside}")
        asked = [page_id for page_id in selected.pages if page_id in requested]
        report.outcomes.update(
            (page_id, "not requested") for page_id in selected.pages if page_id not in asked
        )
    stale = [
        page_id
        for page_id in asked
        if refresh or held.get(page_id) != selected.pages[page_id].version
    ]
    report.outcomes.update((page_id, "unchanged") for page_id in asked if page_id not in stale)
    return [*stale, *selected.missing]


def _render_pages(
    wiki: ConfluenceClient, page_ids: Sequence[str], workers: int, report: NoteReport
) -> list[RenderedPage]:
    """Read and convert the pages, a few at a time; failures go to the report."""
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="confluence") as pool:
        results = list(pool.map(lambda page_id: _render(wiki, page_id), page_ids))
    rendered: list[RenderedPage] = []
    for page_id, result in zip(page_ids, results, strict=True):
        if isinstance(result, PageFailure):
            report.fail(page_id, result)
        else:
            rendered.append(result)
    return rendered


def _render(wiki: ConfluenceClient, page_id: str) -> RenderedPage | PageFailure:
    try:
        page = wiki.get_page(page_id)
    except ConfluenceNotFoundError as error:
        return PageFailure(
            f"page {page_id} was not found (deleted, a wrong id, or hidden from the "
            "Confluence user), so its notes were removed as configured: remove it from the "
            "selection",
            error,
            keeps_notes=False,
        )
    except ConfluencePermissionError as error:
        return PageFailure(
            f"page {page_id}: the Confluence user may not view it: grant them view "
            "permission or remove the page from the selection",
            error,
        )
    except ConfluenceError as error:
        return PageFailure(f"page {page_id}: reading it from Confluence failed: {error}", error)
    try:
        markdown = storage_markdown.storage_to_markdown(
            page.body_storage, base_url=wiki.base_url, space_key=page.space, page_id=page.id
        )
    except storage_markdown.StorageFormatError as error:
        return PageFailure(
            f"page {page_id} ({page.title!r}, version {page.version}): its storage format "
            f"cannot be converted ({error}): repair the page in Confluence",
            error,
        )
    return RenderedPage(page, markdown)
