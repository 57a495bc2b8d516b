"""Confluence pages as Dot notes: kept current, never overwriting each other, losing nothing.

Teams keep metric definitions, FAQs and playbooks in Confluence. One `ConfluenceNoteSync`
names the pages (ids, descendants of parents, CQL, spaces) and the Dot note dialect:

- ``org_notes`` (current, default): one atomic note per page, titled after it, updated in
  place, split into numbered notes at heading boundaries past Dot's ~50,000 characters.
  A page that leaves the selection or is deleted keeps its notes, reported for a person
  (Dot's API documents no removal); deactivating or deleting them is a verified opt-in.
- ``org_note`` (the brief's): one managed ``<faq confluence_page_url="…">`` block per page in
  the single org note (``GET /api/org`` + ``POST /api/save_note``); every byte outside the
  blocks is kept.

Ownership is proven by the marker line `render_owned_note` ends every note (or block) with,
never by a title alone: a note a human wrote, even one titled like ours, is never touched.
The marker also records the page version the text was rendered from, so Dot itself says
which notes are current: runs skip pages whose notes hold their version and the asset check
finds stale ones. Dot keeps notes as Markdown files in git and does not document whether an
HTML comment survives, so every ``org_notes`` run also records the notes it owns (ids, page
parts, hashes of what was sent and what Dot stored) in its materialization; where Dot drops
the marker, a note is ours when that record names it and its title keeps the prefix
(`transforms.org_notes`). The marker does not name the sync, so run one Confluence note
sync per Dot environment.

**Verification.** Dot documents neither the reply of a note write nor the effect of
``active`` or ``DELETE``: any 2xx is accepted, the run lists the notes once after its
writes, and a page whose write the listing does not show fails with
`DotEffectNotObservedError`. The metadata reports only what that listing shows.

**Shape.** One asset per sync (``dot/notes/<name>``), not one per page and not dynamic
partitions: the selection is only known by asking Confluence (so no asset can exist per
page at load time), a removed page is not a partition anyone would materialize, and the
brief's dialect writes all pages into one note anyway. A run syncs every selected page, or
only the pages its run config names; either way the result is the same, because notes are
per page and block merging does not depend on order. The sensor polls page versions
(a bounded number of calls per tick) and requests one run naming only the changed pages; a
daily schedule re-renders everything as the fallback.

**Concurrency.** Every note writer runs in the Dagster pool ``dot_notes``; give it a limit
of 1 (``dagster instance concurrency set dot_notes 1``, or ``concurrency: pools:
default_limit: 1`` in ``dagster.yaml``) so two runs never interleave their
read-modify-write. Humans edit notes too, and Dot has no compare-and-swap, so a run reads
Dot early only to plan, fetches and converts pages (the slow part), then reads again
right before it writes and merges into that fresh copy: an edit made meanwhile survives.

**Retries.** The clients retry each call, except a note create whose answer was lost (a
5xx, a timeout, a dropped connection): Dot may have made the note, so sending it again
could make two. Dagster retries the step instead (`ConfluenceNoteSync.step_retries`), and
the retried step re-lists Dot's notes first: a note the lost create did make carries our
marker and the page's version, so it is adopted, not created again. Only transient
failures are retried (`TRANSIENT_ERRORS`); a refused token or a bad page fails at once.
"""

import json
import re
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from typing import Literal, TypeVar

from dagster import (
    AssetCheckExecutionContext,
    AssetCheckResult,
    AssetChecksDefinition,
    AssetCheckSeverity,
    AssetCheckSpec,
    AssetExecutionContext,
    AssetKey,
    AssetsDefinition,
    AssetSelection,
    AssetSpec,
    Backoff,
    Config,
    ConfigurableResource,
    DagsterError,
    DagsterInstance,
    DefaultScheduleStatus,
    DefaultSensorStatus,
    Definitions,
    EnvVar,
    Failure,
    MaterializeResult,
    MetadataValue,
    RunRequest,
    ScheduleDefinition,
    SensorDefinition,
    SensorEvaluationContext,
    SensorResult,
    SkipReason,
    define_asset_job,
    multi_asset,
    multi_asset_check,
    sensor,
)
from dagster import RetryPolicy as StepRetryPolicy
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from dot_orchestration._compat import NamespacedMetadataSet, UnresolvedAssetJobDefinition
from dot_orchestration.client import (
    DotError,
    DotRateLimitError,
    DotServerError,
    DotTransportError,
)
from dot_orchestration.confluence import (
    MAX_PAGE_SIZE,
    ConfluenceClient,
    ConfluenceError,
    ConfluenceNotFoundError,
    ConfluencePermissionError,
    ConfluenceRateLimitError,
    ConfluenceServerError,
    ConfluenceTransportError,
    HttpRetries,
    PageSelection,
    SelectedPages,
    Timeouts,
    select_pages,
)
from dot_orchestration.note_writers import (
    NoteReport,
    NoteWriter,
    OrgNotesWriter,
    PageFailure,
    RenderedPage,
    SingleOrgNoteWriter,
)
from dot_orchestration.resources import DotResource
from dot_orchestration.transforms.notes import (
    MalformedNoteError,
)
from dot_orchestration.transforms.org_notes import (
    OwnershipRecord,
    RemovalPolicy,
    record_from_json,
    record_to_json,
)
from dot_orchestration.transforms.storage_markdown import StorageFormatError, storage_to_markdown

