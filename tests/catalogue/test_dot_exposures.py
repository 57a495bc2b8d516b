"""Dot's dashboards in the lineage graph: fetched once into a state file, loaded without Dot."""

import json
import logging
import socket
from pathlib import Path

import httpx
import pytest
from dagster import (
    AssetKey,
    AssetsDefinition,
    AssetSpec,
    Definitions,
    ResourceDefinition,
    materialize,
)

from dot_orchestration.catalogue import (
    DotDashboardProps,
    DotExposureTranslator,
    ExposuresRefresh,
    build_refresh_exposures_asset,
    load_dot_dashboard_specs,
    referenced_model,
    refresh_dot_exposures,
)
from dot_orchestration.client import DotAPIError, DotClient, DotServerError, HttpRetries
from dot_orchestration.emulator import (
    ADMIN_TOKEN,
    ConnectionRef,
    ConnectionType,
    EmulatorConfig,
    EmulatorServer,
)
from dot_orchestration.resources import DotResource

from ._shop import shop_dbt_assets

REVENUE = AssetKey(["dot", "dashboards", "dot_revenue_overview"])
CUSTOMERS = AssetKey(["dot", "dashboards", "dot_customer_health"])


@pytest.fixture(scope="module")
def dbt_assets() -> AssetsDefinition:
    """Real `@dbt_assets` (from a written manifest), so keys come from dagster-dbt."""
    return shop_dbt_assets()


@pytest.fixture
def state_path(tmp_path: Path) -> Path:
    return tmp_path / "state" / "dot_exposures.json"


def refresh(server: EmulatorServer, path: Path) -> ExposuresRefresh:
    with DotClient(
        api_token=ADMIN_TOKEN, base_url=server.url, retry=HttpRetries(max_attempts=1)
    ) as client:
        return refresh_dot_exposures(client, path)


def write_state(path: Path, exposures: list[dict[str, object]]) -> None:
    """A state file holding `exposures`, as a refresh would have written it."""
    path.parent.mkdir()
    path.write_text(json.dumps({"fetched_at": "2026-01-01T00:00:00+00:00", "exposures": exposures}))


def load_definitions(dbt_assets: AssetsDefinition, specs: list[AssetSpec]) -> Definitions:
    """The dbt models and the dashboards, as a code location loads them: with a Dot resource
    pointing where nothing answers, because loading must not need Dot."""
    unreachable = DotResource(api_token=ADMIN_TOKEN, base_url=f"http://127.0.0.1:{unused_port()}")
    defs = Definitions(
        assets=[dbt_assets, *specs],
        resources={"dbt": ResourceDefinition.none_resource(), "dot": unreachable},
    )
    defs.resolve_asset_graph()
    return defs


def dashboard_parents(defs: Definitions) -> dict[AssetKey, set[str]]:
    graph = defs.resolve_asset_graph()
    return {
        key: {parent.to_user_string() for parent in graph.get(key).parent_keys}
        for key in graph.get_all_asset_keys()
        if key.path[:2] == ["dot", "dashboards"]
    }


def unused_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_dot_dashboards_sit_downstream_of_the_dbt_models_they_read(
    any_dot_emulator: EmulatorServer, state_path: Path, dbt_assets: AssetsDefinition
) -> None:
    """Both profiles serve Dot's documented exposures; every dashboard spec carries the
    documented `dot_app_id` and `dot_tables`."""
    refresh(any_dot_emulator, state_path)

    defs = load_definitions(
        dbt_assets, load_dot_dashboard_specs(state_path, dbt_assets=[dbt_assets])
    )

    assert dashboard_parents(defs) == {
        REVENUE: {"daily_revenue", "orders"},
        CUSTOMERS: {"customers", "orders"},
    }
    graph = defs.resolve_asset_graph()
    app_ids = {key: graph.get(key).metadata["dot/app_id"] for key in (REVENUE, CUSTOMERS)}
    assert app_ids == {
        REVENUE: "_shared__revenue-overview",
        CUSTOMERS: "_shared__customer-health",
    }
    node = graph.get(REVENUE)
    assert not node.is_materializable
    assert node.metadata["dot/tables"].value == [
        "analytics.public.daily_revenue",
        "analytics.public.orders",
    ]
    assert node.metadata["dot/url"].url == f"{any_dot_emulator.url}/apps/_shared__revenue-overview"
    assert "dot/unresolved_models" not in node.metadata
    assert node.kinds == {"dot", "dashboard"}


