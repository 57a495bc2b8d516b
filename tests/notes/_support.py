"""The harness the note-sync tests drive, and the pages they use.

`NoteHarness` materializes a sync's real asset (optionally with its check) on a real
Dagster instance against the Dot emulator and the Confluence emulator, and reads back what
Dot holds and which writes reached it (from the Dot journal).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

import httpx
from dagster import (
    AssetCheckEvaluation,
    DagsterInstance,
    Definitions,
    ExecuteInProcessResult,
    materialize,
)

from dot_orchestration.client import DotClient, HttpRetries
from dot_orchestration.confluence import ConfluenceClient, PageSelection
from dot_orchestration.emulator import ADMIN_TOKEN, EmulatorServer
from dot_orchestration.emulator.confluence import DEFAULT_USERS, ConfluenceEmulatorServer
from dot_orchestration.notes import (
    ConfluenceNoteSync,
    ConfluenceResource,
    DotNotesSettings,
    build_confluence_note_asset,
    build_confluence_note_check,
    build_dot_notes_definitions,
    note_sync_run_config,
)
from dot_orchestration.resources import DotResource
from dot_orchestration.transforms.note_blocks import parse_managed_blocks
from dot_orchestration.transforms.note_parts import owned_note_key

ANALYST = DEFAULT_USERS[0]
HOME, METRICS, REVENUE, ACTIVE_CUSTOMERS, NRR = "100000", "100100", "100101", "100102", "100103"
FAQ, PLAYBOOK, HANDBOOK, RESTRICTED = "100200", "100300", "100400", "100500"
FAST_STEP_RETRY_DELAY_S = 0.05
NOTE_WRITE_ROUTES = {
    ("POST", "/api/save_note"),
    ("POST", "/api/org_notes"),
    ("PUT", "/api/org_notes/{note_id}"),
    ("DELETE", "/api/org_notes/{note_id}"),
}


# --------------------------------------------------------------------------- resources


def confluence_resource(
    site: ConfluenceEmulatorServer,
    flavour: str = "cloud",
    resource_class: type[ConfluenceResource] = ConfluenceResource,
) -> ConfluenceResource:
    """The analyst, fast retries; Cloud basic auth or a Data Center PAT."""
    credentials: dict[str, Any] = (
        {"email": ANALYST.email, "api_token": ANALYST.api_token}
        if flavour == "cloud"
        else {"personal_access_token": ANALYST.personal_access_token}
    )
    return resource_class(
        base_url=site.url, max_attempts=3, initial_backoff_s=0.01, max_backoff_s=0.05, **credentials
    )


def dot_resource(dot: EmulatorServer, url: str | None = None) -> DotResource:
    """The admin on the emulator, or on `url` (a proxy in front of it)."""
    return DotResource(
        api_token=ADMIN_TOKEN,
        base_url=url or dot.url,
        max_attempts=3,
        initial_backoff_s=0.01,
        max_backoff_s=0.05,
    )


@functools.cache
def run_resources(
    dot: EmulatorServer,
    site: ConfluenceEmulatorServer,
    flavour: str,
    confluence_class: type[ConfluenceResource],
    dot_url: str | None,
) -> Mapping[str, Any]:
    """The `dot` and `confluence` resources of a run, made once for each combination: a
    resource is an immutable model, and making one infers its config schema again."""
    return MappingProxyType(
        {
            "dot": dot_resource(dot, dot_url),
            "confluence": confluence_resource(site, flavour, confluence_class),
        }
    )


#: The tests' own calls to the emulators' control routes: one client, not one per call
#: (`httpx.get` builds a client, and with it an SSL context, every time).
EMULATOR_HTTP = httpx.Client(timeout=10)

#: Called before every Confluence request of `HookedConfluenceResource`, on its thread.
REQUEST_HOOKS: list[Callable[[httpx.Request], None]] = []


class _HookTransport(httpx.HTTPTransport):
    def handle_request(self, request: httpx.Request) -> httpx.Response:
        for hook in list(REQUEST_HOOKS):
            hook(request)
        return super().handle_request(request)


class HookedConfluenceResource(ConfluenceResource):
    """A `ConfluenceResource` whose requests first run `REQUEST_HOOKS`: a test uses it to
    act at an exact point of a run (e.g. while the run reads page bodies) without timing."""

    @contextmanager
    def get_client(self) -> Iterator[ConfluenceClient]:
        settings: dict[str, Any] = self.client_settings()
        with ConfluenceClient(self.base_url, **settings, transport=_HookTransport()) as client:
            yield client


def is_body_read(request: httpx.Request) -> bool:
    """A page read with its body (v2 `body-format=storage`, v1 `expand=body.storage`)."""
    params = request.url.params
    return params.get("body-format") == "storage" or "body.storage" in params.get("expand", "")


# --------------------------------------------------------------------------- harness


def sync_of(
    *, dialect: str = "org_notes", step_retries: int = 3, **selection: Any
) -> ConfluenceNoteSync:
    """A sync of the selection whose step retries follow each other within tenths of a
    second: the emulator's faults land at once, so a test need not wait like Dot would."""
    selection = {k: tuple(v) if isinstance(v, list | tuple) else (v,) for k, v in selection.items()}
    return ConfluenceNoteSync(
        selection=PageSelection(**selection),
        dialect=dialect,
        step_retries=step_retries,
        step_retry_delay_s=FAST_STEP_RETRY_DELAY_S,
    )