__all__ = [
    "NOTES_POOL",
    "TRANSIENT_ERRORS",
    "ConfluenceNoteMetadata",
    "ConfluenceNoteRunConfig",
    "ConfluenceNoteSync",
    "ConfluenceNotesTranslator",
    "ConfluenceResource",
    "build_confluence_note_asset",
    "build_confluence_note_check",
    "build_confluence_note_definitions",
    "build_confluence_note_job",
    "build_confluence_note_schedule",
    "build_confluence_note_sensor",
    "note_sync_run_config",
]

#: The Dagster pool every Dot note writer runs in; give it a limit of 1.
NOTES_POOL = "dot_notes"
#: Failures a later attempt of the step can overcome: no usable answer (dropped, timed
#: out), a 5xx or a 429 that outlasted the client's own retries, from Dot or Confluence.
#: Everything else (a refused or under-privileged token, a rejected request, an answer Dot
#: or a proxy garbled the same way each time, a bad page) would fail again, so it fails
#: the step at once.
TRANSIENT_ERRORS: tuple[type[Exception], ...] = (
    DotTransportError,
    DotServerError,
    DotRateLimitError,
    ConfluenceTransportError,
    ConfluenceServerError,
    ConfluenceRateLimitError,
)

Dialect = Literal["org_notes", "org_note"]
OnRemoved = RemovalPolicy
_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_]*")
_CHECK_NAME = "every_selected_page_has_a_current_note"
_LEFT_CHECK_NAME = "no_note_outlives_its_page"
T = TypeVar("T")


# --------------------------------------------------------------------------- resource