def test_lineage_dot_could_not_resolve_is_kept_on_the_spec_and_logged(
    state_path: Path, dbt_assets: AssetsDefinition, caplog: pytest.LogCaptureFixture
) -> None:
    exposure = {
        "name": "dot_ops",
        "type": "dashboard",
        "depends_on": ["ref('orders')"],
        "meta": {
            "dot_app_id": "_shared__ops",
            "dot_tables": ["analytics.public.orders", "analytics.public.legacy_orders"],
            "dot_unresolved_models": ["legacy_orders"],
            "dot_ambiguous_tables": ["analytics.public.events"],
        },
    }
    write_state(state_path, [exposure])

    with caplog.at_level(logging.WARNING):
        (spec,) = load_dot_dashboard_specs(state_path, dbt_assets=[dbt_assets])

    assert spec.metadata["dot/app_id"] == "_shared__ops"
    assert spec.metadata["dot/unresolved_models"].value == ["legacy_orders"]
    assert spec.metadata["dot/ambiguous_tables"].value == ["analytics.public.events"]
    assert "dot_ops reads models missing from the dbt manifest Dot synced" in caplog.text
    assert "tables matching more than one of Dot's table docs" in caplog.text


def test_a_refresh_names_the_dbt_repository_when_dot_has_several(
    state_path: Path, tmp_path: Path
) -> None:
    """Dot needs `connection_id` only with more than one dbt repository connected."""
    two_repositories = EmulatorConfig(
        known_connections=[
            ConnectionRef(type=ConnectionType.dbt, id="analytics"),
            ConnectionRef(type=ConnectionType.dbt, id="finance"),
        ]
    )
    with EmulatorServer(two_repositories, port=0) as server:
        with pytest.raises(DotAPIError, match="connection_id is required"):
            refresh(server, state_path)
        with DotClient(api_token=ADMIN_TOKEN, base_url=server.url) as client:
            refreshed = refresh_dot_exposures(client, state_path, connection_id="finance")
        (entry,) = [e for e in server.state.journal.entries() if e["status"] == 200]
    assert entry["query"] == {"format": "json", "connection_id": "finance"}
    assert refreshed.state.connection_id == "finance"


def test_definitions_load_from_the_state_file_while_dot_is_down(
    dot_emulator: EmulatorServer, state_path: Path, dbt_assets: AssetsDefinition
) -> None:
    refresh(dot_emulator, state_path)
    httpx.delete(f"{dot_emulator.url}/_emulator/journal").raise_for_status()

    defs = load_definitions(
        dbt_assets, load_dot_dashboard_specs(state_path, dbt_assets=[dbt_assets])
    )

    assert set(dashboard_parents(defs)) == {REVENUE, CUSTOMERS}
    assert httpx.get(f"{dot_emulator.url}/_emulator/journal").json()["entries"] == []


def test_a_missing_state_file_gives_no_dashboards_and_a_warning(
    state_path: Path, dbt_assets: AssetsDefinition, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING):
        specs = load_dot_dashboard_specs(state_path, dbt_assets=[dbt_assets])

    assert specs == []
    assert f"Dot exposures state {state_path} does not exist" in caplog.text
    assert "dot-orchestration refresh-exposures" in caplog.text
    assert dashboard_parents(load_definitions(dbt_assets, specs)) == {}


