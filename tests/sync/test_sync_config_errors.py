"""Every bad connection configuration fails at definition load, naming the entry and the fix."""

from __future__ import annotations

import pytest
from dagster import AssetCheckResult, AssetKey, AssetsDefinition, AssetSpec, asset, asset_check
from pydantic import ValidationError

from dot_demo.definitions import (
    ExampleSettings,
    build_example_dbt_assets,
    prepared_dbt_project,
)
from dot_orchestration._compat import asset_graph_of
from dot_orchestration.syncs import (
    DotConnection,
    DotSyncProps,
    DotSyncTranslator,
    SyncSchedule,
    SyncSettings,
    build_dbt_then_sync_schedule,
    build_dot_sync_assets,
)


@asset(key=["bi", "revenue_extract"])
def revenue_extract() -> None:
    """A non-dbt upstream, to show explicit asset keys."""


def syncs_of(
    *connections: DotConnection,
    upstream: list[AssetsDefinition],
    translator: DotSyncTranslator | None = None,
) -> AssetsDefinition:
    settings = SyncSettings(connections=connections)
    return build_dot_sync_assets(settings, upstream=upstream, translator=translator)


def upstream_keys(assets_def: AssetsDefinition) -> set[AssetKey]:
    (spec,) = assets_def.specs
    return {dep.asset_key for dep in spec.deps}


def test_dbt_selection_resolves_through_the_dbt_translator(dbt_defs: AssetsDefinition) -> None:
    conn = DotConnection(type="snowflake", id="prod", dbt_select="tag:dot")
    syncs = syncs_of(conn, upstream=[dbt_defs])
    marts = {
        key for key in dbt_defs.keys if key.path[-1] in {"customers", "orders", "daily_revenue"}
    }
    assert upstream_keys(syncs) == marts


def test_explicit_asset_keys_and_dbt_selection_combine(dbt_defs: AssetsDefinition) -> None:
    conn = DotConnection(
        type="looker", id="main", dbt_select="orders", asset_keys=("bi/revenue_extract",)
    )
    syncs = syncs_of(conn, upstream=[dbt_defs, revenue_extract])
    assert {k.path[-1] for k in upstream_keys(syncs)} == {"orders", "revenue_extract"}


def test_an_unknown_connection_type_is_a_warning_naming_the_known_ones() -> None:
    """Dot's spec takes any string: a type this package does not know may be new in Dot."""
    with pytest.warns(UserWarning, match=r"type 'oracle' is not one this package knows.*snowflake"):
        connection = DotConnection(type="oracle", id="prod", dbt_select="tag:dot")
    assert connection.type == "oracle"


def test_a_miscased_known_connection_type_is_refused() -> None:
    with pytest.raises(ValidationError, match=r"write it as 'snowflake'"):
        DotConnection(type="Snowflake", id="prod", dbt_select="tag:dot")


def test_connection_without_upstream_is_refused() -> None:
    with pytest.raises(ValidationError, match=r"snowflake/prod names no upstream.*dbt_select"):
        DotConnection(type="snowflake", id="prod")


def test_unknown_model_is_named(dbt_defs: AssetsDefinition) -> None:
    conn = DotConnection(type="snowflake", id="prod", dbt_select="orders custmers")
    with pytest.raises(ValueError, match=r"snowflake/prod: dbt selection 'custmers' matches no"):
        syncs_of(conn, upstream=[dbt_defs])


def test_empty_selection_is_refused(dbt_defs: AssetsDefinition) -> None:
    conn = DotConnection(type="bigquery", id="bq", dbt_select="tag:no_such_tag")
    with pytest.raises(ValueError, match=r"bigquery/bq: dbt selection 'tag:no_such_tag' matches"):
        syncs_of(conn, upstream=[dbt_defs])


def test_unknown_explicit_asset_key_is_named(dbt_defs: AssetsDefinition) -> None:
    conn = DotConnection(type="looker", id="main", asset_keys=("bi/nope",))
    with pytest.raises(ValueError, match=r"looker/main: asset key 'bi/nope' is not defined"):
        syncs_of(conn, upstream=[dbt_defs])


def test_dbt_selection_without_dbt_assets_is_refused() -> None:
    conn = DotConnection(type="snowflake", id="prod", dbt_select="tag:dot")
    with pytest.raises(ValueError, match=r"snowflake/prod uses dbt_select but no @dbt_assets"):
        syncs_of(conn, upstream=[revenue_extract])


def test_duplicate_connections_are_refused(dbt_defs: AssetsDefinition) -> None:
    conns = [
        DotConnection(type="snowflake", id="prod", dbt_select="orders"),
        DotConnection(type="snowflake", id="prod", dbt_select="customers"),
    ]
    with pytest.raises(ValueError, match=r"snowflake/prod is declared twice"):
        syncs_of(*conns, upstream=[dbt_defs])


