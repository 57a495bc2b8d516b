"""Dot's shared dashboards in Dagster's lineage, downstream of the dbt models they read.

Dot publishes what depends on which dbt model as dbt exposures (`GET /api/dbt/exposures`):
one per shared Dot dashboard, `depends_on: [ref('orders'), ...]`. Each becomes an external
`AssetSpec` (`dot/dashboards/<exposure>`) downstream of those models, so the asset graph
shows which Dot dashboards a model change puts at risk.

Definitions never call Dot. As with dagster-fivetran's snapshot, the exposures are state in
a JSON file: `refresh_dot_exposures` fetches and writes it (the `dot-orchestration
refresh-exposures` command, a CI step, or the scheduled `build_refresh_exposures_asset`),
and `load_dot_dashboard_specs` only reads it. A Dot outage therefore cannot take the code
location down, and redeploys cost Dot nothing; a missing or unreadable file gives no
dashboards and a warning, never an import error. A refresh that finds the same exposures
leaves the file untouched, so it can be committed without noise.

`ref('orders')` is resolved by dagster-dbt (`get_asset_key_for_model`, i.e. the manifest and
the translator of the `@dbt_assets` definition), never by guessing a key from the name.

Dot documents the `meta` of its exposures (dbt Exposures page): `dot_app_id` (the shared
app, e.g. `_shared__orders-pulse`), `dot_tables` (the tables its queries read), and, where
lineage is incomplete, `dot_unresolved_models` (models not in Dot's copy of the manifest,
withheld from `depends_on`) and `dot_ambiguous_tables` (tables matching several table
docs); the aggregate `dot_model` exposure carries `dot_aggregate` and `dot_model_count`.
Each dashboard spec carries the first two as `dot/app_id` and `dot/tables`, and the gaps as
`dot/unresolved_models` and `dot/ambiguous_tables` (logged too: the graph lacks those edges).
With more than one dbt repository connected, Dot needs `connection_id` (the dbt connection's
id in Dot) to say which one; pass it to the refresh.
"""

# No `from __future__ import annotations`: Dagster reads the `context` annotation of asset
# functions at definition time and rejects it as a string.

import json
import logging
import os
import re
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from dagster import (
    AssetExecutionContext,
    AssetKey,
    AssetsDefinition,
    AssetSpec,
    DagsterInvalidDefinitionError,
    JsonMetadataValue,
    MaterializeResult,
    MetadataValue,
    UrlMetadataValue,
    asset,
)
from dagster_dbt import get_asset_key_for_model
from pydantic import BaseModel, ConfigDict, ValidationError

from dot_orchestration._compat import NamespacedMetadataSet
from dot_orchestration.client import DotClient
from dot_orchestration.resources import DotResource

logger = logging.getLogger(__name__)

#: Version of the state file layout; a file of another version is ignored with a warning.
STATE_FORMAT = 1

_REF = re.compile(
    r"""^\s*ref\(\s*(['"])(?P<first>[^'"]+)\1\s*"""
    r"""(?:,\s*(['"])(?P<second>[^'"]+)\3\s*)?"""  # ref('package', 'model')
    r"""(?:,\s*v(?:ersion)?\s*=\s*[^)]*)?\)\s*$"""  # ref('model', v=2)
)
_KEY_PART = re.compile(r"[^A-Za-z0-9_]")
#: The asset that refreshes the state file, unless told otherwise.
EXPOSURES_SNAPSHOT_KEY = AssetKey(["dot", "exposures_snapshot"])


class _Lenient(BaseModel):
    """Dot adds fields over time: keep them, break on none."""

    model_config = ConfigDict(extra="allow")


class ExposureOwner(_Lenient):
    name: str | None = None
    email: str | None = None


class DotExposure(_Lenient):
    """One dbt exposure as Dot writes it (dbt's v2 exposure properties)."""

    name: str
    type: str
    label: str | None = None
    url: str | None = None
    description: str | None = None
    maturity: str | None = None
    depends_on: list[str] = []
    owner: ExposureOwner | None = None
    meta: dict[str, Any] = {}


class ExposuresState(BaseModel):
    """The state file: Dot's exposures as fetched, and when."""

    format: int = STATE_FORMAT
    fetched_at: str
    connection_id: str | None = None
    exposures: list[DotExposure]
    apps_without_dbt_models: list[dict[str, Any]] = []

    def same_exposures(self, other: "ExposuresState | None") -> bool:
        """Whether `other` holds the same exposures, whenever it was fetched."""
        if other is None:
            return False
        when = {"fetched_at"}
        return self.model_dump(exclude=when) == other.model_dump(exclude=when)


