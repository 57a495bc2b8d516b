"""Dot's catalogue of dashboards and data apps, kept in step with its sources by one asset.

Dot recommends dashboards and data apps from the "external assets" it knows. Teams import
them by hand and nobody removes the deleted ones. Here the catalogue is a Dagster asset,
`dot/external_assets`, that makes Dot's list match its sources on every run:

- sources, combinable: a YAML catalogue in the repo (`CatalogueFile`), the BI objects that
  Dagster integrations already model (`DagsterAssetGraph`: Tableau, Looker, Power BI, Sigma,
  Metabase, Omni dashboards, or any asset marked with `DotExternalAssetMetadata`), and any
  object with a `name` and an `external_assets()` method (`ExternalAssetSource`);
- new and changed assets are imported, unchanged ones skipped by content hash against what
  Dot lists now, so a no-op run makes no write call;
- owned assets (ids in the `dagster:` namespace, see `transforms.catalogue`) that left the
  sources are deactivated, deleted or kept (`on_removed`); Dot-owned ones are never touched;
- writes fan out over `DotResource.max_concurrency` threads; a failed write fails the run
  with the failing ids listed, after every other write went through;
- Dot documents no reply to an import, so after the writes Dot's list is read once more
  and a write it does not show fails like a refused one (`DotEffectNotObservedError`):
  the run never reports an asset created, updated, deactivated or deleted that Dot does
  not list that way;
- the asset check `dot_catalogue_reconciled` then reads Dot's list again and plans once
  more: it passes only when every write went through and that plan would write nothing.
"""

# No `from __future__ import annotations`: Dagster reads the `context` annotation of asset
# functions at definition time and rejects it as a string.

import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from dagster import (
    AssetCheckResult,
    AssetCheckSpec,
    AssetExecutionContext,
    AssetKey,
    AssetsDefinition,
    AssetSpec,
    Failure,
    MaterializeResult,
    MetadataValue,
    TableColumn,
    TableRecord,
    TableSchema,
    UrlMetadataValue,
    asset,
)

from dot_orchestration._compat import NamespacedMetadataSet
from dot_orchestration.client import DotClient, DotEffectNotObservedError, DotError, ExternalAsset
from dot_orchestration.resources import DotResource
from dot_orchestration.transforms.catalogue import (
    DEFAULT_ID_PREFIX,
    Action,
    CatalogueError,
    Change,
    DesiredAsset,
    ReconcilePlan,
    RemovalPolicy,
    UnreadableListingError,
    check_reconcile_settings,
    collect_desired,
    load_catalogue,
    parse_listed_assets,
    plan_reconcile,
    unobserved_writes,
    validate_entries,
)

#: Where the catalogue asset lives unless told otherwise.
CATALOGUE_ASSET_KEY = AssetKey(["dot", "external_assets"])
#: Kinds that Dagster's BI integrations put on the objects they model.
BI_KINDS: frozenset[str] = frozenset({"tableau", "looker", "powerbi", "sigma", "metabase", "omni"})
#: The check the catalogue asset reports: does Dot now hold exactly what the sources say?
CATALOGUE_RECONCILED_CHECK = "dot_catalogue_reconciled"
#: Of a BI tool's objects, the ones people open: Dot recommends these, not explores,
#: views, semantic models or data sources.
DASHBOARD_KINDS: frozenset[str] = frozenset({"dashboard", "workbook", "report", "document"})

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


class DotExternalAssetMetadata(NamespacedMetadataSet):
    """Marks any Dagster asset as a Dot external asset, whatever its kinds.

    `AssetSpec(..., metadata={**DotExternalAssetMetadata(external_asset_subtype="streamlit_app")})`
    """

    external_asset_subtype: str | None = None

    @classmethod
    def namespace(cls) -> str:
        return "dot"


class DotCatalogueMetadata(NamespacedMetadataSet):
    """Shown on the catalogue asset so everyone can see which ids it owns and what it does
    with the ones that disappear."""

    id_prefix: str | None = None
    on_removed: str | None = None

    @classmethod
    def namespace(cls) -> str:
        return "dot"


