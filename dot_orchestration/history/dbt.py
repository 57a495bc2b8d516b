"""The dbt sources reading the history tables are the history asset, so the dbt models
selecting from them run after the export."""

from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from dagster import AssetKey
from dagster_dbt import DagsterDbtTranslator, DagsterDbtTranslatorSettings

from dot_orchestration.history.settings import DotHistoryTables


class DotHistoryDbtTranslator(DagsterDbtTranslator):
    """dagster-dbt's translator, plus: dbt sources reading the export's tables are the
    history asset, so the dbt models selecting from them are downstream of it.

    Sources are matched by the relation they read (schema and table), not by their dbt
    name. Both tables map to the one asset, which dagster-dbt allows only with
    `enable_duplicate_source_asset_keys`; this translator turns it on. It overrides
    `get_asset_key`, dagster-dbt's own seam for keys: its `get_asset_spec` and the
    source tests' checks both read the key there, so they cannot disagree.
    """

    def __init__(
        self,
        history: DotHistoryTables,
        settings: DagsterDbtTranslatorSettings | None = None,
    ) -> None:
        super().__init__(
            settings=replace(
                settings or DagsterDbtTranslatorSettings(), enable_duplicate_source_asset_keys=True
            )
        )
        self._history_key = history.asset_key
        self._relations = {(history.schema_name.lower(), table.lower()) for table in history.tables}

    def get_asset_key(self, dbt_resource_props: Mapping[str, Any]) -> AssetKey:
        if dbt_resource_props.get("resource_type") == "source":
            table = dbt_resource_props.get("identifier") or dbt_resource_props.get("name", "")
            relation = (str(dbt_resource_props.get("schema", "")).lower(), str(table).lower())
            if relation in self._relations:
                return self._history_key
        return super().get_asset_key(dbt_resource_props)


__all__ = ["DotHistoryDbtTranslator"]