@dataclass
class NoteHarness:
    dot: EmulatorServer
    site: ConfluenceEmulatorServer
    instance: DagsterInstance
    flavour: str = "cloud"
    confluence_class: type[ConfluenceResource] = ConfluenceResource
    dot_url: str | None = None  # Dot's URL for the runs, when not the emulator's own

    def resources(self) -> dict[str, Any]:
        return dict(
            run_resources(self.dot, self.site, self.flavour, self.confluence_class, self.dot_url)
        )

    def run(
        self,
        sync: ConfluenceNoteSync,
        *,
        page_ids: list[str] | None = None,
        refresh: bool = False,
        with_check: bool = False,
    ) -> ExecuteInProcessResult:
        """Materialize the sync's asset (and its check) on the instance; never raises."""
        asset = build_confluence_note_asset(sync)
        assets: list[Any] = [asset]
        if with_check:
            assets.append(build_confluence_note_check(sync, asset))
        return materialize(
            assets,
            run_config=note_sync_run_config(sync, page_ids=page_ids, refresh=refresh),
            resources=self.resources(),
            instance=self.instance,
            raise_on_error=False,
        )

    def definitions(self, sync: ConfluenceNoteSync, **settings: Any) -> Definitions:
        """What `build_dot_notes_definitions` makes of the sync (and `settings`), with the
        `dot` resource."""
        resources = self.resources()
        notes = DotNotesSettings(site=resources.pop("confluence"), syncs=(sync,), **settings)
        return Definitions.merge(
            build_dot_notes_definitions(notes), Definitions(resources=resources)
        )

    # ---- Dot, as a human and as an observer

    def human(self) -> DotClient:
        """A person editing notes in Dot, over HTTP like anyone else."""
        return DotClient(api_token=ADMIN_TOKEN, base_url=self.dot.url, retry=HttpRetries())

    def journal(self) -> list[dict[str, Any]]:
        return list(EMULATOR_HTTP.get(f"{self.dot.url}/_emulator/journal").json()["entries"])

    def clear_journal(self) -> None:
        EMULATOR_HTTP.delete(f"{self.dot.url}/_emulator/journal").raise_for_status()

    def note_writes(self) -> list[dict[str, Any]]:
        return [e for e in self.journal() if (e["method"], e["route"]) in NOTE_WRITE_ROUTES]

    def org_note(self) -> str:
        return self.dot.state.space(None).org_note

    def all_notes(self) -> list[tuple[str, str, bool]]:
        """Every atomic note as (title, text, active), sorted (creation order aside)."""
        return sorted((n.title, n.note, n.active) for n in self.dot.state.space(None).notes())

    def owned_notes(self) -> dict[str, list[tuple[str, str, bool]]]:
        """Atomic notes this package wrote, by page id, in part order."""
        owned: dict[str, list[tuple[int, tuple[str, str, bool]]]] = {}
        for note in self.dot.state.space(None).notes():
            key = owned_note_key(note.note)
            if key is not None:
                owned.setdefault(key.page_id, []).append(
                    (key.part, (note.title, note.note, note.active))
                )
        return {page: [n for _, n in sorted(parts)] for page, parts in owned.items()}

    def blocks(self) -> dict[str, str]:
        """Managed blocks of the org note, by page id (from the `/pages/{id}` URL)."""
        prefix = f"{self.site.url}/pages/"
        return {
            url.removeprefix(prefix): markdown
            for url, markdown in parse_managed_blocks(self.org_note()).items()
            if url.startswith(prefix)
        }

    def synced_pages(self, dialect: str) -> dict[str, str]:
        """Page id → what Dot holds for it (active notes joined, or its block)."""
        if dialect == "single_note":
            return self.blocks()
        return {
            page: "\n".join(text for _, text, active in notes if active)
            for page, notes in self.owned_notes().items()
            if any(active for *_, active in notes)
        }

    def dot_state(self, dialect: str) -> object:
        """Everything Dot holds in this dialect, for before/after comparisons."""
        return self.org_note() if dialect == "single_note" else self.all_notes()


def materialization_metadata(result: ExecuteInProcessResult) -> dict[str, Any]:
    events = result.get_asset_materialization_events()
    assert len(events) == 1, "expected one materialization"
    metadata = events[0].materialization.metadata
    return {key: getattr(value, "value", value) for key, value in metadata.items()}


def failure_of(result: ExecuteInProcessResult) -> tuple[str, dict[str, Any]]:
    """The failed step's Failure description and metadata."""
    failures = [event for event in result.all_events if event.is_step_failure]
    assert failures, "expected the step to fail"
    data = failures[0].step_failure_data
    user = data.user_failure_data
    assert user is not None, data.error
    return user.description or "", {k: getattr(v, "value", v) for k, v in user.metadata.items()}


def failed_run_metadata(result: ExecuteInProcessResult) -> dict[str, Any]:
    """What a failed run did, from its Failure; a failed run records no materialization
    (it must not count as fresh for freshness or automation)."""
    assert result.get_asset_materialization_events() == [], "a failed run materialized"
    return failure_of(result)[1]


def check_named(result: ExecuteInProcessResult, name: str) -> AssetCheckEvaluation:
    """The run's evaluation of the note sync's check `name`."""
    [evaluation] = [e for e in result.get_asset_check_evaluations() if e.check_name == name]
    return evaluation


def current_check(result: ExecuteInProcessResult) -> AssetCheckEvaluation:
    return check_named(result, "every_selected_page_has_a_current_note")


def left_check(result: ExecuteInProcessResult) -> AssetCheckEvaluation:
    return check_named(result, "no_note_outlives_its_page")
