"""A connection's simple dbt terms are looked up in an index of the manifest, and the
lookup gives what dagster-dbt (dbt's own selector) gives, for every model, seed, folder,
package and tag of the example project, with and without an exclusion."""

from __future__ import annotations

import pytest
from dagster import AssetKey, AssetsDefinition, AssetSelection
from dagster_dbt import DbtManifestAssetSelection, DbtProject, build_dbt_asset_selection

from dot_demo.definitions import build_example_dbt_assets
from dot_orchestration._compat import asset_graph_of, dbt_manifest_of, dbt_selection_of
from dot_orchestration.syncs import DotConnection, UpstreamResolver, upstream
from dot_orchestration.syncs.dbt_terms import DbtTermIndex


@pytest.fixture(scope="module")
def everything(dbt_project: DbtProject) -> AssetsDefinition:
    """Every model, the usage models included (the nightly `dbt_defs` leaves them out)."""
    return build_example_dbt_assets(dbt_project, push_run_results=False, exclude=None)


def dbt_answer(dbt_def: AssetsDefinition, term: str, exclude: str | None = None) -> set[AssetKey]:
    selection = build_dbt_asset_selection([dbt_def], dbt_select=term, dbt_exclude=exclude)
    return set(selection.resolve([dbt_def]))


def simple_terms(dbt_def: AssetsDefinition) -> list[str]:
    """Every name and tag dbt could match a node of the manifest on, and two misses."""
    names: set[str] = {"no_such_model", "tag:no_such_tag"}
    for node in dbt_manifest_of(dbt_def)["nodes"].values():
        names.update(node["fqn"])
        names.update(f"tag:{tag}" for tag in node["tags"])
    return sorted(names)


@pytest.mark.parametrize("which", ["nightly", "everything"])
def test_each_simple_term_selects_what_dbt_selects(
    which: str, dbt_defs: AssetsDefinition, everything: AssetsDefinition
) -> None:
    """The nightly definition has its own `exclude`: a term selects only its assets."""
    dbt_def = dbt_defs if which == "nightly" else everything
    index = DbtTermIndex(dbt_def)
    terms = simple_terms(dbt_def)
    assert {"marts", "staging", "orders", "raw_orders", "tag:dot"} <= set(terms)
    for term in terms:
        assert index.select(term, None) == dbt_answer(dbt_def, term), term


@pytest.mark.parametrize(
    ("term", "exclude"),
    [("marts", "orders"), ("tag:dot", "customers tag:dot_usage"), ("staging", "no_such_model")],
)
def test_an_exclusion_of_simple_terms_is_looked_up_too(
    everything: AssetsDefinition, term: str, exclude: str
) -> None:
    index = DbtTermIndex(everything)
    assert index.select(term, exclude) == dbt_answer(everything, term, exclude)


@pytest.mark.parametrize(
    ("term", "exclude"),
    [
        ("orders+", None),  # graph operator
        ("stg_*", None),  # wildcard
        ("tag:dot,marts", None),  # intersection
        ("models/marts", None),  # path
        ("orders.sql", None),  # file
        ("fqn:*", None),  # another method
        ("marts", "+orders"),  # an exclusion dbt must resolve
    ],
)
def test_other_terms_are_left_to_dbt(
    everything: AssetsDefinition, term: str, exclude: str | None
) -> None:
    assert DbtTermIndex(everything).select(term, exclude) is None


def test_a_load_resolves_simple_terms_without_dbts_selector(
    everything: AssetsDefinition, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The point of the index: many connections' names and tags cost no dbt selection
    graph each; only a term the index cannot answer goes to dagster-dbt."""
    asked: list[str] = []

    def counted(
        dbt_assets: list[AssetsDefinition], dbt_select: str, dbt_exclude: str | None
    ) -> AssetSelection:
        asked.append(dbt_select)
        return build_dbt_asset_selection(dbt_assets, dbt_select=dbt_select, dbt_exclude=dbt_exclude)

    monkeypatch.setattr(upstream, "build_dbt_asset_selection", counted)
    resolver = UpstreamResolver([everything])
    connections = [
        DotConnection(type="duckdb", id="a", dbt_select="orders marts tag:dot"),
        DotConnection(type="duckdb", id="b", dbt_select="customers tag:dot_usage"),
        DotConnection(type="duckdb", id="c", dbt_select="orders+"),
    ]
    keys = {c.id: {k.path[-1] for k in resolver.dbt_keys(c)} for c in connections}
    assert asked == ["orders+"]
    assert keys["a"] == {"orders", "customers", "daily_revenue"}
    assert "dot_usage_daily" in keys["b"]
    assert "daily_revenue" in keys["c"]


@pytest.mark.parametrize("select", ["tag:dot_usage", "orders", "staging", "+orders", "stg_*"])
def test_a_selection_resolved_once_is_what_dbt_selects(
    everything: AssetsDefinition, select: str
) -> None:
    """The nightly job's `dbt_exclude` is resolved at build into keys: the same models,
    and the same tests as checks, as dagster-dbt's selection resolves at every job build
    (which also names the checks of source tests no definition holds: a job has none)."""
    manifest = dbt_manifest_of(everything)
    dbts = DbtManifestAssetSelection.build(manifest, select=select)
    graph = asset_graph_of([everything])
    ours = dbt_selection_of(everything, select)
    assert ours.resolve(graph) == dbts.resolve(graph)
    assert ours.resolve_checks(graph) == dbts.resolve_checks(graph) & graph.asset_check_keys
    assert ours.resolve_checks(graph), "the example's tests of these models are checks"