def test_ids_that_collide_as_asset_keys_are_refused(dbt_defs: AssetsDefinition) -> None:
    conns = [
        DotConnection(type="snowflake", id="prod-eu", dbt_select="orders"),
        DotConnection(type="snowflake", id="prod.eu", dbt_select="customers"),
    ]
    with pytest.raises(ValueError, match=r"collides with snowflake/prod-eu"):
        syncs_of(*conns, upstream=[dbt_defs])


class _OneKey(DotSyncTranslator):
    """Puts every connection at one key: a translated key that collides."""

    def get_asset_spec(self, props: DotSyncProps) -> AssetSpec:
        return super().get_asset_spec(props).replace_attributes(key=AssetKey(["dot", "all"]))


def test_duplicates_are_found_at_the_translated_key() -> None:
    """The translator's spec is the only source of keys: two connections it puts at one
    key are refused, though their default keys differ."""
    conns = [
        DotConnection(type="snowflake", id="prod", asset_keys=("bi/revenue_extract",)),
        DotConnection(type="looker", id="main", asset_keys=("bi/revenue_extract",)),
    ]
    with pytest.raises(ValueError, match=r"looker/main .* collides with snowflake/prod as asset"):
        syncs_of(*conns, upstream=[revenue_extract], translator=_OneKey())
    (single,) = syncs_of(conns[0], upstream=[revenue_extract], translator=_OneKey()).keys
    assert single == AssetKey(["dot", "all"])


class _NoMetadata(DotSyncTranslator):
    def get_asset_spec(self, props: DotSyncProps) -> AssetSpec:
        return super().get_asset_spec(props).replace_attributes(metadata={})


def test_a_translator_that_drops_the_connection_ids_is_refused() -> None:
    """The step reads each connection's ids from its spec: without them it could not sync."""
    conn = DotConnection(type="snowflake", id="prod", asset_keys=("bi/revenue_extract",))
    with pytest.raises(ValueError, match=r"lost its DotConnectionMetadata"):
        syncs_of(conn, upstream=[revenue_extract], translator=_NoMetadata())


def test_no_connections_is_refused() -> None:
    with pytest.raises(ValidationError, match=r"connections\n.*at least 1 item"):
        SyncSettings(connections=())


def test_unknown_field_is_refused() -> None:
    with pytest.raises(ValidationError, match="dbt_selct"):
        DotConnection(type="snowflake", id="prod", dbt_selct="tag:dot")  # type: ignore[call-arg]


def test_the_nightly_job_can_leave_models_out_of_its_build() -> None:
    """One dbt definition holding every model: `dbt_exclude` keeps the usage models (built
    after the history export) out of `dbt build → syncs`, their tests included."""
    everything = build_example_dbt_assets(
        prepared_dbt_project(ExampleSettings()), push_run_results=False, exclude=None
    )
    conn = DotConnection(type="duckdb", id="demo", dbt_select="tag:dot")
    syncs = syncs_of(conn, upstream=[everything])
    assets = [everything, syncs]
    usage = AssetKey("dot_usage_daily")

    graph = asset_graph_of(assets)

    def job_of(schedule: SyncSchedule) -> tuple[set[AssetKey], set[AssetKey]]:
        """The assets the nightly job builds, and the assets its checks are on."""
        selection = build_dbt_then_sync_schedule([everything], syncs, schedule).job.selection
        checks = selection.resolve_checks(graph)  # type: ignore[union-attr]
        return set(selection.resolve(graph)), {check.asset_key for check in checks}  # type: ignore[union-attr]

    assert all(usage in keys for keys in job_of(SyncSchedule()))
    nightly, checked = job_of(SyncSchedule(dbt_exclude="tag:dot_usage"))
    assert usage not in nightly and usage not in checked
    assert {AssetKey("orders"), *syncs.keys} <= nightly
    assert {AssetKey("orders"), *syncs.keys} <= checked


def test_the_nightly_job_runs_the_checks_of_dbt_and_the_syncs_not_others_on_its_models() -> None:
    """A check another definition puts on a dbt model (a question's answer check, say)
    runs in that definition's own runs: in the nightly build it would read an answer
    older than the build and warn falsely."""
    dbt = build_example_dbt_assets(
        prepared_dbt_project(ExampleSettings()), push_run_results=False, exclude=None
    )
    syncs = syncs_of(DotConnection(type="duckdb", id="demo", dbt_select="tag:dot"), upstream=[dbt])

    @asset_check(asset=AssetKey("daily_revenue"))
    def answer_matches() -> AssetCheckResult:
        return AssetCheckResult(passed=True)

    nightly = build_dbt_then_sync_schedule([dbt], syncs, SyncSchedule()).job
    graph = asset_graph_of([dbt, syncs, answer_matches])
    checks = nightly.selection.resolve_checks(graph)  # type: ignore[union-attr]
    assert answer_matches.check_key not in checks
    dbt_tests = {key for key in checks if key.asset_key == AssetKey("daily_revenue")}
    assert dbt_tests, "the dbt tests of the built models still run"
    assert set(syncs.check_keys) <= checks