class ConfluenceResource(ConfigurableResource):
    """Where Confluence is and who reads it; `get_client()` builds a client per use.

    Cloud: `base_url` (`https://example.atlassian.net/wiki`), `email` and `api_token`.
    Data Center: `base_url` and `personal_access_token`. Set the secrets with `EnvVar` (or
    `from_env`) so they never land in definitions, run config or the event log.
    """

    base_url: str = Field(description="Site base, e.g. https://example.atlassian.net/wiki.")
    email: str | None = Field(default=None, description="Cloud: the API token owner's email.")
    api_token: str | None = Field(
        default=None, repr=False, description="Cloud API token. Use EnvVar."
    )
    personal_access_token: str | None = Field(
        default=None, repr=False, description="Data Center personal access token. Use EnvVar."
    )
    flavour: str | None = Field(
        default=None,
        description="`cloud` (REST v2) or `datacenter` (REST v1); empty: implied by the "
        "credentials.",
    )
    connect_timeout_s: float = Field(default=10.0, gt=0, description="TCP/TLS connect timeout.")
    read_timeout_s: float = Field(default=60.0, gt=0, description="Read timeout.")
    max_attempts: int = Field(default=5, ge=1, description="Attempts per call, first included.")
    initial_backoff_s: float = Field(default=0.5, ge=0, description="First retry wait.")
    max_backoff_s: float = Field(default=30.0, ge=0, description="Longest computed retry wait.")
    max_wait_s: float = Field(
        default=120.0,
        ge=0,
        description="Longest Retry-After honoured; a longer one fails the call at once.",
    )
    page_size: int = Field(
        default=MAX_PAGE_SIZE,
        ge=1,
        le=MAX_PAGE_SIZE,
        description="Items per list call (and ids per bulk version lookup).",
    )
    max_concurrency: int = Field(
        default=4, ge=1, le=32, description="Page bodies one step reads at the same time."
    )

    @field_validator("flavour")
    @classmethod
    def _known_flavour(cls, flavour: str | None) -> str | None:
        if flavour is not None and flavour not in ("cloud", "datacenter"):
            raise ValueError(f"flavour must be 'cloud' or 'datacenter', not {flavour!r}")
        return flavour

    @model_validator(mode="after")
    def _usable(self) -> "ConfluenceResource":
        """Fail at definition load, not mid-run (values may still be unresolved EnvVars)."""
        if not self.initial_backoff_s <= self.max_backoff_s <= self.max_wait_s:
            raise ValueError(
                "ConfluenceResource: need initial_backoff_s <= max_backoff_s <= max_wait_s "
                f"(got {self.initial_backoff_s}, {self.max_backoff_s}, {self.max_wait_s})"
            )
        basic = self.email is not None or self.api_token is not None
        if basic == (self.personal_access_token is not None):
            raise ValueError(
                "ConfluenceResource: set email + api_token (Cloud) or personal_access_token "
                "(Data Center), not both and not neither"
            )
        if basic and (self.email is None or self.api_token is None):
            raise ValueError("ConfluenceResource: Cloud basic auth needs both email and api_token")
        return self

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> "ConfluenceResource":
        """A resource reading `CONFLUENCE_BASE_URL` and either `CONFLUENCE_EMAIL` +
        `CONFLUENCE_API_TOKEN` (Cloud) or `CONFLUENCE_PERSONAL_ACCESS_TOKEN` (Data Center)
        as `EnvVar`s, resolved only in the step that uses them."""
        if env.get("CONFLUENCE_PERSONAL_ACCESS_TOKEN"):
            credentials = {"personal_access_token": EnvVar("CONFLUENCE_PERSONAL_ACCESS_TOKEN")}
        else:
            credentials = {
                "email": EnvVar("CONFLUENCE_EMAIL"),
                "api_token": EnvVar("CONFLUENCE_API_TOKEN"),
            }
        return cls(base_url=EnvVar("CONFLUENCE_BASE_URL"), **credentials)

    @contextmanager
    def get_client(self) -> Iterator[ConfluenceClient]:
        """A client for one unit of work; its connection pool is closed on exit."""
        with ConfluenceClient(self.base_url, **self.client_settings()) as client:
            yield client

    def client_settings(self) -> dict[str, object]:
        """Everything but the site, as `ConfluenceClient` takes it."""
        credentials = {
            "email": self.email,
            "api_token": self.api_token,
            "personal_access_token": self.personal_access_token,
            "flavour": self.flavour,
        }
        return {
            **{name: value for name, value in credentials.items() if value is not None},
            "timeouts": Timeouts(connect=self.connect_timeout_s, read=self.read_timeout_s),
            "retry": HttpRetries(
                max_attempts=self.max_attempts,
                initial_backoff=self.initial_backoff_s,
                max_backoff=self.max_backoff_s,
                max_wait=self.max_wait_s,
            ),
            "page_size": self.page_size,
        }


# --------------------------------------------------------------------------- configuration


