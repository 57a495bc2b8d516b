"""Which assets a connection reads: its `dbt_select` resolved against the dbt definitions,
and its explicit `asset_keys`, each checked against the upstream definitions at load.

A code location may declare dozens of connections over a manifest of thousands of models.
Resolving a term through dagster-dbt builds dbt's selection graph over the whole manifest
and tests every node; done per connection and term that cost grew with both (20 s of load
for 50 connections on 2,000 models). `UpstreamResolver` resolves each distinct term once
per load, the common ones (a model or folder name, a tag) by lookup in one index of each
manifest (`DbtTermIndex`), the rest through dagster-dbt against one asset graph.
"""

from collections.abc import Sequence
from functools import cached_property
from typing import Literal

from dagster import AssetKey, AssetsDefinition, AssetSelection

from dot_orchestration._compat import AssetGraph, asset_graph_of
from dot_orchestration.syncing import DotConnection
from dot_orchestration.syncs.dbt_terms import DbtTermIndex

UpstreamField = Literal["dbt_select", "asset_keys"]


class UpstreamError(ValueError):
    """A connection's upstream that cannot be resolved: names the connection, the field and
    the fix, so the component can point at the line of YAML that holds it."""

    def __init__(self, connection: DotConnection, field: UpstreamField, message: str) -> None:
        super().__init__(message)
        self.connection = connection
        self.field = field


class UpstreamResolver:
    """Resolves the upstream of every connection of one load against `upstream`."""

    def __init__(self, upstream: Sequence[AssetsDefinition]) -> None:
        self._upstream = upstream
        self._dbt = dbt_assets_of(upstream)
        self._defined = {key for assets_def in upstream for key in assets_def.keys}
        self._terms: dict[tuple[str, str | None], frozenset[AssetKey]] = {}

    @cached_property
    def _graph(self) -> AssetGraph:
        """One asset graph of the dbt definitions, for the terms dagster-dbt resolves."""
        return asset_graph_of(self._dbt)

    @cached_property
    def _indexes(self) -> list[DbtTermIndex]:
        """One index of each dbt definition's manifest, for the simple terms."""
        return [DbtTermIndex(dbt_def) for dbt_def in self._dbt]

    def keys(self, connection: DotConnection) -> list[AssetKey]:
        """The asset keys a connection depends on, checked against the upstream."""
        keys = set(self.explicit_keys(connection))
        if connection.dbt_select:
            keys.update(self.dbt_keys(connection))
        return sorted(keys, key=AssetKey.to_user_string)

    def explicit_keys(self, connection: DotConnection) -> list[AssetKey]:
        """The connection's `asset_keys`, each refused unless `upstream` defines it."""
        keys = []
        for path in connection.asset_keys:
            key = AssetKey.from_user_string(path)
            if key not in self._defined:
                raise UpstreamError(
                    connection,
                    "asset_keys",
                    f"Dot connection {connection.label}: asset key {path!r} is not defined; "
                    "pass the assets that define it, or fix the key",
                )
            keys.append(key)
        return keys

    def dbt_keys(self, connection: DotConnection) -> list[AssetKey]:
        """The dbt models of the connection's `dbt_select` (less `dbt_exclude`). Each
        space-separated term is resolved alone, so one misspelt model is named, not hidden."""
        if not self._dbt:
            raise UpstreamError(
                connection,
                "dbt_select",
                f"Dot connection {connection.label} uses dbt_select but no @dbt_assets "
                "definition is among the upstream assets; pass it in `upstream`",
            )
        keys: set[AssetKey] = set()
        for term in (connection.dbt_select or "").split():
            selected = self._term(term, connection.dbt_exclude)
            if not selected:
                raise UpstreamError(
                    connection,
                    "dbt_select",
                    f"Dot connection {connection.label}: dbt selection {term!r} matches no "
                    "dbt model; check the model name or tag (`dbt ls --select ...`)",
                )
            keys |= selected
        return sorted(keys, key=AssetKey.to_user_string)

    def _term(self, term: str, exclude: str | None) -> frozenset[AssetKey]:
        """The models one term selects in any dbt definition, resolved once per load."""
        if (term, exclude) not in self._terms:
            selected: set[AssetKey] = set()
            for dbt_def, index in zip(self._dbt, self._indexes, strict=True):
                found = index.select(term, exclude)
                if found is not None:
                    selected |= found
                else:  # not a simple term: dbt's own selector, through dagster-dbt
                    selection = build_dbt_asset_selection(
                        [dbt_def], dbt_select=term, dbt_exclude=exclude
                    )
                    selected |= selection.resolve(self._graph)
            self._terms[term, exclude] = frozenset(selected)
        return self._terms[term, exclude]


def build_dbt_asset_selection(
    dbt_assets: Sequence[AssetsDefinition], dbt_select: str, dbt_exclude: str | None
) -> AssetSelection:
    """dagster-dbt's `build_dbt_asset_selection`, imported at the first call: dagster-dbt
    imports dbt-core (seconds of CPU), and every sync imports this module, dbt or not."""
    from dagster_dbt import build_dbt_asset_selection as build

    return build(dbt_assets, dbt_select=dbt_select, dbt_exclude=dbt_exclude)


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
    "UpstreamError",
    "UpstreamResolver",
    "dbt_assets_of",
    "is_dbt_assets",
]
