"""`dot/external_assets`: the asset that makes Dot's catalogue match its sources each run.

Dot recommends dashboards and data apps from the "external assets" it knows; teams import
them by hand and nobody removes the deleted ones. This asset runs `catalogue_runs` (plan,
writes, read-back) in a step and reports it: counts per outcome and one table row per
asset, under the `dot/` metadata namespace. The check `dot_catalogue_reconciled` passes only
when every write went through and a fresh plan against Dot's list would write nothing.
"""

# No `from __future__ import annotations`: Dagster reads the `context` annotation of asset
# functions at definition time and rejects it as a string.

import time
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from dagster import (
    AssetCheckResult,
    AssetCheckSpec,
    AssetExecutionContext,
    AssetKey,
    AssetsDefinition,
    Failure,
    MaterializeResult,
    MetadataValue,
    TableColumn,
    TableRecord,
    TableSchema,
    asset,
)

from dot_orchestration._compat import NamespacedMetadataSet
from dot_orchestration.catalogue.settings import DEFAULT_POOL
from dot_orchestration.catalogue.sources import DagsterAssetGraph
from dot_orchestration.catalogue_runs import (
    CatalogueRun,
    ExternalAssetSource,
    apply_catalogue,
    check_sources,
    collect_source_assets,
)
from dot_orchestration.client import DotClient, DotError, ExternalAsset
from dot_orchestration.resources import DotResource
from dot_orchestration.transforms.catalogue import (
    DEFAULT_ID_PREFIX,
    Action,
    CatalogueError,
    Change,
    DesiredAsset,
    RemovalPolicy,
    UnreadableListingError,
    parse_listed_assets,
    plan_reconcile,
)

#: Where the catalogue asset lives unless told otherwise.
CATALOGUE_ASSET_KEY = AssetKey(["dot", "external_assets"])
#: The check the catalogue asset reports: does Dot now hold exactly what the sources say?
CATALOGUE_RECONCILED_CHECK = "dot_catalogue_reconciled"

_REMOVAL_PHRASES: dict[str, str] = {
    "deactivate": "re-imported with `active: false`",
    "delete": "deleted",
    "keep": "left as they are",
}
_COUNT_LABELS: dict[Action, str] = {
    "create": "created",
    "update": "updated",
    "unchanged": "unchanged",
    "deactivate": "deactivated",
    "delete": "deleted",
    "keep": "kept",
}


class DotCatalogueMetadata(NamespacedMetadataSet):
    """Shown on the catalogue asset so everyone can see which ids it owns and what it does
    with the ones that disappear."""

    id_prefix: str | None = None
    on_removed: str | None = None

    @classmethod
    def namespace(cls) -> str:
        return "dot"


def _dot(metadata: Mapping[str, Any]) -> dict[str, Any]:
    """Run metadata under the `dot/` namespace, like every key this package writes."""
    return {f"dot/{name}": value for name, value in metadata.items()}


def build_dot_catalogue_asset(
    sources: Sequence[ExternalAssetSource],
    *,
    id_prefix: str = DEFAULT_ID_PREFIX,
    on_removed: RemovalPolicy = "deactivate",
    key: AssetKey = CATALOGUE_ASSET_KEY,
    group_name: str = "dot",
    owners: Sequence[str] = (),
    pool: str = DEFAULT_POOL,
) -> AssetsDefinition:
    """The asset that reconciles Dot's external assets with `sources`.

    Configuration mistakes raise here, at definition load: no source, an object that is
    not a source, a blank prefix, an unknown removal policy (an invalid catalogue file
    already raised when its `CatalogueFile` was built).
    """
    check_sources(sources, id_prefix, on_removed)
    graph_keys = [k for s in sources if isinstance(s, DagsterAssetGraph) for k in s.asset_keys]

    @asset(
        key=key,
        deps=graph_keys,
        group_name=group_name,
        kinds={"dot"},
        owners=list(owners),
        tags={"dot/operation": "catalogue"},
        metadata={**DotCatalogueMetadata(id_prefix=id_prefix, on_removed=on_removed)},
        description=(
            "Dot's external assets (dashboards, data apps) reconciled with "
            + ", ".join(source.name for source in sources)
            + f", so Dot recommends what exists. Owns the ids starting with `{id_prefix}`; "
            f"those no source lists any more are {_REMOVAL_PHRASES[on_removed]}. On failure "
            "the run log and the check list the failed ids: 401/403 means DOT_API_KEY needs "
            "an admin token, 5xx that Dot is down (re-execute later; unchanged assets are "
            "skipped, so re-running is cheap). A source error (bad catalogue entry) fails "
            "before anything is written; the message names the file and entry."
        ),
        check_specs=[
            AssetCheckSpec(
                CATALOGUE_RECONCILED_CHECK,
                asset=key,
                description="Every write went through and Dot's list, read again, needs no "
                "further write. `dot/drift` counts the assets that still differ (someone "
                "edited them in Dot during the run, or Dot stores a field differently).",
            )
        ],
        pool=pool,
    )
    def _dot_catalogue(
        context: AssetExecutionContext, dot: DotResource
    ) -> Iterator[MaterializeResult | AssetCheckResult]:
        checked = bool(context.selected_asset_check_keys)
        started = time.monotonic()
        try:
            with dot.get_client() as client:
                desired = collect_source_assets(sources, id_prefix=id_prefix)
                run = apply_catalogue(
                    client,
                    desired,
                    id_prefix=id_prefix,
                    on_removed=on_removed,
                    max_concurrency=dot.max_concurrency,
                )
                check = (
                    catalogue_reconciled_check(
                        client,
                        desired,
                        run.failures,
                        id_prefix=id_prefix,
                        on_removed=on_removed,
                        listed=run.listed,
                    )
                    if checked
                    else None
                )
        except (CatalogueError, UnreadableListingError, DotError) as error:
            raise Failure(
                description=f"{error}; nothing was written to Dot",
                metadata=_dot({"catalogue_error_class": type(error).__name__}),
            ) from error
        failures = run.failures
        for asset_id, write_error in sorted(failures.items()):
            context.log.error(f"Dot external asset {asset_id}: {write_error}")
        metadata = _catalogue_metadata(run, len(desired), time.monotonic() - started)
        if failures:
            if check is not None:
                yield check
            raise Failure(
                description=f"{len(failures)} of {len(run.plan.writes)} Dot external asset "
                f"writes failed: {', '.join(sorted(failures))}; the others were applied",
                metadata=metadata,
            ) from failures[min(failures)]
        yield MaterializeResult(metadata=metadata, check_results=[check] if check else None)

    return _dot_catalogue


