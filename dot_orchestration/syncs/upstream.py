"""Which assets a connection reads: its `dbt_select` resolved through dagster-dbt, and its
explicit `asset_keys`, each checked against the upstream definitions at load."""

from collections.abc import Sequence

from dagster import AssetKey, AssetsDefinition
from dagster_dbt import build_dbt_asset_selection

from dot_orchestration.syncing import DotConnection


def resolve_upstream_keys(
    connection: DotConnection, upstream: Sequence[AssetsDefinition]
) -> list[AssetKey]:
    """The asset keys a connection depends on, checked against the upstream definitions."""
    keys = set(explicit_upstream_keys(connection, upstream))
    if connection.dbt_select:
        keys.update(dbt_selection_keys(connection, upstream))
    return sorted(keys, key=AssetKey.to_user_string)


def explicit_upstream_keys(
    connection: DotConnection, upstream: Sequence[AssetsDefinition]
) -> list[AssetKey]:
    """The connection's `asset_keys`, each refused unless `upstream` defines it."""
    defined = {key for assets_def in upstream for key in assets_def.keys}
    keys = []
    for path in connection.asset_keys:
        key = AssetKey.from_user_string(path)
        if key not in defined:
            raise ValueError(
                f"Dot connection {connection.label}: asset key {path!r} is not defined; "
                "pass the assets that define it, or fix the key"
            )
        keys.append(key)
    return keys


def dbt_selection_keys(
    connection: DotConnection, upstream: Sequence[AssetsDefinition]
) -> list[AssetKey]:
    """The dbt models of the connection's `dbt_select` (less `dbt_exclude`). Each
    space-separated term is resolved alone, so one misspelt model is named, not hidden."""
    dbt_defs = dbt_assets_of(upstream)
    if not dbt_defs:
        raise ValueError(
            f"Dot connection {connection.label} uses dbt_select but no @dbt_assets definition "
            "is among the upstream assets; pass it in `upstream`"
        )
    keys: set[AssetKey] = set()
    for term in (connection.dbt_select or "").split():
        selected: set[AssetKey] = set()
        for dbt_def in dbt_defs:
            selection = build_dbt_asset_selection(
                [dbt_def], dbt_select=term, dbt_exclude=connection.dbt_exclude
            )
            selected |= selection.resolve([dbt_def])
        if not selected:
            raise ValueError(
                f"Dot connection {connection.label}: dbt selection {term!r} matches no dbt "
                "model; check the model name or tag (`dbt ls --select ...`)"
            )
        keys |= selected
    return sorted(keys, key=AssetKey.to_user_string)


def is_dbt_assets(assets_def: AssetsDefinition) -> bool:
    """Whether `assets_def` came from dagster-dbt (`@dbt_assets` or a dbt component):
    only those carry a manifest that a connection's `dbt_select` can be resolved against."""
    op_tags = assets_def.op.tags if assets_def.is_executable else {}  # specs have no op
    return any("dagster_dbt" in str(k) for k in op_tags) or any(
        "dagster_dbt" in str(k) for md in assets_def.metadata_by_key.values() for k in md
    )


def dbt_assets_of(upstream: Sequence[AssetsDefinition]) -> list[AssetsDefinition]:
    """The dagster-dbt definitions among `upstream`, in order."""
    return [assets_def for assets_def in upstream if is_dbt_assets(assets_def)]


__all__ = [
    "dbt_assets_of",
    "dbt_selection_keys",
    "explicit_upstream_keys",
    "is_dbt_assets",
    "resolve_upstream_keys",
]