@runtime_checkable
class ExternalAssetSource(Protocol):
    """Anything that says which external assets Dot should know: the hook for own sources.

    `name` appears in error messages and in the run's table. `external_assets()` runs in
    the reconcile step (it may call an API) and returns `ExternalAsset`s or mappings of
    their fields; ids are moved into the owned namespace afterwards.
    """

    name: str

    def external_assets(self) -> Iterable[ExternalAsset | Mapping[str, Any]]: ...


class CatalogueFile:
    """A YAML catalogue in the user's repo: checked when definitions load, re-read each run.

    Loading fails on the first problem, naming the file, the entry and the field, so a bad
    edit never reaches a run.
    """

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        self.name = f"catalogue {self.path.name}"
        load_catalogue(self.path)

    def external_assets(self) -> list[ExternalAsset]:
        return load_catalogue(self.path)


class DotExternalAssetTranslator:
    """How a Dagster asset becomes a Dot external asset; subclass it to change any part."""

    bi_kinds: frozenset[str] = BI_KINDS
    dashboard_kinds: frozenset[str] = DASHBOARD_KINDS

    def is_bi_object(self, spec: AssetSpec) -> bool:
        """Modelled by a BI integration (any object: dashboard, explore, data source...)."""
        return bool(spec.kinds & self.bi_kinds) and "dot" not in spec.kinds

    def is_external_asset(self, spec: AssetSpec) -> bool:
        """Marked explicitly, or a BI dashboard-like object. Dot's own dashboards (kind
        `dot`, see `dot_exposures`) are left out, so they never loop back into Dot."""
        if DotExternalAssetMetadata.extract(spec.metadata).external_asset_subtype:
            return True
        return self.is_bi_object(spec) and bool(spec.kinds & self.dashboard_kinds)

    def get_subtype(self, spec: AssetSpec) -> str:
        """The marked subtype, else `<tool>_<object>` like Dot's own (`looker_dashboard`)."""
        marked = DotExternalAssetMetadata.extract(spec.metadata).external_asset_subtype
        if marked:
            return marked
        tool = min(spec.kinds & self.bi_kinds)
        kind = min(spec.kinds & self.dashboard_kinds)
        return f"{tool}_{kind}"

    def get_url(self, spec: AssetSpec) -> str | None:
        """The first URL in the metadata (`dagster-looker/web_url`, `dagster-powerbi/web_url`,
        ...), else an http(s) string under a key ending in `url`."""
        for value in spec.metadata.values():
            if isinstance(value, UrlMetadataValue):
                return value.url
        for key, value in spec.metadata.items():
            if key.lower().endswith("url") and str(value).startswith(("http://", "https://")):
                return str(value)
        return None

    def get_dot_description(self, tables: Sequence[AssetKey]) -> str | None:
        """What Dot should know beyond the name: the tables the dashboard reads."""
        if not tables:
            return None
        lines = [f"- `{key.to_user_string()}`" for key in tables]
        return "Reads these tables (from the Dagster asset graph):\n" + "\n".join(lines)

    def get_external_asset(self, spec: AssetSpec, tables: Sequence[AssetKey]) -> ExternalAsset:
        """The asset as Dot should know it; its id is the asset key (the namespace comes later)."""
        group = spec.group_name if spec.group_name not in (None, "default") else None
        return ExternalAsset(
            id=spec.key.to_user_string(),
            subtype=self.get_subtype(spec),
            folder=group,
            name=spec.key.path[-1],
            description=spec.description,
            url=self.get_url(spec),
            dot_description=self.get_dot_description(tables),
        )


