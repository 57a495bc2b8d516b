"""The note sync as a Dagster asset: one asset per sync, in the notes pool, retried by
Dagster after a transient failure.

**Shape.** One asset per sync (``dot/notes/<name>``), not one per page and not dynamic
partitions: the selection is only known by asking Confluence (so no asset can exist per
page at load time), a removed page is not a partition anyone would materialize, and the
``single_note`` dialect writes all pages into one note anyway. A run syncs every selected
page, or only the pages its run config names; either way the result is the same, because
notes are per page and block merging does not depend on order.

**A failed run is a failed materialization.** When a page fails, the other pages are still
written, then the step fails: no materialization is recorded (freshness and automation see
a failure), the Failure carries the run's page-by-page metadata, and the notes the run owns
are kept in an observation for the next run (`metadata.recorded_ownership`).

**Concurrency.** Every note writer runs in one Dagster pool (`DotNotesSettings.pool`,
default ``dot_notes``); give it a limit of 1 (``dagster instance concurrency set dot_notes
1``, or ``concurrency: pools: default_limit: 1`` in ``dagster.yaml``) so two runs never
interleave their read-modify-write. Humans edit notes too, and Dot has no compare-and-swap,
so a run re-reads Dot right before it writes (`transforms.note_sync`).

**Retries.** The clients retry each call, except a note create whose answer was lost (a
5xx, a timeout, a dropped connection): Dot may have made the note, so sending it again
could make two. Dagster retries the step instead (`ConfluenceNoteSync.step_retries`), and
the retried step re-lists Dot's notes first: a note the lost create did make carries our
marker and the page's version, so it is adopted, not created again. Only transient
failures are retried (`TRANSIENT_ERRORS`); a refused token or a bad page fails at once.
"""

from collections.abc import Iterator, Mapping

from dagster import (
    AssetExecutionContext,
    AssetObservation,
    AssetsDefinition,
    AssetSpec,
    DagsterError,
    Failure,
    MaterializeResult,
    MetadataValue,
    multi_asset,
)

from dot_orchestration.notes.metadata import (
    ConfluenceNoteMetadata,
    failed_run_observation,
    recorded_ownership,
    run_metadata,
)
from dot_orchestration.notes.settings import (
    NOTES_POOL,
    ConfluenceNoteRunConfig,
    op_name,
    step_retry_policy,
)
from dot_orchestration.resources import ConfluenceResource, DotResource
from dot_orchestration.transforms.note_sync import (
    ConfluenceNoteSync,
    NoteSyncError,
    run_note_sync,
)

__all__ = ["ConfluenceNotesTranslator", "build_confluence_note_asset", "note_failure"]


class ConfluenceNotesTranslator:
    """The seam for the asset's key, group, owners, tags and metadata: subclass it and
    override `get_asset_spec`; every key derived from the asset (checks, job) follows it."""

    def get_asset_spec(self, sync: ConfluenceNoteSync) -> AssetSpec:
        dialect = (
            "one org note per page (`/api/org_notes`)"
            if sync.dialect == "org_notes"
            else "one managed block per page in the org note (`/api/save_note`)"
        )
        return AssetSpec(
            key=["dot", "notes", sync.name],
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
                    note_dialect=sync.dialect, note_selection=sync.selection.describe()
                )
            },
        )


def build_confluence_note_asset(
    sync: ConfluenceNoteSync,
    *,
    pool: str = NOTES_POOL,
    translator: ConfluenceNotesTranslator | None = None,
) -> AssetsDefinition:
    """The asset that writes the sync's notes, in `pool`, retried by Dagster after a
    transient failure (`settings.step_retry_policy`)."""
    spec = (translator or ConfluenceNotesTranslator()).get_asset_spec(sync)
    spec = spec.merge_attributes(metadata={**ConfluenceNoteMetadata(pool=pool)})

    @multi_asset(
        name=op_name(sync),
        specs=[spec],
        pool=pool,
        retry_policy=step_retry_policy(sync),
    )
    def _notes(
        context: AssetExecutionContext,
        config: ConfluenceNoteRunConfig,
        dot: DotResource,
        confluence: ConfluenceResource,
    ) -> Iterator[MaterializeResult | AssetObservation]:
        try:
            yield from _sync(context, sync, config, dot, confluence)
        except (Failure, DagsterError):
            raise
        except Exception as error:
            raise note_failure(
                f"Confluence note sync {sync.name!r} failed: {type(error).__name__}: {error}",
                retryable=False,
            ) from error

    return _notes


def _sync(
    context: AssetExecutionContext,
    sync: ConfluenceNoteSync,
    config: ConfluenceNoteRunConfig,
    dot: DotResource,
    confluence: ConfluenceResource,
) -> Iterator[MaterializeResult | AssetObservation]:
    """One run: a materialization when every page synced; otherwise the ownership record
    as an observation, then a Failure carrying what the run did."""
    key = context.asset_key
    record = recorded_ownership(context.instance, key)
    try:
        with confluence.get_client() as wiki, dot.get_client() as client:
            run = run_note_sync(
                sync,
                wiki,
                client,
                record,
                context.log,
                page_ids=config.page_ids,
                refresh=config.refresh,
                max_concurrency=confluence.max_concurrency,
            )
    except NoteSyncError as error:
        metadata: dict[str, MetadataValue] = {}
        if error.run is not None:
            yield failed_run_observation(key, sync.dialect, error.run)
            metadata = run_metadata(sync.dialect, error.run)
        raise note_failure(
            error.message, retryable=error.retryable, metadata=metadata, **error.details
        ) from (error.cause or error)
    yield MaterializeResult(metadata=run_metadata(sync.dialect, run))


def note_failure(
    description: str,
    *,
    retryable: bool,
    metadata: Mapping[str, MetadataValue] | None = None,
    **details: Mapping[str, str],
) -> Failure:
    """A Failure the step's retry policy applies to only when `retryable`; `details` are
    shown as JSON metadata (`dot/<name>`) beside `metadata`."""
    return Failure(
        description=description,
        metadata={
            **(metadata or {}),
            **{f"dot/{name}": MetadataValue.json(value) for name, value in details.items()},
        },
        allow_retries=retryable,
    )