def catalogue_reconciled_check(
    client: DotClient,
    desired: Sequence[DesiredAsset],
    failures: Mapping[str, DotError],
    *,
    id_prefix: str,
    on_removed: RemovalPolicy,
    listed: Sequence[ExternalAsset] | None = None,
) -> AssetCheckResult:
    """Whether Dot holds `desired` now: no failed write, and a fresh plan writes nothing.

    Planning again against a list read after the writes checks the outcome, not the
    intent: a write Dot accepted but stored differently, or an edit made in Dot meanwhile,
    shows as drift. `listed` is that list when the run already read it; else it is read.
    """
    if failures:
        return _reconciled_result(
            f"{len(failures)} writes failed: {', '.join(sorted(failures))}",
            failed=len(failures),
        )
    if listed is None:
        try:
            listed = parse_listed_assets(client.list_external_assets())
        except (DotError, UnreadableListingError) as error:
            return _reconciled_result(f"could not read Dot's list again to verify: {error}")
    drift = plan_reconcile(desired, listed, id_prefix=id_prefix, on_removed=on_removed).writes
    if drift:
        ids = ", ".join(change.asset_id for change in drift)
        return _reconciled_result(f"{len(drift)} assets still differ in Dot: {ids}", drift=drift)
    return AssetCheckResult(
        check_name=CATALOGUE_RECONCILED_CHECK,
        passed=True,
        metadata=_dot({"failed": MetadataValue.int(0), "drift": MetadataValue.int(0)}),
    )


def _reconciled_result(
    description: str, *, failed: int = 0, drift: Sequence[Change] = ()
) -> AssetCheckResult:
    return AssetCheckResult(
        check_name=CATALOGUE_RECONCILED_CHECK,
        passed=False,
        description=description,
        metadata=_dot(
            {
                "failed": MetadataValue.int(failed),
                "drift": MetadataValue.int(len(drift)),
                "drifted_ids": MetadataValue.json(sorted(change.asset_id for change in drift)),
            }
        ),
    )


def _catalogue_metadata(run: CatalogueRun, desired: int, seconds: float) -> dict[str, Any]:
    """Counts per outcome (plotted by the UI) and one table row per asset, for the
    materialization or the failure. The failure chains only the first write's error, so
    `dot/failed_error_classes` names each failed write's class."""
    plan, failures = run.plan, run.failures
    metadata: dict[str, Any] = {
        label: MetadataValue.int(
            sum(
                1
                for change in plan.changes
                if change.action == action and change.asset_id not in failures
            )
        )
        for action, label in _COUNT_LABELS.items()
    }
    metadata["failed"] = MetadataValue.int(len(failures))
    metadata["source_assets"] = MetadataValue.int(desired)
    metadata["catalogue_duration_s"] = MetadataValue.float(round(seconds, 3))
    metadata["catalogue_assets"] = MetadataValue.table(
        records=[_table_row(change, change.asset_id in failures) for change in plan.changes],
        schema=_TABLE_SCHEMA,
    )
    if failures:
        ids = sorted(failures)
        metadata["failed_assets"] = MetadataValue.json({i: str(failures[i]) for i in ids})
        metadata["failed_error_classes"] = MetadataValue.json(
            {i: type(failures[i]).__name__ for i in ids}
        )
    return _dot(metadata)


_TABLE_SCHEMA = TableSchema(
    columns=[
        TableColumn("id"),
        TableColumn("action"),
        TableColumn("result"),
        TableColumn("source"),
        TableColumn("name"),
        TableColumn("subtype"),
        TableColumn("active", "bool"),
        TableColumn("content_hash"),
    ]
)


def _table_row(change: Change, failed: bool) -> TableRecord:
    return TableRecord(
        {
            "id": change.asset_id,
            "action": change.action,
            "result": "failed" if failed else "ok",
            "source": change.origin or "",
            "name": change.asset.name or "",
            "subtype": change.asset.subtype,
            "active": change.asset.active,
            "content_hash": change.content_hash[:12],
        }
    )


__all__ = [
    "CATALOGUE_ASSET_KEY",
    "CATALOGUE_RECONCILED_CHECK",
    "DotCatalogueMetadata",
    "build_dot_catalogue_asset",
    "catalogue_reconciled_check",
]
