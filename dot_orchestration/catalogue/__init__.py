"""Dot's catalogue in Dagster: external assets reconciled, Dot's dashboards in the lineage.

- `definitions`: `build_dot_catalogue_definitions(settings, exposures=..., upstream=...)`,
  the one wiring path (the example and `DotComponent` call it);
- `settings`: `CatalogueSettings`, `CatalogueSchedule`, `ExposuresSettings` (Python and YAML);
- `sources`: BI dashboards of the asset graph as Dot external assets;
- `reconcile`: the `dot/external_assets` asset and its check;
- `dashboards`: Dot's dbt exposures as external specs `dot/dashboards/<name>`;
- `exposures`: the `dot/exposures_snapshot` asset refreshing an exposures file.

The runs themselves (reconcile, refresh) are Dagster-free: `dot_orchestration.catalogue_runs`
and `dot_orchestration.transforms` (`catalogue`, `exposures`).
"""

from dot_orchestration.catalogue.dashboards import (
    DotDashboardMetadata,
    DotDashboardProps,
    DotExposureTranslator,
    dashboard_specs,
    load_dot_dashboard_specs,
)
from dot_orchestration.catalogue.definitions import (
    AssetShaper,
    SingleAsset,
    build_catalogue_schedule,
    build_dot_catalogue_definitions,
)
from dot_orchestration.catalogue.exposures import (
    EXPOSURES_SNAPSHOT_KEY,
    DotExposuresSnapshotMetadata,
    build_refresh_exposures_asset,
)
from dot_orchestration.catalogue.reconcile import (
    CATALOGUE_ASSET_KEY,
    CATALOGUE_RECONCILED_CHECK,
    DotCatalogueMetadata,
    build_dot_catalogue_asset,
    catalogue_reconciled_check,
)
from dot_orchestration.catalogue.settings import (
    DEFAULT_POOL,
    CatalogueSchedule,
    CatalogueSettings,
    ExposuresSettings,
)
from dot_orchestration.catalogue.sources import (
    BI_KINDS,
    DASHBOARD_KINDS,
    DagsterAssetGraph,
    DotExternalAssetMetadata,
    DotExternalAssetTranslator,
)
from dot_orchestration.catalogue_runs import (
    CatalogueFile,
    CatalogueRun,
    ExposuresRefresh,
    ExternalAssetSource,
    apply_catalogue,
    collect_source_assets,
    fetch_exposures_state,
    reconcile_dot_catalogue,
    refresh_dot_exposures,
)
from dot_orchestration.transforms.exposures import (
    STATE_FORMAT,
    DotExposure,
    ExposureOwner,
    ExposuresState,
    read_exposures_state,
    referenced_model,
    write_exposures_state,
)

__all__ = [
    "BI_KINDS",
    "CATALOGUE_ASSET_KEY",
    "CATALOGUE_RECONCILED_CHECK",
    "DASHBOARD_KINDS",
    "DEFAULT_POOL",
    "EXPOSURES_SNAPSHOT_KEY",
    "STATE_FORMAT",
    "AssetShaper",
    "CatalogueFile",
    "CatalogueRun",
    "CatalogueSchedule",
    "CatalogueSettings",
    "DagsterAssetGraph",
    "DotCatalogueMetadata",
    "DotDashboardMetadata",
    "DotDashboardProps",
    "DotExposure",
    "DotExposureTranslator",
    "DotExposuresSnapshotMetadata",
    "DotExternalAssetMetadata",
    "DotExternalAssetTranslator",
    "ExposureOwner",
    "ExposuresRefresh",
    "ExposuresSettings",
    "ExposuresState",
    "ExternalAssetSource",
    "SingleAsset",
    "apply_catalogue",
    "build_catalogue_schedule",
    "build_dot_catalogue_asset",
    "build_dot_catalogue_definitions",
    "build_refresh_exposures_asset",
    "catalogue_reconciled_check",
    "collect_source_assets",
    "dashboard_specs",
    "fetch_exposures_state",
    "load_dot_dashboard_specs",
    "read_exposures_state",
    "reconcile_dot_catalogue",
    "referenced_model",
    "refresh_dot_exposures",
    "write_exposures_state",
]