class ConfluenceNoteSync(BaseModel):
    """One Confluence → Dot note sync, checked when the definitions load.

    `on_removed` applies to ``org_notes``: ``keep`` (default) leaves a removed page's notes
    in Dot and reports them (metadata `notes_left_in_dot` and the warning check
    `no_note_outlives_its_page`), because Dot's API documents no way to deactivate or delete
    a note; ``deactivate`` (the undocumented `active` field) and ``delete`` (the undocumented
    DELETE) are opt-ins whose effect each run verifies, failing when Dot ignored them. In
    the brief's single note a removed page's block is taken out.
    `allow_empty_selection`: by default a selection that finds no page at all removes
    nothing and fails, because a query gone wrong must not empty Dot's knowledge.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = Field(default="confluence", description="Names the asset, job, sensor.")
    selection: PageSelection
    dialect: Dialect = "org_notes"
    title_prefix: str = Field(default="[Confluence]", description="org_notes: title prefix.")
    on_removed: OnRemoved | None = None
    allow_empty_selection: bool = False
    description: str | None = None
    owners: tuple[str, ...] = ()
    step_retries: int = Field(
        default=3,
        ge=0,
        description="Times Dagster runs the step again after a transient failure (Dot or "
        "Confluence unavailable, a note create whose answer was lost); 0: never.",
    )
    step_retry_delay_s: float = Field(
        default=5.0,
        ge=0,
        description="Wait before the first step retry; the next ones wait 3 and 7 times it.",
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
    def _options_fit_the_dialect(self) -> "ConfluenceNoteSync":
        if self.dialect == "org_note":
            misplaced = sorted({"on_removed", "title_prefix"} & self.model_fields_set)
            if misplaced:
                raise ValueError(
                    f"Confluence note sync {self.name!r}: {', '.join(misplaced)} only apply to "
                    "dialect 'org_notes'; the brief's single org note has no titles and no "
                    "deactivation (a removed page's block is taken out). Remove them."
                )
        return self

    @property
    def removal(self) -> OnRemoved:
        return self.on_removed or "keep"

    def step_retry_policy(self) -> StepRetryPolicy | None:
        """The note writer's Dagster retry policy: exponential backoff, and no jitter.

        The wait is what lets a create Dot was still carrying out when its answer was lost
        land before the retry re-lists the notes; jitter may shorten the first wait to
        nothing, and the `dot_notes` pool runs one note writer at a time, so there is no
        crowd of retries to spread out.
        """
        if not self.step_retries:
            return None
        return StepRetryPolicy(
            max_retries=self.step_retries,
            delay=self.step_retry_delay_s,
            backoff=Backoff.EXPONENTIAL,
        )


class ConfluenceNoteRunConfig(Config):
    """What one run syncs. The sensor names the changed pages; the schedule refreshes."""

    page_ids: list[str] | None = Field(
        default=None,
        description="Only these selected pages; empty list: none (removals only); "
        "unset: every selected page.",
    )
    refresh: bool = Field(
        default=False,
        description="Re-render pages whose notes already hold the page's version (undoes "
        "hand edits of synced notes, applies converter changes). Unchanged text is not written.",
    )


def note_sync_run_config(
    sync: ConfluenceNoteSync, *, page_ids: Sequence[str] | None = None, refresh: bool = False
) -> dict[str, object]:
    """The run config of a sync's job (for sensors, schedules, the launchpad, tests)."""
    config = ConfluenceNoteRunConfig(
        page_ids=None if page_ids is None else list(page_ids), refresh=refresh
    )
    return {"ops": {_op_name(sync): {"config": config.model_dump()}}}


def _op_name(sync: ConfluenceNoteSync) -> str:
    return f"dot_notes_{sync.name}"


def _writer(sync: ConfluenceNoteSync, site: str, record: OwnershipRecord) -> NoteWriter:
    if sync.dialect == "org_note":
        return SingleOrgNoteWriter(site)
    return OrgNotesWriter(sync.title_prefix, sync.removal, record)


#: Materialization metadata holding the ownership record (see `transforms.org_notes`).
RECORD_METADATA_KEY = "ownership_record"


def recorded_ownership(instance: DagsterInstance, key: AssetKey) -> OwnershipRecord:
    """The ownership record of the asset's last materialization: which notes the last run
    wrote, so that they stay ours if Dot dropped the marker from their text."""
    event = instance.get_latest_materialization_event(key)
    materialization = event.asset_materialization if event is not None else None
    value = materialization.metadata.get(RECORD_METADATA_KEY) if materialization else None
    return record_from_json(getattr(value, "value", None))


# --------------------------------------------------------------------------- one run


def sync_confluence_notes(
    context: AssetExecutionContext,
    sync: ConfluenceNoteSync,
    config: ConfluenceNoteRunConfig,
    dot: DotResource,
    confluence: ConfluenceResource,
) -> Iterator[MaterializeResult]:
    """Read Dot to plan, render the pages that need it, re-read Dot and write.

    A page that fails (no permission, unconvertible storage format, a Dot error) keeps its
    notes as they were; one Confluence does not find loses them like any removed page. The
    other pages are still written and recorded as a materialization, then the step fails
    naming each page and the fix. A failure that leaves the selection or Dot's notes
    unknown stops the run before anything is written. Every Failure chains its typed error
    and lets the step's retry policy apply only when that error is transient.
    """
    record = recorded_ownership(context.instance, context.asset_key)
    with confluence.get_client() as wiki, dot.get_client() as client:
        selected = _select(wiki, sync, context)
        writer = _writer(sync, wiki.base_url, record)
        held = _on_dot(sync, "reading", lambda: writer.held_versions(client))
        _refuse_to_empty(sync, selected, held)
        report = NoteReport()
        targets = _targets(context, selected, held, config, report)
        rendered = _render_pages(wiki, targets, confluence.max_concurrency, report)
        keep = {*selected.pages, *(i for i, f in report.failures.items() if f.keeps_notes)}
        _on_dot(sync, "writing", lambda: writer.write(client, rendered, keep, report))
    if report.marker_stripped:
        context.log.warning(
            f"Confluence note sync {sync.name!r}: Dot dropped the ownership marker from the "
            "notes it stored; they stay ours by their ids (recorded in this materialization) "
            f"and the title prefix {sync.title_prefix!r}. Keep the prefix, and keep this "
            "asset's materialization history."
        )
    if report.left:
        context.log.warning(
            f"Confluence note sync {sync.name!r}: {len(report.left)} note(s) of pages that "
            f"left the selection stay active in Dot ({', '.join(sorted(report.left))}): "
            "delete or deactivate them in Dot's UI, or set on_removed='deactivate'/'delete'"
        )
    yield MaterializeResult(metadata=_run_metadata(sync, selected, report))
    if report.failures:
        cause = _retry_cause(report.failures.values())
        raise _failure(
            f"{len(report.failures)} Confluence page(s) not synced; every other page was: "
            + " | ".join(failure.message for failure in report.failures.values()),
            cause,
            failures={page_id: failure.message for page_id, failure in report.failures.items()},
            error_class={
                page_id: type(failure.error).__name__
                for page_id, failure in report.failures.items()
            },
        ) from cause


