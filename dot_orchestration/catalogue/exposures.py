"""`dot/exposures_snapshot`: the asset that refreshes an exposures state file.

For single-host deployments that keep the exposures in a file (`state_path`): the file is
written on the machine that runs the step and read when the code location loads, so with
`dagster dev` or one VM a schedule plus a reload shows new dashboards. Where steps run in
their own containers, refresh at build time instead (`dot-orchestration refresh-exposures`,
or a `DotComponent` without `state_path` and `dg utils refresh-defs-state`).
"""

# No `from __future__ import annotations`: Dagster reads the `context` annotation of asset
# functions at definition time and rejects it as a string.

from collections.abc import Sequence
from pathlib import Path

from dagster import AssetExecutionContext, AssetKey, AssetsDefinition, MaterializeResult, asset

from dot_orchestration._compat import NamespacedMetadataSet
from dot_orchestration.catalogue.settings import DEFAULT_POOL
from dot_orchestration.catalogue_runs import refresh_dot_exposures
from dot_orchestration.resources import DotResource

#: The asset that refreshes the state file, unless told otherwise.
EXPOSURES_SNAPSHOT_KEY = AssetKey(["dot", "exposures_snapshot"])


class DotExposuresSnapshotMetadata(NamespacedMetadataSet):
    """What a refresh found, on each materialization of the snapshot asset."""

    exposures: int | None = None
    apps_without_dbt_models: int | None = None
    exposures_changed: bool | None = None
    exposures_state_path: str | None = None

    @classmethod
    def namespace(cls) -> str:
        return "dot"


def build_refresh_exposures_asset(
    state_path: Path,
    *,
    connection_id: str | None = None,
    key: AssetKey = EXPOSURES_SNAPSHOT_KEY,
    group_name: str = "dot",
    owners: Sequence[str] = (),
    pool: str = DEFAULT_POOL,
) -> AssetsDefinition:
    """An asset that refreshes the state file at `state_path` (see the module docstring)."""

    @asset(
        key=key,
        group_name=group_name,
        kinds={"dot", "json"},
        tags={"dot/operation": "exposures"},
        owners=list(owners),
        description=f"Dot's dbt exposures cached in {state_path.name}; definitions read only "
        "this file. After it changed, reload the code location to see new dashboards. On "
        "failure the file is left as it was (the graph keeps the last known dashboards): "
        "401/403 means DOT_API_KEY needs renewing, 5xx that Dot is down (re-execute later).",
        pool=pool,
    )
    def _refresh_exposures(context: AssetExecutionContext, dot: DotResource) -> MaterializeResult:
        with dot.get_client() as client:
            refresh = refresh_dot_exposures(client, state_path, connection_id=connection_id)
        context.log.info(refresh.summary())
        metadata = DotExposuresSnapshotMetadata(
            exposures=len(refresh.state.exposures),
            apps_without_dbt_models=len(refresh.state.apps_without_dbt_models),
            exposures_changed=refresh.changed,
            exposures_state_path=str(refresh.path),
        )
        return MaterializeResult(metadata={**metadata})

    return _refresh_exposures


__all__ = [
    "EXPOSURES_SNAPSHOT_KEY",
    "DotExposuresSnapshotMetadata",
    "build_refresh_exposures_asset",
]
