"""BI objects in the Dagster asset graph become Dot external assets, and nothing else does."""

from __future__ import annotations

import pytest
from dagster import AssetKey, AssetSpec, MetadataValue, asset

from dot_orchestration.catalogue import (
    DagsterAssetGraph,
    DotExternalAssetMetadata,
    build_dot_catalogue_asset,
)


@asset(key=["analytics", "orders"], kinds={"dbt", "duckdb"})
def orders() -> None: ...


# A Tableau workbook as dagster-tableau models it: dashboard → sheet → data source → table.
TABLEAU = [
    AssetSpec(["sales", "datasource"], deps=[orders], kinds={"tableau", "live"}),
    AssetSpec(
        ["sales", "sheet", "trend"], deps=[["sales", "datasource"]], kinds={"tableau", "sheet"}
    ),
    AssetSpec(
        ["sales", "dashboard", "overview"],
        deps=[["sales", "sheet", "trend"]],
        kinds={"tableau", "dashboard"},
        group_name="sales",
        description="Sales at a glance.",
        metadata={"dagster-tableau/id": "abc"},
    ),
]
LOOKER = [
    AssetSpec(
        ["looker", "explore", "orders"], deps=[["view", "orders"]], kinds={"looker", "explore"}
    ),
    AssetSpec(
        ["looker", "Revenue_12"],
        deps=[["looker", "explore", "orders"]],
        kinds={"looker", "dashboard"},
        metadata={"dagster-looker/web_url": MetadataValue.url("https://looker.example.com/12")},
    ),
]
MARKED = AssetSpec(
    ["apps", "churn_predictor"],
    deps=[orders],
    metadata={
        **DotExternalAssetMetadata(external_asset_subtype="streamlit_app"),
        "app_url": "https://apps.example.com/churn",
    },
)
DOT_DASHBOARD = AssetSpec(
    ["dot", "dashboards", "revenue"], deps=[orders], kinds={"dot", "dashboard"}
)


def test_dashboards_and_marked_assets_become_external_assets_with_the_tables_they_read() -> None:
    graph = DagsterAssetGraph([orders, *TABLEAU, *LOOKER, MARKED, DOT_DASHBOARD])

    by_id = {a.id: a for a in graph.external_assets()}

    assert sorted(by_id) == [
        "apps/churn_predictor",
        "looker/Revenue_12",
        "sales/dashboard/overview",
    ]
    tableau = by_id["sales/dashboard/overview"]
    assert (tableau.subtype, tableau.folder, tableau.name) == (
        "tableau_dashboard",
        "sales",
        "overview",
    )
    assert tableau.description == "Sales at a glance."
    assert tableau.dot_description == (
        "Reads these tables (from the Dagster asset graph):\n- `analytics/orders`"
    )
    looker = by_id["looker/Revenue_12"]
    assert (looker.subtype, looker.url) == ("looker_dashboard", "https://looker.example.com/12")
    assert looker.dot_description is not None and "`view/orders`" in looker.dot_description
    app = by_id["apps/churn_predictor"]
    assert (app.subtype, app.url) == ("streamlit_app", "https://apps.example.com/churn")


def test_the_catalogue_asset_sits_downstream_of_the_dashboards_it_imports() -> None:
    graph = DagsterAssetGraph([orders, *TABLEAU, *LOOKER])

    catalogue = build_dot_catalogue_asset([graph])

    spec = next(iter(catalogue.specs))
    assert {dep.asset_key for dep in spec.deps} == {
        AssetKey(["looker", "Revenue_12"]),
        AssetKey(["sales", "dashboard", "overview"]),
    }
    assert spec.metadata["dot/id_prefix"] == "dagster:"


@pytest.mark.parametrize(
    ("kwargs", "expected"),
    [
        ({"sources": []}, "has no sources"),
        ({"sources": ["catalogue.yaml"]}, "is not a Dot catalogue source"),
        ({"id_prefix": " "}, "id_prefix must not be blank"),
        ({"on_removed": "archive"}, "on_removed is one of deactivate, delete, keep"),
    ],
)
def test_configuration_mistakes_fail_when_definitions_load(kwargs: dict, expected: str) -> None:
    arguments = {"sources": [DagsterAssetGraph([])], **kwargs}
    with pytest.raises((ValueError, TypeError), match=expected):
        build_dot_catalogue_asset(**arguments)