def _retry_cause(failures: Iterable[PageFailure]) -> Exception:
    """The error the step's failure chains: the first transient one, so that one page Dot
    did not answer gets the step retried even beside a page that will fail every time."""
    errors = [failure.error for failure in failures]
    return next((error for error in errors if isinstance(error, TRANSIENT_ERRORS)), errors[0])


def _failure(description: str, cause: BaseException | None, **metadata: object) -> Failure:
    """A Failure the step's retry policy applies to only when `cause` is transient."""
    return Failure(
        description=description,
        metadata={name: MetadataValue.json(value) for name, value in metadata.items()},
        allow_retries=isinstance(cause, TRANSIENT_ERRORS),
    )


def _select(
    wiki: ConfluenceClient, sync: ConfluenceNoteSync, context: AssetExecutionContext
) -> SelectedPages:
    """The selection, or a Failure before anything is written: acting on part of a
    selection would remove the notes of the pages it missed."""
    try:
        selected = select_pages(wiki, sync.selection)
    except ConfluenceError as error:
        raise _failure(
            f"Confluence note sync {sync.name!r}: the page selection "
            f"({sync.selection.describe()}) could not be resolved, so nothing was written: "
            f"{error}",
            error,
        ) from error
    for source in selected.empty_sources:
        context.log.warning(f"Confluence note sync {sync.name!r}: {source} matched no pages")
    return selected