class DagsterAssetGraph:
    """The Dagster assets that are BI dashboards, as Dot external assets.

    Pass every asset of the code location (dbt assets, BI specs...): the tables a dashboard
    reads are found by walking upstream through BI objects (a Tableau dashboard's sheets and
    data sources) to the first asset that is not one, or to where the graph ends.
    """

    name = "Dagster asset graph"

    def __init__(
        self,
        assets: Sequence[AssetsDefinition | AssetSpec],
        translator: DotExternalAssetTranslator | None = None,
    ) -> None:
        self._translator = translator or DotExternalAssetTranslator()
        self._specs = {spec.key: spec for spec in _specs_of(assets)}
        self._assets = {
            key: self._translator.get_external_asset(spec, self._tables_read(spec))
            for key, spec in self._specs.items()
            if self._translator.is_external_asset(spec)
        }

    @property
    def asset_keys(self) -> list[AssetKey]:
        """The Dagster assets that become Dot external assets (upstream of the catalogue)."""
        return sorted(self._assets, key=AssetKey.to_user_string)

    def external_assets(self) -> list[ExternalAsset]:
        return list(self._assets.values())

    def _tables_read(self, spec: AssetSpec) -> list[AssetKey]:
        tables: set[AssetKey] = set()
        seen: set[AssetKey] = set()
        pending = [dep.asset_key for dep in spec.deps]
        while pending:
            key = pending.pop()
            if key in seen:
                continue
            seen.add(key)
            upstream = self._specs.get(key)
            if upstream is None or not upstream.deps or not self._translator.is_bi_object(upstream):
                tables.add(key)
            else:
                pending.extend(dep.asset_key for dep in upstream.deps)
        return sorted(tables, key=AssetKey.to_user_string)


def _specs_of(assets: Sequence[AssetsDefinition | AssetSpec]) -> Iterable[AssetSpec]:
    for item in assets:
        if isinstance(item, AssetSpec):
            yield item
        else:
            yield from item.specs


def build_dot_catalogue_asset(
    sources: Sequence[ExternalAssetSource],
    *,
    id_prefix: str = DEFAULT_ID_PREFIX,
    on_removed: RemovalPolicy = "deactivate",
    key: AssetKey = CATALOGUE_ASSET_KEY,
    group_name: str = "dot",
    owners: Sequence[str] = (),
) -> AssetsDefinition:
    """The asset that reconciles Dot's external assets with `sources`.

    Configuration mistakes raise here, at definition load: no source, an object that is
    not a source, a blank prefix, an unknown removal policy (an invalid catalogue file
    already raised when its `CatalogueFile` was built).
    """
    _check_configuration(sources, id_prefix, on_removed)
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
                "further write. `drift` counts the assets that still differ (someone edited "
                "them in Dot during the run, or Dot stores a field differently).",
            )
        ],
        required_resource_keys={"dot"},
        pool="dot_api",
    )
    def _dot_catalogue(
        context: AssetExecutionContext,
    ) -> Iterator[MaterializeResult | AssetCheckResult]:
        dot: DotResource = context.resources.dot
        checked = bool(context.selected_asset_check_keys)
        started = time.monotonic()
        try:
            with dot.get_client() as client:
                desired = collect_source_assets(sources, id_prefix=id_prefix)
                plan, failures, listed = _apply_and_verify(
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
                        failures,
                        id_prefix=id_prefix,
                        on_removed=on_removed,
                        listed=listed,
                    )
                    if checked
                    else None
                )
        except (CatalogueError, UnreadableListingError, DotError) as error:
            raise Failure(
                description=f"{error}; nothing was written to Dot",
                metadata={"error_class": type(error).__name__},
            ) from error
        for asset_id, error in sorted(failures.items()):
            context.log.error(f"Dot external asset {asset_id}: {error}")
        metadata = _catalogue_metadata(plan, failures, len(desired), time.monotonic() - started)
        if failures:
            if check is not None:
                yield check
            raise Failure(
                description=f"{len(failures)} of {len(plan.writes)} Dot external asset writes "
                f"failed: {', '.join(sorted(failures))}; the others were applied",
                metadata=metadata,
            ) from failures[min(failures)]
        yield MaterializeResult(metadata=metadata, check_results=[check] if check else None)

    return _dot_catalogue


