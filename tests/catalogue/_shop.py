"""A three-model dbt project as `@dbt_assets`, built from a manifest written here.

Dot's dashboards resolve their `ref(...)`s through dagster-dbt (`get_asset_key_for_model`),
which needs real dbt assets, not a dbt parse: the emulator's exposures read `orders`,
`customers` and `daily_revenue`, so these three models are all the lineage tests need.
"""

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from dagster import AssetExecutionContext, AssetsDefinition
from dagster_dbt import DbtCliResource, dbt_assets

#: Each model and the models it selects from.
MODELS: dict[str, tuple[str, ...]] = {
    "orders": (),
    "customers": (),
    "daily_revenue": ("orders",),
}


def _node(name: str, parents: tuple[str, ...]) -> dict[str, Any]:
    return {
        "unique_id": f"model.shop.{name}",
        "resource_type": "model",
        "name": name,
        "package_name": "shop",
        "fqn": ["shop", name],
        "original_file_path": f"models/{name}.sql",
        "path": f"{name}.sql",
        "config": {"materialized": "table", "enabled": True, "meta": {}, "tags": []},
        "depends_on": {"nodes": [f"model.shop.{p}" for p in parents], "macros": []},
        "tags": [],
        "meta": {},
        "description": "",
        "columns": {},
        "database": "analytics",
        "schema": "public",
        "alias": name,
        "relation_name": f"analytics.public.{name}",
        "checksum": {"name": "sha256", "checksum": name},
    }


def shop_manifest() -> dict[str, Any]:
    """The manifest of `MODELS`, with what dagster-dbt reads of one."""
    unique = {name: f"model.shop.{name}" for name in MODELS}
    return {
        "metadata": {
            "dbt_schema_version": "https://schemas.getdbt.com/dbt/manifest/v12.json",
            "project_name": "shop",
            "adapter_type": "duckdb",
        },
        "nodes": {unique[name]: _node(name, parents) for name, parents in MODELS.items()},
        "child_map": {
            unique[name]: [unique[c] for c, parents in MODELS.items() if name in parents]
            for name in MODELS
        },
        "parent_map": {unique[name]: [unique[p] for p in MODELS[name]] for name in MODELS},
        **{
            part: {}
            for part in (
                "sources",
                "exposures",
                "metrics",
                "semantic_models",
                "saved_queries",
                "macros",
                "docs",
                "groups",
                "selectors",
                "disabled",
            )
        },
    }


def shop_dbt_assets() -> AssetsDefinition:
    """The three models as dagster-dbt builds them (keys `orders`, `customers`, ...)."""

    @dbt_assets(manifest=shop_manifest(), name="shop")
    def shop(context: AssetExecutionContext, dbt: DbtCliResource) -> Iterator[Any]:
        yield from dbt.cli(["build"], context=context).stream()

    return shop


#: The same models in a defs folder of their own (`write_shop`), for component tests.
SHOP_ASSETS = """\
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from dagster import AssetExecutionContext, Definitions, ResourceDefinition
from dagster_dbt import DbtCliResource, dbt_assets


@dbt_assets(manifest=Path(__file__).with_name("manifest.json"), name="shop")
def shop(context: AssetExecutionContext, dbt: DbtCliResource) -> Iterator[Any]:
    yield from dbt.cli(["build"], context=context).stream()


# The tests load these models, never build them.
defs = Definitions(assets=[shop], resources={"dbt": ResourceDefinition.none_resource()})
"""


def write_shop(folder: Path) -> None:
    """A defs folder holding the three models: `manifest.json` and `assets.py`."""
    folder.mkdir(parents=True)
    (folder / "manifest.json").write_text(json.dumps(shop_manifest()))
    (folder / "assets.py").write_text(SHOP_ASSETS)
