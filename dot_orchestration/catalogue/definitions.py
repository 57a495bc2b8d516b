"""`build_dot_catalogue_definitions`: the one wiring path of the catalogue operation.

The Python example and the `catalogue` / `exposures` sections of a `DotComponent` both call
it, so they produce the same assets, check and schedule: the reconcile asset
(`dot/external_assets`), Dot's dashboards as external specs (`dot/dashboards/<name>`), the
exposures snapshot asset when the exposures live in a file, and the daily schedule running
both.
"""

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Literal

from dagster import (
    AssetKey,
    AssetsDefinition,
    AssetSelection,
    AssetSpec,
    Definitions,
    ScheduleDefinition,
)

from dot_orchestration.catalogue.dashboards import (
    DotExposureTranslator,
    dashboard_specs,
    load_dot_dashboard_specs,
)
from dot_orchestration.catalogue.exposures import build_refresh_exposures_asset
from dot_orchestration.catalogue.reconcile import build_dot_catalogue_asset
from dot_orchestration.catalogue.settings import (
    CatalogueSchedule,
    CatalogueSettings,
    ExposuresSettings,
)
from dot_orchestration.catalogue.sources import DagsterAssetGraph
from dot_orchestration.catalogue_runs import CatalogueFile, ExternalAssetSource
from dot_orchestration.transforms.exposures import ExposuresState

#: The one-asset factories of this operation.
SingleAsset = Literal["catalogue", "exposures_snapshot"]
#: How a one-asset factory's asset is finally shaped: given the factory (called with None
#: for its default key, or the key wanted) and which asset it is, the asset to use. The
#: component's `translation:` is one.
AssetShaper = Callable[
    [Callable[[AssetKey | None], AssetsDefinition], SingleAsset], AssetsDefinition
]


def _as_built(
    build: Callable[[AssetKey | None], AssetsDefinition], _: SingleAsset
) -> AssetsDefinition:
    return build(None)


def build_dot_catalogue_definitions(
    settings: CatalogueSettings | None = None,
    *,
    exposures: ExposuresSettings | None = None,
    upstream: Sequence[AssetsDefinition | AssetSpec] = (),
    sources: Sequence[ExternalAssetSource] = (),
    base_dir: Path | str = ".",
    exposures_state: ExposuresState | None = None,
    dashboard_translator: DotExposureTranslator | None = None,
    shape_asset: AssetShaper = _as_built,
) -> Definitions:
    """The catalogue (`settings`) and Dot's dashboards (`exposures`), either or both.

    - `upstream`: the code location's assets Dot's catalogue and dashboards refer to: its
      dbt assets (the dashboards' lineage, resolved by dagster-dbt) and BI dashboards (with
      `settings.dagster_assets`, they become Dot external assets).
    - `sources`: your own `ExternalAssetSource`s, besides `settings.files`.
    - `base_dir`: where relative `files` and `state_path` are.
    - `exposures_state`: the exposures when the caller holds them (a `DotComponent` reading
      Dagster's defs state); otherwise they are read from `exposures.state_path`.
    - `dashboard_translator`, `shape_asset`: how the specs and the two single assets are
      shaped (the component's `translation:`).

    Mistakes raise here, naming the field: a catalogue file with a bad entry, no source, a
    Python `exposures` without `state_path` or state.
    """
    if settings is None and exposures is None:
        raise ValueError("build_dot_catalogue_definitions: give `settings`, `exposures`, or both")
    base = Path(base_dir)
    dashboards: list[AssetSpec] = []
    executable: list[AssetsDefinition] = []
    if exposures is not None:
        dashboards = _dashboards(exposures, exposures_state, upstream, base, dashboard_translator)
        if exposures.with_snapshot:
            executable.append(_snapshot(exposures, base, shape_asset))
    schedules: list[ScheduleDefinition] = []
    if settings is not None:
        own_sources: list[ExternalAssetSource] = [
            CatalogueFile(_path(base, file)) for file in settings.files
        ]
        if settings.dagster_assets:
            own_sources.append(DagsterAssetGraph([*upstream, *dashboards, *executable]))
        own_sources.extend(sources)
        catalogue = shape_asset(
            lambda key: build_dot_catalogue_asset(
                own_sources,
                id_prefix=settings.id_prefix,
                on_removed=settings.on_removed,
                group_name=settings.group_name,
                owners=settings.owners,
                pool=settings.pool,
                **_at(key),
            ),
            "catalogue",
        )
        executable.append(catalogue)
        if settings.schedule is not None:
            schedules.append(build_catalogue_schedule(settings.schedule, executable))
    return Definitions(assets=[*dashboards, *executable], schedules=schedules)


def build_catalogue_schedule(
    settings: CatalogueSchedule, assets: Sequence[AssetsDefinition]
) -> ScheduleDefinition:
    """The catalogue's cron job: the exposures snapshot (if any), then the reconcile."""
    return ScheduleDefinition(
        name=settings.name,
        target=AssetSelection.assets(*assets),
        cron_schedule=settings.cron_schedule,
        execution_timezone=settings.timezone,
        default_status=settings.default_status,
        description="Reconcile Dot's catalogue"
        + (" after refreshing Dot's dashboards" if len(assets) > 1 else "")
        + ".",
    )


def _dashboards(
    exposures: ExposuresSettings,
    state: ExposuresState | None,
    upstream: Sequence[AssetsDefinition | AssetSpec],
    base: Path,
    translator: DotExposureTranslator | None,
) -> list[AssetSpec]:
    types = exposures.exposure_types
    if state is not None:
        return dashboard_specs(
            state, dbt_assets=upstream, translator=translator, exposure_types=types
        )
    if exposures.state_path is None:
        raise ValueError(
            "exposures.state_path: no exposures file given; set it to the file "
            "`dot-orchestration refresh-exposures --state PATH` or the snapshot asset writes "
            "(a DotComponent may leave it out: it keeps the exposures in Dagster's defs state)"
        )
    return load_dot_dashboard_specs(
        _path(base, exposures.state_path),
        dbt_assets=upstream,
        translator=translator,
        exposure_types=types,
    )


def _snapshot(
    exposures: ExposuresSettings, base: Path, shape_asset: AssetShaper
) -> AssetsDefinition:
    assert exposures.state_path is not None  # ExposuresSettings refuses a snapshot without
    state_path = _path(base, exposures.state_path)
    return shape_asset(
        lambda key: build_refresh_exposures_asset(
            state_path,
            connection_id=exposures.connection_id,
            group_name=exposures.group_name,
            owners=exposures.owners,
            pool=exposures.pool,
            **_at(key),
        ),
        "exposures_snapshot",
    )


def _at(key: AssetKey | None) -> dict[str, AssetKey]:
    """The `key=` argument of a one-asset factory: none for its default key."""
    return {"key": key} if key is not None else {}


def _path(base: Path, path: str) -> Path:
    return Path(path) if Path(path).is_absolute() else base / path


__all__ = [
    "AssetShaper",
    "SingleAsset",
    "build_catalogue_schedule",
    "build_dot_catalogue_definitions",
]