def _on_dot(sync: ConfluenceNoteSync, doing: str, call: Callable[[], T]) -> T:
    """Dot errors and a broken org note as a Failure that says what the run was doing."""
    try:
        return call()
    except MalformedNoteError as error:
        raise _failure(
            f"Confluence note sync {sync.name!r}: the org note has a managed block "
            f"that is not closed, so it cannot be merged without losing text: {error}",
            error,
        ) from error
    except DotError as error:
        raise _failure(
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
    raise _failure(
        f"Confluence note sync {sync.name!r}: the selection "
        f"({sync.selection.describe()}) matched no pages, so the {len(held)} page(s) with "
        "notes in Dot were left alone. Fix the selection; to really remove them all, set "
        "allow_empty_selection=True.",
        None,
    )


def _targets(
    context: AssetExecutionContext,
    selected: SelectedPages,
    held: Mapping[str, int | None],
    config: ConfluenceNoteRunConfig,
    report: NoteReport,
) -> list[str]:
    """The pages to read: those asked for whose notes do not hold their current version
    (all of them with `refresh`), and the explicit ids Confluence did not list, to learn why."""
    asked = list(selected.pages)
    if config.page_ids is not None:
        requested = set(config.page_ids)
        outside = sorted(requested.difference(selected.pages))
        if outside:
            context.log.warning(f"run config names pages outside the selection: {outside}")
        asked = [page_id for page_id in selected.pages if page_id in requested]
        report.outcomes.update(
            (page_id, "not requested") for page_id in selected.pages if page_id not in asked
        )
    stale = [
        page_id
        for page_id in asked
        if config.refresh or held.get(page_id) != selected.pages[page_id].version
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
        markdown = storage_to_markdown(
            page.body_storage, base_url=wiki.base_url, space_key=page.space, page_id=page.id
        )
    except StorageFormatError as error:
        return PageFailure(
            f"page {page_id} ({page.title!r}, version {page.version}): its storage format "
            f"cannot be converted ({error}): repair the page in Confluence",
            error,
        )
    return RenderedPage(page, markdown)


def _run_metadata(
    sync: ConfluenceNoteSync, selected: SelectedPages, report: NoteReport
) -> dict[str, MetadataValue]:
    counts = Counter(report.outcomes.values())
    metadata: dict[str, MetadataValue] = {
        "dialect": MetadataValue.text(sync.dialect),
        "pages_selected": MetadataValue.int(len(selected.pages)),
        "pages_synced": MetadataValue.int(counts["synced"]),
        "pages_unchanged": MetadataValue.int(counts["unchanged"]),
        "pages_removed": MetadataValue.int(counts["removed"]),
        "pages_left_in_dot": MetadataValue.int(counts["left in Dot"]),
        "pages_failed": MetadataValue.int(counts["failed"]),
        "dot_writes": MetadataValue.int(report.writes),
        "pages": MetadataValue.md(_pages_table(selected, report)),
        "note_ids": MetadataValue.json(report.note_ids),
        "confluence_links": MetadataValue.json(
            {page_id: page.web_url for page_id, page in selected.pages.items()}
        ),
    }
    if selected.empty_sources:
        metadata["empty_sources"] = MetadataValue.json(list(selected.empty_sources))
    if report.left:
        metadata["notes_left_in_dot"] = MetadataValue.json(report.left)
    if report.record is not None:
        metadata[RECORD_METADATA_KEY] = MetadataValue.json(record_to_json(report.record))
        metadata["note_marker"] = MetadataValue.text(
            "stripped by Dot: ownership by the recorded note ids and the title prefix"
            if report.marker_stripped
            else "kept by Dot (or nothing written)"
        )
    if report.failures:
        metadata["failures"] = MetadataValue.json(
            {page_id: failure.message for page_id, failure in report.failures.items()}
        )
    return metadata


def _pages_table(selected: SelectedPages, report: NoteReport) -> str:
    rows = ["| page | version | outcome | Dot notes |", "| --- | --- | --- | --- |"]
    by_id = sorted(report.outcomes.items(), key=lambda item: (len(item[0]), item[0]))
    for page_id, outcome in by_id:
        page = selected.pages.get(page_id)
        name = f"[{_cell(page.title)}]({page.web_url})" if page else page_id
        version = str(page.version) if page else ""
        notes = ", ".join(report.note_ids.get(page_id, []))
        rows.append(f"| {name} | {version} | {outcome} | {notes} |")
    return "\n".join(rows)


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("[", "\\[").replace("]", "\\]")


# --------------------------------------------------------------------------- the check


def check_notes(
    sync: ConfluenceNoteSync,
    dot: DotResource,
    confluence: ConfluenceResource,
    record: OwnershipRecord | None = None,
) -> tuple[AssetCheckResult, AssetCheckResult]:
    """The sync's two checks, from one selection and one read of Dot.

    `every_selected_page_has_a_current_note`: every selected page has notes in Dot holding
    its current version. `no_note_outlives_its_page` (a warning): no active note of ours
    belongs to a page that left the selection (or Confluence) or is a part its page no
    longer has; with ``on_removed="keep"`` such notes stay until a person acts.

    Costs what a sensor tick costs plus one Dot read: no page body is read, because the
    notes' markers (or, where Dot dropped them, the last run's `record`) say which version
    they hold.
    """
    with confluence.get_client() as wiki, dot.get_client() as client:
        selected = select_pages(wiki, sync.selection)
        writer = _writer(sync, wiki.base_url, record or {})
        held, left = writer.held_and_left(client, selected.pages)
    return _current_result(selected, held), _left_result(left)


def _current_result(selected: SelectedPages, held: Mapping[str, int | None]) -> AssetCheckResult:
    problems = {
        page_id: problem
        for page_id, page in selected.pages.items()
        if (problem := _staleness(held, page_id, page.version))
    }
    problems.update(
        (page_id, "not found in Confluence (deleted, a wrong id, or hidden)")
        for page_id in selected.missing
    )
    return AssetCheckResult(
        check_name=_CHECK_NAME,
        passed=not problems,
        description=(
            f"all {len(selected.pages)} selected pages have current notes"
            if not problems
            else f"{len(problems)} of {len(selected.pages) + len(selected.missing)} selected "
            "pages have no current note: materialize the asset (failures say why per page)"
        ),
        metadata={
            "pages_selected": MetadataValue.int(len(selected.pages)),
            "pages_not_current": MetadataValue.json(problems),
            "confluence_links": MetadataValue.json(
                {
                    page_id: selected.pages[page_id].web_url
                    for page_id in problems
                    if page_id in selected.pages
                }
            ),
        },
    )


def _left_result(left: Mapping[str, list[str]]) -> AssetCheckResult:
    return AssetCheckResult(
        check_name=_LEFT_CHECK_NAME,
        passed=not left,
        severity=AssetCheckSeverity.WARN,
        description=(
            "every note of this sync belongs to a selected page"
            if not left
            else f"{sum(map(len, left.values()))} note(s) no selected page needs are still "
            "active in Dot (their pages left the selection or Confluence, or no longer have "
            "that many parts): delete or deactivate them in Dot's UI (or `dot notes "
            "deactivate <id>`), or select their pages again"
        ),
        metadata={"notes_left_in_dot": MetadataValue.json(dict(left))},
    )


def _staleness(held: Mapping[str, int | None], page_id: str, version: int) -> str | None:
    """Why a page's notes are not current, or None when they are."""
    if page_id not in held:
        return "no active note in Dot"
    if held[page_id] is None:
        return "its notes are incomplete or carry no version"
    if held[page_id] != version:
        return f"the note holds version {held[page_id]}, the page is at version {version}"
    return None


# --------------------------------------------------------------------------- definitions


class ConfluenceNoteMetadata(NamespacedMetadataSet):
    """Shown on the asset: which dialect and which pages it syncs."""

    dialect: str | None = None
    selection: str | None = None
    pool: str | None = None

    @classmethod
    def namespace(cls) -> str:
        return "dot_notes"


class ConfluenceNotesTranslator:
    """The seam for renaming the asset's key, group, owners and tags; subclass it."""

    def get_asset_key(self, sync: ConfluenceNoteSync) -> AssetKey:
        return AssetKey(["dot", "notes", sync.name])

    def get_asset_spec(self, sync: ConfluenceNoteSync) -> AssetSpec:
        dialect = (
            "one org note per page (`/api/org_notes`)"
            if sync.dialect == "org_notes"
            else "one managed block per page in the org note (`/api/save_note`)"
        )
        return AssetSpec(
            key=self.get_asset_key(sync),
            description=sync.description
            or (
                f"Confluence pages ({sync.selection.describe()}) as Dot notes: {dialect}. "
                "On failure the run names each page that was not synced and why; every other "
                "page was synced and no note of a failed page was touched."
            ),
            group_name="dot",
            kinds={"dot", "confluence"},
            owners=list(sync.owners),
            tags={"dot/operation": "notes"},
            metadata={
                **ConfluenceNoteMetadata(
                    dialect=sync.dialect, selection=sync.selection.describe(), pool=NOTES_POOL
                )
            },
        )


def build_confluence_note_asset(
    sync: ConfluenceNoteSync, *, translator: ConfluenceNotesTranslator | None = None
) -> AssetsDefinition:
    """The asset that writes the sync's notes, in the `dot_notes` pool, retried by Dagster
    after a transient failure (`ConfluenceNoteSync.step_retry_policy`)."""
    spec = (translator or ConfluenceNotesTranslator()).get_asset_spec(sync)

    @multi_asset(
        name=_op_name(sync),
        specs=[spec],
        pool=NOTES_POOL,
        retry_policy=sync.step_retry_policy(),
    )
    def _notes(
        context: AssetExecutionContext,
        config: ConfluenceNoteRunConfig,
        dot: DotResource,
        confluence: ConfluenceResource,
    ) -> Iterator[MaterializeResult]:
        try:
            yield from sync_confluence_notes(context, sync, config, dot, confluence)
        except (Failure, DagsterError):
            raise
        except Exception as error:
            raise _unexpected(sync, error) from error

    return _notes


def _unexpected(sync: ConfluenceNoteSync, error: Exception) -> Failure:
    """An error no step of the sync turned into a Failure (a client set up wrong, a bug):
    without this, the retry policy would retry it like any exception, to fail the same way."""
    return _failure(
        f"Confluence note sync {sync.name!r} failed: {type(error).__name__}: {error}", error
    )


def build_confluence_note_check(
    sync: ConfluenceNoteSync, notes: AssetsDefinition
) -> AssetChecksDefinition:
    """The sync's checks (reads only: no pool): `every_selected_page_has_a_current_note`
    and the warning `no_note_outlives_its_page`."""

    @multi_asset_check(
        name=f"dot_notes_{sync.name}_checks",
        specs=[
            AssetCheckSpec(
                _CHECK_NAME,
                asset=notes.key,
                description="Every selected Confluence page has notes in Dot that hold its "
                "current version.",
            ),
            AssetCheckSpec(
                _LEFT_CHECK_NAME,
                asset=notes.key,
                description="No active note of this sync belongs to a page that left the "
                "selection (a warning: Dot's API documents no way to remove a note, so a "
                "person deletes or deactivates it in Dot).",
            ),
        ],
    )
    def _checks(
        context: AssetCheckExecutionContext, dot: DotResource, confluence: ConfluenceResource
    ) -> Iterator[AssetCheckResult]:
        record = recorded_ownership(context.instance, notes.key)
        yield from check_notes(sync, dot, confluence, record)

    return _checks


def build_confluence_note_job(
    sync: ConfluenceNoteSync, notes: AssetsDefinition
) -> UnresolvedAssetJobDefinition:
    """The asset and its check: what the sensor and the schedule run."""
    return define_asset_job(
        f"dot_notes_{sync.name}_job",
        selection=AssetSelection.assets(notes),
        description=f"Confluence pages → Dot notes ({sync.dialect}).",
    )


def build_confluence_note_sensor(
    sync: ConfluenceNoteSync,
    job: UnresolvedAssetJobDefinition,
    *,
    minimum_interval_seconds: int = 300,
    default_status: DefaultSensorStatus = DefaultSensorStatus.RUNNING,
) -> SensorDefinition:
    """Polls the selected pages' versions and requests one run for the changed pages.

    The cursor is the JSON `{page id: version}` of the last tick. A tick costs what
    resolving the selection costs (one bulk version lookup per 250 pages, plus one walk
    per parent and one search per query), however many pages changed. A page that left
    the selection or was deleted counts as changed, so its notes are reported (or removed,
    as `on_removed` says) promptly. A
    run that fails is not re-requested: the asset check shows the stale pages and the
    schedule's next run syncs them.
    """

    @sensor(
        name=f"dot_notes_{sync.name}_sensor",
        job=job,
        minimum_interval_seconds=minimum_interval_seconds,
        default_status=default_status,
        description=f"Syncs changed Confluence pages into Dot notes ({sync.name}).",
    )
    def _changed_pages(
        context: SensorEvaluationContext, confluence: ConfluenceResource
    ) -> SensorResult | SkipReason:
        with confluence.get_client() as wiki:
            selected = select_pages(wiki, sync.selection)
        versions = {page_id: page.version for page_id, page in selected.pages.items()}
        before = _read_cursor(context)
        changed = sorted(page_id for page_id, v in versions.items() if before.get(page_id) != v)
        gone = sorted(set(before) - set(versions))
        if not changed and not gone:
            return SkipReason(f"none of the {len(versions)} selected pages changed")
        context.log.info(f"changed pages: {changed}; gone from the selection: {gone}")
        return SensorResult(
            run_requests=[RunRequest(run_config=note_sync_run_config(sync, page_ids=changed))],
            cursor=json.dumps(versions, sort_keys=True),
        )

    return _changed_pages


def _read_cursor(context: SensorEvaluationContext) -> dict[str, int]:
    """The last tick's versions; an unreadable cursor counts as none (every page changed)."""
    try:
        versions = json.loads(context.cursor or "{}")
    except ValueError:
        versions = None
    if not isinstance(versions, dict):
        context.log.warning("the cursor is not a JSON object; every page counts as changed")
        return {}
    return versions


def build_confluence_note_schedule(
    sync: ConfluenceNoteSync,
    job: UnresolvedAssetJobDefinition,
    *,
    cron_schedule: str = "0 4 * * *",
    timezone: str = "UTC",
    default_status: DefaultScheduleStatus = DefaultScheduleStatus.RUNNING,
) -> ScheduleDefinition:
    """The fallback: re-render every selected page daily (unchanged text is not written),
    catching whatever the sensor missed: failed runs, hand edits of synced notes, a
    converter upgrade."""
    return ScheduleDefinition(
        name=f"dot_notes_{sync.name}_schedule",
        job=job,
        cron_schedule=cron_schedule,
        execution_timezone=timezone,
        run_config=note_sync_run_config(sync, refresh=True),
        default_status=default_status,
    )


def build_confluence_note_definitions(
    sync: ConfluenceNoteSync, *, translator: ConfluenceNotesTranslator | None = None
) -> Definitions:
    """Asset, check, job, sensor and schedule of one sync, without resources: merge it
    with definitions that provide `dot` (`DotResource`) and `confluence`
    (`ConfluenceResource`)."""
    notes = build_confluence_note_asset(sync, translator=translator)
    job = build_confluence_note_job(sync, notes)
    return Definitions(
        assets=[notes],
        asset_checks=[build_confluence_note_check(sync, notes)],
        jobs=[job],
        sensors=[build_confluence_note_sensor(sync, job)],
        schedules=[build_confluence_note_schedule(sync, job)],
    )
