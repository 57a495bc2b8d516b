"""Dot's shared dashboards in Dagster's lineage, downstream of the dbt models they read.

Each of Dot's dbt exposures (`transforms.exposures`) becomes an external `AssetSpec`
(`dot/dashboards/<exposure>`) downstream of the models it names, so the asset graph shows
which Dot dashboards a model change puts at risk. Specs are built from state only, never
from a call to Dot: a state file (`load_dot_dashboard_specs`) or the state Dagster keeps for
a `DotComponent` (`dashboard_specs`).

`ref('orders')` is resolved by dagster-dbt (`get_asset_key_for_model`, i.e. the manifest and
the translator of the `@dbt_assets` definition), never by guessing a key from the name.
Each spec carries the exposure's documented `meta` as `dot/app_id` and `dot/tables`, and
the lineage Dot could not resolve as `dot/unresolved_models` and `dot/ambiguous_tables`
(logged too: the graph lacks those edges).

dagster-dbt is imported at the first lookup, not with the module: it imports dbt-core
(seconds of CPU), and the catalogue is imported by code locations without dbt.
"""

import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from dagster import (
    AssetKey,
    AssetsDefinition,
    AssetSpec,
    DagsterInvalidDefinitionError,
    DagsterInvariantViolationError,
    JsonMetadataValue,
    MetadataValue,
    UrlMetadataValue,
)

from dot_orchestration._compat import NamespacedMetadataSet
from dot_orchestration.catalogue_runs import REFRESH_COMMAND
from dot_orchestration.transforms.exposures import (
    DotExposure,
    ExposuresState,
    read_exposures_state,
    referenced_model,
)

logger = logging.getLogger(__name__)

_KEY_PART = re.compile(r"[^A-Za-z0-9_]")


class DotDashboardMetadata(NamespacedMetadataSet):
    """Dot's ids on each dashboard spec, for checks and links that need them: the exposure's
    documented `meta` (`dot_app_id`, `dot_tables`, and the lineage Dot could not resolve)."""

    app_id: str | None = None
    exposure_name: str | None = None
    label: str | None = None
    url: UrlMetadataValue | None = None
    tables: JsonMetadataValue | None = None
    unresolved_models: JsonMetadataValue | None = None
    ambiguous_tables: JsonMetadataValue | None = None

    @classmethod
    def of(cls, exposure: DotExposure) -> "DotDashboardMetadata":
        meta = exposure.meta
        return cls(
            app_id=_text(meta.get("dot_app_id")),
            exposure_name=exposure.name,
            label=exposure.label or exposure.name,
            url=MetadataValue.url(exposure.url) if exposure.url else None,
            tables=_json_list(meta.get("dot_tables")),
            unresolved_models=_json_list(meta.get("dot_unresolved_models")),
            ambiguous_tables=_json_list(meta.get("dot_ambiguous_tables")),
        )

    @classmethod
    def namespace(cls) -> str:
        return "dot"


@dataclass(frozen=True)
class DotDashboardProps:
    """What one dashboard spec is made of: the exposure as Dot wrote it, and the keys of the
    dbt models it reads (resolved through dagster-dbt)."""

    exposure: DotExposure
    deps: tuple[AssetKey, ...]


class DotExposureTranslator:
    """How a Dot exposure becomes an `AssetSpec`; subclass it and override `get_asset_spec`
    to rename keys, groups, owners (call `super()` and `replace_attributes` to keep the rest).
    """

    def get_asset_spec(self, props: DotDashboardProps) -> AssetSpec:
        exposure = props.exposure
        label = exposure.label or exposure.name
        owner = exposure.owner.email if exposure.owner else None
        return AssetSpec(
            key=AssetKey(["dot", "dashboards", _KEY_PART.sub("_", exposure.name)]),
            deps=props.deps,
            description=(exposure.description or f"Dot {exposure.type} {label}.")
            + " Shared in Dot; a change to the dbt models upstream can break it.",
            group_name="dot_dashboards",
            kinds={"dot", exposure.type},
            owners=[owner] if owner and _dagster_accepts_owner(owner) else None,
            tags={"dot/maturity": exposure.maturity} if exposure.maturity else None,
            metadata={**DotDashboardMetadata.of(exposure)},
        )


def _dagster_accepts_owner(owner: str) -> bool:
    """Whether Dagster takes `owner` (an email or `team:name`): a Dot exposure's owner may
    be any text, and Dagster refuses a spec whose owner it does not take. Asked of a
    throw-away spec, so the rule stays Dagster's own."""
    try:
        AssetSpec(key="owner_check", owners=[owner])
    except DagsterInvalidDefinitionError:
        return False
    return True