@dataclass(frozen=True)
class ExposuresRefresh:
    """What a refresh found and whether the state file changed."""

    state: ExposuresState
    path: Path
    changed: bool

    def summary(self) -> str:
        """One line for a command's output or a run log."""
        dashboards = sum(1 for e in self.state.exposures if e.type == "dashboard")
        return (
            f"{len(self.state.exposures)} Dot exposures ({dashboards} dashboards), "
            f"{len(self.state.apps_without_dbt_models)} shared apps without dbt models; "
            f"{self.path} {'updated' if self.changed else 'unchanged'}"
        )


def fetch_exposures_state(client: DotClient, *, connection_id: str | None = None) -> ExposuresState:
    """Dot's exposures now, sorted by name so the file diffs cleanly; `ValueError` if
    Dot's answer is not an exposures document (then no state is written)."""
    document = client.get_dbt_exposures(format="json", connection_id=connection_id)
    if not isinstance(document, dict):
        raise ValueError(
            f"Dot's dbt exposures are a {type(document).__name__}, not an exposures document; "
            "state left as it was"
        )
    try:
        state = ExposuresState(
            fetched_at=datetime.now(timezone.utc).isoformat(timespec="seconds"),
            connection_id=connection_id,
            exposures=document.get("exposures"),  # type: ignore[arg-type]
            apps_without_dbt_models=document.get("apps_without_dbt_models") or [],
        )
    except ValidationError as error:
        raise ValueError(
            f"Dot's dbt exposures do not read as dbt exposures, state left as it was: {error}"
        ) from None
    state.exposures.sort(key=lambda exposure: exposure.name)
    return state


