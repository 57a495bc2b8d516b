"""Where Dot's catalogue comes from in Dagster: the BI dashboards already in the asset graph.

Dagster's BI integrations model dashboards as assets (Tableau, Looker, Power BI, Sigma,
Metabase, Omni); any other asset can be marked with `DotExternalAssetMetadata`.
`DagsterAssetGraph` turns them into Dot external assets with the tables they read, and is
one `ExternalAssetSource` beside a `CatalogueFile` or your own (`catalogue_runs`).
"""

from collections.abc import Iterable, Sequence

from dagster import AssetKey, AssetsDefinition, AssetSpec, UrlMetadataValue

from dot_orchestration._compat import NamespacedMetadataSet
from dot_orchestration.client import ExternalAsset

#: Kinds that Dagster's BI integrations put on the objects they model.
BI_KINDS: frozenset[str] = frozenset({"tableau", "looker", "powerbi", "sigma", "metabase", "omni"})
#: Of a BI tool's objects, the ones people open: Dot recommends these, not explores,
#: views, semantic models or data sources.
DASHBOARD_KINDS: frozenset[str] = frozenset({"dashboard", "workbook", "report", "document"})


class DotExternalAssetMetadata(NamespacedMetadataSet):
    """Marks any Dagster asset as a Dot external asset, whatever its kinds.

    `AssetSpec(..., metadata={**DotExternalAssetMetadata(external_asset_subtype="streamlit_app")})`
    """

    external_asset_subtype: str | None = None

    @classmethod
    def namespace(cls) -> str:
        return "dot"


class DotExternalAssetTranslator:
    """How a Dagster asset becomes a Dot external asset; subclass it to change any part.

    The other direction from the translators of Dot's own assets: its seam is
    `get_external_asset(spec, tables)`, the helpers below decide which assets qualify.
    """

    bi_kinds: frozenset[str] = BI_KINDS
    dashboard_kinds: frozenset[str] = DASHBOARD_KINDS

    def is_bi_object(self, spec: AssetSpec) -> bool:
        """Modelled by a BI integration (any object: dashboard, explore, data source...)."""
        return bool(spec.kinds & self.bi_kinds) and "dot" not in spec.kinds

    def is_external_asset(self, spec: AssetSpec) -> bool:
        """Marked explicitly, or a BI dashboard-like object. Dot's own dashboards (kind
        `dot`, see `catalogue.dashboards`) are left out, so they never loop back into Dot."""
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


__all__ = [
    "BI_KINDS",
    "DASHBOARD_KINDS",
    "DagsterAssetGraph",
    "DotExternalAssetMetadata",
    "DotExternalAssetTranslator",
]