class _ModelKeys:
    """dbt model name → asset key through dagster-dbt, each name looked up once, among the
    dbt definitions of `assets` (others are passed over: dagster-dbt refuses them)."""

    def __init__(self, assets: Sequence[AssetsDefinition | AssetSpec]) -> None:
        self._dbt_assets = [a for a in assets if isinstance(a, AssetsDefinition)]
        self._keys: dict[str, AssetKey | None] = {}

    def get(self, model: str) -> AssetKey | None:
        if model not in self._keys:
            self._keys[model] = self._lookup(model)
        return self._keys[model]

    def _lookup(self, model: str) -> AssetKey | None:
        from dagster_dbt import get_asset_key_for_model

        for dbt_def in self._dbt_assets:
            try:
                return get_asset_key_for_model([dbt_def], model)
            except (KeyError, DagsterInvariantViolationError):
                continue
        return None


def load_dot_dashboard_specs(
    state_path: Path,
    *,
    dbt_assets: Sequence[AssetsDefinition | AssetSpec],
    translator: DotExposureTranslator | None = None,
    exposure_types: Sequence[str] = ("dashboard",),
) -> list[AssetSpec]:
    """External specs for the exposures in the state file, downstream of their dbt models.

    Reads only the file: no file or an unreadable one gives no dashboards and a warning.
    """
    state = read_exposures_state(state_path, refresh_hint=REFRESH_COMMAND)
    if state is None:
        return []
    return dashboard_specs(
        state, dbt_assets=dbt_assets, translator=translator, exposure_types=exposure_types
    )


def dashboard_specs(
    state: ExposuresState,
    *,
    dbt_assets: Sequence[AssetsDefinition | AssetSpec],
    translator: DotExposureTranslator | None = None,
    exposure_types: Sequence[str] = ("dashboard",),
) -> list[AssetSpec]:
    """External specs for the exposures of `state`, downstream of their dbt models.

    Anything that does not fit — an exposure on a model this project does not have, two
    exposures with one key — is logged and left out, so the code location always loads.
    """
    translator = translator or DotExposureTranslator()
    model_keys = _ModelKeys(dbt_assets)
    specs: dict[AssetKey, AssetSpec] = {}
    for exposure in state.exposures:
        if exposure.type not in exposure_types:
            continue
        props = DotDashboardProps(exposure, tuple(_resolve_deps(exposure, model_keys)))
        spec = translator.get_asset_spec(props)
        if spec.key in specs:
            logger.warning(
                "Dot exposure %s maps to asset %s like an earlier one; left out. Rename one "
                "dashboard in Dot or override DotExposureTranslator.get_asset_spec.",
                exposure.name,
                spec.key.to_user_string(),
            )
            continue
        specs[spec.key] = spec
    return list(specs.values())


def _text(value: object) -> str | None:
    return value if isinstance(value, str) and value else None


def _json_list(value: object) -> JsonMetadataValue | None:
    """A `meta` list as JSON metadata; absent or empty: None (the key is left out)."""
    return MetadataValue.json(value) if isinstance(value, list) and value else None


def _warn_about_gaps(exposure: DotExposure) -> None:
    """Lineage Dot itself could not resolve: the dashboard lacks those edges."""
    for key, what in (
        ("dot_unresolved_models", "models missing from the dbt manifest Dot synced"),
        ("dot_ambiguous_tables", "tables matching more than one of Dot's table docs"),
    ):
        if exposure.meta.get(key):
            logger.warning(
                "Dot exposure %s reads %s: %s; the dashboard is shown without those edges. "
                "Re-sync the dbt connection in Dot (or fix the table docs), then refresh.",
                exposure.name,
                what,
                exposure.meta[key],
            )


def _resolve_deps(exposure: DotExposure, model_keys: _ModelKeys) -> list[AssetKey]:
    _warn_about_gaps(exposure)
    deps: list[AssetKey] = []
    for dependency in exposure.depends_on:
        model = referenced_model(dependency)
        key = model_keys.get(model) if model else None
        if key is None:
            logger.warning(
                "Dot exposure %s depends on %s, which is no model of the dbt project; "
                "the dashboard is shown without that edge. Refresh the state if the model "
                "was renamed.",
                exposure.name,
                dependency,
            )
            continue
        deps.append(key)
    return deps


__all__ = [
    "DotDashboardMetadata",
    "DotDashboardProps",
    "DotExposureTranslator",
    "dashboard_specs",
    "load_dot_dashboard_specs",
]