def write_exposures_state(state: ExposuresState, path: Path) -> None:
    """Write the file atomically: a reader sees the old state or the new one, never half."""
    path.parent.mkdir(parents=True, exist_ok=True)
    text = json.dumps(state.model_dump(mode="json"), indent=2, sort_keys=True) + "\n"
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as stream:
            stream.write(text)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def read_exposures_state(path: Path) -> ExposuresState | None:
    """The state in `path`, or None with a warning saying how to create it."""
    try:
        state = ExposuresState.model_validate_json(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        logger.warning(
            "Dot exposures state %s does not exist: no Dot dashboards in the asset graph. "
            "Create it with `dot-orchestration refresh-exposures`.",
            path,
        )
        return None
    except (OSError, ValidationError) as error:
        logger.warning(
            "Dot exposures state %s is unreadable, no Dot dashboards in the asset graph; "
            "refresh it with `dot-orchestration refresh-exposures`: %s",
            path,
            error,
        )
        return None
    if state.format != STATE_FORMAT:
        logger.warning(
            "Dot exposures state %s has format %s, this version reads %s; refresh it.",
            path,
            state.format,
            STATE_FORMAT,
        )
        return None
    return state


def refresh_dot_exposures(
    client: DotClient, state_path: Path, *, connection_id: str | None = None
) -> ExposuresRefresh:
    """Fetch Dot's exposures and write them to `state_path` if they changed."""
    state = fetch_exposures_state(client, connection_id=connection_id)
    previous = read_exposures_state(state_path) if state_path.exists() else None
    changed = not state.same_exposures(previous)
    if changed:
        write_exposures_state(state, state_path)
    return ExposuresRefresh(state, state_path, changed)


def referenced_model(dependency: str) -> str | None:
    """The model of `ref('orders')`, `ref('pkg', 'orders')` or `ref('orders', v=2)`."""
    match = _REF.match(dependency)
    if match is None:
        return None
    return match.group("second") or match.group("first")


class DotDashboardMetadata(NamespacedMetadataSet):
    """Dot's ids on each dashboard spec, for checks and links that need them: the exposure's
    documented `meta` (`dot_app_id`, `dot_tables`, and the lineage Dot could not resolve)."""

    app_id: str | None = None
    exposure_name: str | None = None
    url: UrlMetadataValue | None = None
    tables: JsonMetadataValue | None = None
    unresolved_models: JsonMetadataValue | None = None
    ambiguous_tables: JsonMetadataValue | None = None

    @classmethod
    def of(cls, exposure: "DotExposure") -> "DotDashboardMetadata":
        meta = exposure.meta
        return cls(
            app_id=_text(meta.get("dot_app_id")),
            exposure_name=exposure.name,
            url=MetadataValue.url(exposure.url) if exposure.url else None,
            tables=_json_list(meta.get("dot_tables")),
            unresolved_models=_json_list(meta.get("dot_unresolved_models")),
            ambiguous_tables=_json_list(meta.get("dot_ambiguous_tables")),
        )

    @classmethod
    def namespace(cls) -> str:
        return "dot"


class DotExposureTranslator:
    """How a Dot exposure becomes an `AssetSpec`; subclass it to rename keys, groups, owners."""

    def get_asset_key(self, exposure: DotExposure) -> AssetKey:
        return AssetKey(["dot", "dashboards", _KEY_PART.sub("_", exposure.name)])

    def get_asset_spec(self, exposure: DotExposure, deps: Sequence[AssetKey]) -> AssetSpec:
        label = exposure.label or exposure.name
        owner = exposure.owner.email if exposure.owner else None
        return AssetSpec(
            key=self.get_asset_key(exposure),
            deps=deps,
            description=(exposure.description or f"Dot {exposure.type} {label}.")
            + " Shared in Dot; a change to the dbt models upstream can break it.",
            group_name="dot_dashboards",
            kinds={"dot", exposure.type},
            owners=[owner] if owner and _dagster_accepts_owner(owner) else None,
            tags={"dot/maturity": exposure.maturity} if exposure.maturity else None,
            metadata={**DotDashboardMetadata.of(exposure), "dot/label": label},
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
    """dbt model name → asset key through dagster-dbt, each name looked up once."""

    def __init__(self, dbt_assets: Sequence[AssetsDefinition]) -> None:
        self._dbt_assets = dbt_assets
        self._keys: dict[str, AssetKey | None] = {}

    def get(self, model: str) -> AssetKey | None:
        if model not in self._keys:
            self._keys[model] = self._lookup(model)
        return self._keys[model]

    def _lookup(self, model: str) -> AssetKey | None:
        for dbt_def in self._dbt_assets:
            try:
                return get_asset_key_for_model([dbt_def], model)
            except KeyError:
                continue
        return None


def load_dot_dashboard_specs(
    state_path: Path,
    *,
    dbt_assets: Sequence[AssetsDefinition],
    translator: DotExposureTranslator | None = None,
    exposure_types: Sequence[str] = ("dashboard",),
) -> list[AssetSpec]:
    """External specs for the exposures in the state file, downstream of their dbt models.

    Reads only the file. Anything that does not fit — no file, an exposure on a model this
    project does not have, two exposures with one key — is logged and left out, so the
    code location always loads.
    """
    state = read_exposures_state(state_path)
    if state is None:
        return []
    translator = translator or DotExposureTranslator()
    model_keys = _ModelKeys(dbt_assets)
    specs: dict[AssetKey, AssetSpec] = {}
    for exposure in state.exposures:
        if exposure.type not in exposure_types:
            continue
        spec = translator.get_asset_spec(exposure, _resolve_deps(exposure, model_keys))
        if spec.key in specs:
            logger.warning(
                "Dot exposure %s maps to asset %s like an earlier one; left out. Rename one "
                "dashboard in Dot or override DotExposureTranslator.get_asset_key.",
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


def build_refresh_exposures_asset(
    state_path: Path,
    *,
    connection_id: str | None = None,
    key: AssetKey = EXPOSURES_SNAPSHOT_KEY,
    group_name: str = "dot",
    owners: Sequence[str] = (),
) -> AssetsDefinition:
    """An asset that refreshes the state file, for a schedule on single-host deployments.

    The file is written on the machine that runs the step and read when the code location
    loads: with `dagster dev` or one VM, a schedule plus a reload shows new dashboards.
    Where steps run in their own containers, run `dot-orchestration refresh-exposures` at
    build time instead, so the file ships with the code.
    """

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
        required_resource_keys={"dot"},
        pool="dot_api",
    )
    def _refresh_exposures(context: AssetExecutionContext) -> MaterializeResult:
        dot: DotResource = context.resources.dot
        with dot.get_client() as client:
            refresh = refresh_dot_exposures(client, state_path, connection_id=connection_id)
        context.log.info(refresh.summary())
        return MaterializeResult(
            metadata={
                "exposures": MetadataValue.int(len(refresh.state.exposures)),
                "apps_without_dbt_models": MetadataValue.json(
                    refresh.state.apps_without_dbt_models
                ),
                "changed": MetadataValue.bool(refresh.changed),
                "state_path": MetadataValue.path(str(refresh.path)),
            }
        )

    return _refresh_exposures


__all__ = [
    "EXPOSURES_SNAPSHOT_KEY",
    "STATE_FORMAT",
    "DotDashboardMetadata",
    "DotExposure",
    "DotExposureTranslator",
    "ExposuresRefresh",
    "ExposuresState",
    "build_refresh_exposures_asset",
    "fetch_exposures_state",
    "load_dot_dashboard_specs",
    "read_exposures_state",
    "referenced_model",
    "refresh_dot_exposures",
    "write_exposures_state",
]