def _check_configuration(
    sources: Sequence[ExternalAssetSource], id_prefix: str, on_removed: str
) -> None:
    if not sources:
        raise ValueError("build_dot_catalogue_asset: no sources given")
    for source in sources:
        if not isinstance(source, ExternalAssetSource):
            raise TypeError(
                f"build_dot_catalogue_asset: {source!r} is not a source; give it a `name` and "
                "an `external_assets()` method returning ExternalAssets or mappings"
            )
    check_reconcile_settings(id_prefix, on_removed)


def reconcile_dot_catalogue(
    client: DotClient,
    sources: Sequence[ExternalAssetSource],
    *,
    id_prefix: str = DEFAULT_ID_PREFIX,
    on_removed: RemovalPolicy = "deactivate",
    max_concurrency: int = 8,
) -> tuple[ReconcilePlan, dict[str, DotError]]:
    """Read the sources and Dot's list, then apply the plan; returns it and failures by id.

    What would make the plan wrong raises before anything is written: a bad source
    (`CatalogueError`), a list Dot could not give (`DotError`) or that cannot be read
    (`UnreadableListingError`). Failed writes are returned, not raised, so that every
    other write still happens; each keeps its typed `DotError`, so a caller can tell a
    refused token from an unavailable Dot.
    """
    desired = collect_source_assets(sources, id_prefix=id_prefix)
    return apply_catalogue(
        client, desired, id_prefix=id_prefix, on_removed=on_removed, max_concurrency=max_concurrency
    )


def collect_source_assets(
    sources: Sequence[ExternalAssetSource], *, id_prefix: str
) -> list[DesiredAsset]:
    """Every source's assets, validated, with ids in the owned namespace."""
    return collect_desired(
        (
            (source.name, validate_entries(list(source.external_assets()), origin=source.name))
            for source in sources
        ),
        id_prefix=id_prefix,
    )


def apply_catalogue(
    client: DotClient,
    desired: Sequence[DesiredAsset],
    *,
    id_prefix: str,
    on_removed: RemovalPolicy,
    max_concurrency: int,
) -> tuple[ReconcilePlan, dict[str, DotError]]:
    """Plan `desired` against what Dot lists now, apply the writes, then list once more and
    verify them; failures by id.

    Dot documents no reply to an import or a deletion, so a write counts only once Dot's
    list shows it: one that Dot answered with a 2xx but does not show fails with
    `DotEffectNotObservedError`, naming what was sent and what Dot lists.
    """
    plan, failures, _ = _apply_and_verify(
        client, desired, id_prefix=id_prefix, on_removed=on_removed, max_concurrency=max_concurrency
    )
    return plan, failures


def _apply_and_verify(
    client: DotClient,
    desired: Sequence[DesiredAsset],
    *,
    id_prefix: str,
    on_removed: RemovalPolicy,
    max_concurrency: int,
) -> tuple[ReconcilePlan, dict[str, DotError], list[ExternalAsset] | None]:
    """`apply_catalogue`, plus Dot's list as last read (after the writes, or the one the
    plan was made from when nothing was written; None when it could not be read), so the
    asset check need not read it again."""
    current = parse_listed_assets(client.list_external_assets())
    plan = plan_reconcile(desired, current, id_prefix=id_prefix, on_removed=on_removed)
    failures = _apply_writes(client, plan.writes, max_concurrency=max_concurrency)
    accepted = [change for change in plan.writes if change.asset_id not in failures]
    if not plan.writes:
        return plan, failures, current
    listed = _list_after_writes(client)
    if accepted:
        failures.update(_verify_writes(accepted, listed))
    return plan, failures, listed if isinstance(listed, list) else None


def _list_after_writes(client: DotClient) -> list[ExternalAsset] | Exception:
    """Dot's list after the writes, or why it could not be read."""
    try:
        return parse_listed_assets(client.list_external_assets())
    except (DotError, UnreadableListingError) as error:
        return error