def test_a_failed_refresh_keeps_the_last_state_and_an_unchanged_one_leaves_the_file_alone(
    dot_emulator: EmulatorServer, state_path: Path
) -> None:
    assert refresh(dot_emulator, state_path).changed
    written = state_path.read_text()
    httpx.put(
        f"{dot_emulator.url}/_emulator/faults",
        json={"rules": [{"path": "/api/dbt/exposures", "kind": "status", "status": 500}]},
    ).raise_for_status()

    with pytest.raises(DotServerError):
        refresh(dot_emulator, state_path)
    assert state_path.read_text() == written

    httpx.delete(f"{dot_emulator.url}/_emulator/faults").raise_for_status()
    again = refresh(dot_emulator, state_path)
    assert not again.changed
    assert state_path.read_text() == written
    assert (
        "2 dashboards" in again.summary() and "1 shared apps without dbt models" in again.summary()
    )


def test_an_unknown_model_is_logged_and_the_dashboard_kept_with_its_other_models(
    state_path: Path, dbt_assets: AssetsDefinition, caplog: pytest.LogCaptureFixture
) -> None:
    exposure = {
        "name": "dot_ops",
        "type": "dashboard",
        "depends_on": ["ref('my_project', 'orders')", "ref('renamed_model')"],
    }
    write_state(state_path, [exposure])

    with caplog.at_level(logging.WARNING):
        (spec,) = load_dot_dashboard_specs(state_path, dbt_assets=[dbt_assets])

    assert [dep.asset_key for dep in spec.deps] == [AssetKey(["orders"])]
    assert "dot_ops depends on ref('renamed_model'), which is no model" in caplog.text


def test_the_snapshot_asset_writes_the_state_and_reports_whether_it_changed(
    dot_emulator: EmulatorServer, state_path: Path
) -> None:
    snapshot = build_refresh_exposures_asset(state_path)
    dot = DotResource(api_token=ADMIN_TOKEN, base_url=dot_emulator.url)

    changed = []
    for _ in range(2):
        result = materialize([snapshot], resources={"dot": dot})
        (event,) = result.get_asset_materialization_events()
        changed.append(event.materialization.metadata["dot/exposures_changed"].value)

    assert changed == [True, False]
    assert state_path.exists()


def test_a_translator_renames_dashboards_and_its_keys_decide_what_is_a_duplicate(
    state_path: Path, dbt_assets: AssetsDefinition, caplog: pytest.LogCaptureFixture
) -> None:
    """One seam, `get_asset_spec(props)`: the key it returns is the key duplicates are
    detected by, so a translator mapping two dashboards to one key keeps the first."""
    exposures = [
        {"name": name, "type": "dashboard", "depends_on": ["ref('orders')"]}
        for name in ("dot_a", "dot_b")
    ]
    write_state(state_path, exposures)

    class OneFolder(DotExposureTranslator):
        def get_asset_spec(self, props: DotDashboardProps) -> AssetSpec:
            spec = super().get_asset_spec(props)
            return spec.replace_attributes(key=["bi", "dot"], group_name="bi")

    with caplog.at_level(logging.WARNING):
        specs = load_dot_dashboard_specs(
            state_path, dbt_assets=[dbt_assets], translator=OneFolder()
        )

    assert [(spec.key, spec.group_name) for spec in specs] == [(AssetKey(["bi", "dot"]), "bi")]
    assert specs[0].metadata["dot/exposure_name"] == "dot_a"
    assert "Dot exposure dot_b maps to asset bi/dot like an earlier one" in caplog.text


@pytest.mark.parametrize(
    ("dependency", "model"),
    [
        ("ref('orders')", "orders"),
        ('ref("orders")', "orders"),
        ("ref('jaffle', 'orders')", "orders"),
        ("ref('orders', v=2)", "orders"),
        ("source('raw', 'orders')", None),
    ],
)
def test_refs_name_their_model(dependency: str, model: str | None) -> None:
    assert referenced_model(dependency) == model