def _verify_writes(
    accepted: Sequence[Change], listed: list[ExternalAsset] | Exception
) -> dict[str, DotError]:
    """The accepted writes Dot's list does not show, each as `DotEffectNotObservedError`."""
    if isinstance(listed, Exception):
        unobserved = {change.asset_id: f"nothing readable ({listed})" for change in accepted}
    else:
        unobserved = unobserved_writes(accepted, listed)
    by_id = {change.asset_id: change for change in accepted}
    return {
        asset_id: DotEffectNotObservedError(
            f"Dot answered 2xx to the {by_id[asset_id].action} of external asset {asset_id}, "
            f"but its list of external assets (read after the writes) shows {seen}. Next: "
            "look the asset up in Dot; re-materialize to write it again, and if Dot keeps "
            "storing it differently, report the difference (the catalogue compares every "
            "field Dot's ExternalAsset has).",
            expected={asset_id: by_id[asset_id].asset.model_dump(mode="json")},
            observed={asset_id: seen},
        )
        for asset_id, seen in unobserved.items()
    }


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
        metadata={"failed": MetadataValue.int(0), "drift": MetadataValue.int(0)},
    )


def _reconciled_result(
    description: str, *, failed: int = 0, drift: Sequence[Change] = ()
) -> AssetCheckResult:
    return AssetCheckResult(
        check_name=CATALOGUE_RECONCILED_CHECK,
        passed=False,
        description=description,
        metadata={
            "failed": MetadataValue.int(failed),
            "drift": MetadataValue.int(len(drift)),
            "drifted_ids": MetadataValue.json(sorted(change.asset_id for change in drift)),
        },
    )


def _apply_writes(
    client: DotClient, writes: Sequence[Change], *, max_concurrency: int
) -> dict[str, DotError]:
    """Send the writes over at most `max_concurrency` threads; the error of each failure by id."""
    failures: dict[str, DotError] = {}
    if not writes:
        return failures
    workers = min(max_concurrency, len(writes))
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="dot-catalogue") as pool:
        futures = {pool.submit(_write, client, change): change for change in writes}
        for future in as_completed(futures):
            try:
                future.result()
            except DotError as error:
                failures[futures[future].asset_id] = error
    return failures


def _write(client: DotClient, change: Change) -> None:
    if change.action == "delete":
        client.delete_external_asset(change.asset_id)
    else:
        client.import_external_asset(change.asset)


def _catalogue_metadata(
    plan: ReconcilePlan, failures: Mapping[str, DotError], desired: int, seconds: float
) -> dict[str, Any]:
    """Counts per outcome (plotted by the UI) and one table row per asset, for the
    materialization or the failure. The failure chains only the first write's error, so
    `error_class` names each failed write's class."""
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
    metadata["duration_s"] = MetadataValue.float(round(seconds, 3))
    metadata["assets"] = MetadataValue.table(
        records=[_table_row(change, change.asset_id in failures) for change in plan.changes],
        schema=_TABLE_SCHEMA,
    )
    if failures:
        ids = sorted(failures)
        metadata["failed_assets"] = MetadataValue.json({i: str(failures[i]) for i in ids})
        metadata["error_class"] = MetadataValue.json({i: type(failures[i]).__name__ for i in ids})
    return metadata


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
    "BI_KINDS",
    "CATALOGUE_ASSET_KEY",
    "CATALOGUE_RECONCILED_CHECK",
    "DASHBOARD_KINDS",
    "CatalogueFile",
    "DagsterAssetGraph",
    "DotCatalogueMetadata",
    "DotExternalAssetMetadata",
    "DotExternalAssetTranslator",
    "ExternalAssetSource",
    "apply_catalogue",
    "build_dot_catalogue_asset",
    "catalogue_reconciled_check",
    "collect_source_assets",
    "reconcile_dot_catalogue",
]
