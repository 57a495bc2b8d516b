"""dbt run results, quality incidents from any tool, and dbt exposures."""

from typing import Any

import httpx
import yaml

from dot_orchestration.emulator import (
    ADMIN_TOKEN,
    ConnectionRef,
    ConnectionType,
    EmulatorConfig,
    EmulatorServer,
    SeededDashboard,
)

MANIFEST = {
    "nodes": {
        "model.shop.orders": {"name": "orders", "resource_type": "model"},
        "model.shop.customers": {"name": "customers", "resource_type": "model"},
        "test.shop.not_null_orders_id.1a": {
            "name": "not_null_orders_id",
            "attached_node": "model.shop.orders",
        },
        "test.shop.unique_customers_id.2b": {
            "name": "unique_customers_id",
            "depends_on": {"nodes": ["model.shop.customers"]},
        },
    },
    "sources": {"source.shop.raw.payments": {"name": "payments"}},
}


def run_results(**statuses: str) -> dict[str, Any]:
    """A run_results.json with one result per unique id (dots written as __)."""
    return {
        "results": [
            {"unique_id": uid.replace("__", "."), "status": status, "message": f"{status}!"}
            for uid, status in statuses.items()
        ]
    }


def open_incidents(dot_emulator: EmulatorServer) -> set[tuple[str, str, str]]:
    return {
        (i.table, i.check, i.severity)
        for i in dot_emulator.state.space().incidents.incidents()
        if i.status == "open"
    }


def test_failing_dbt_nodes_open_incidents_and_passing_ones_resolve_them(
    dot_emulator: EmulatorServer, api: httpx.Client
) -> None:
    failing = run_results(
        model__shop__orders="error",
        test__shop__not_null_orders_id__1a="fail",
        test__shop__unique_customers_id__2b="warn",
        source__shop__raw__payments="error",
        model__shop__customers="skipped",
    )
    summary = api.post("/api/dbt/run_results", json={"run_results": failing, "manifest": MANIFEST})
    assert summary.json() == {"opened": 4, "updated": 0, "resolved": 0, "open": 4}
    assert open_incidents(dot_emulator) == {
        ("orders", "model", "error"),
        ("orders", "not_null_orders_id", "error"),
        ("customers", "unique_customers_id", "warning"),
        ("payments", "freshness", "error"),
    }

    passing = run_results(
        model__shop__orders="success",
        test__shop__not_null_orders_id__1a="pass",
        test__shop__unique_customers_id__2b="warn",
    )
    summary = api.post("/api/dbt/run_results", json={"run_results": passing, "manifest": MANIFEST})
    assert summary.json() == {"opened": 0, "updated": 1, "resolved": 2, "open": 2}
    assert open_incidents(dot_emulator) == {
        ("customers", "unique_customers_id", "warning"),
        ("payments", "freshness", "error"),
    }


def test_passing_results_without_incidents_leave_no_records(
    dot_emulator: EmulatorServer, api: httpx.Client
) -> None:
    passing = run_results(model__shop__orders="success")
    api.post("/api/dbt/run_results", json={"run_results": passing, "manifest": MANIFEST})
    assert dot_emulator.state.space().incidents.incidents() == []


def test_nodes_missing_from_the_manifest_use_their_unique_id(
    dot_emulator: EmulatorServer, api: httpx.Client
) -> None:
    failing = run_results(model__shop__daily_revenue="error")
    api.post("/api/dbt/run_results", json={"run_results": failing, "manifest": {}})
    assert open_incidents(dot_emulator) == {("daily_revenue", "model", "error")}


def test_any_tool_can_report_incidents_keyed_by_source_table_and_check(
    dot_emulator: EmulatorServer, api: httpx.Client, control: httpx.Client
) -> None:
    items = [
        {"table": "orders", "check": "row_count", "status": "open", "message": "0 rows"},
        {"table": "customers", "check": "fresh", "status": "resolved", "severity": "info"},
    ]
    summary = api.post("/api/quality/incidents", json={"source": "soda", "items": items}).json()
    assert summary == {"opened": 1, "updated": 0, "resolved": 0, "open": 1}
    again = [{"table": "orders", "check": "row_count", "status": "open", "message": "still 0"}]
    summary = api.post("/api/quality/incidents", json={"source": "soda", "items": again}).json()
    assert summary == {"opened": 0, "updated": 1, "resolved": 0, "open": 1}

    incidents = control.get("/state").json()["environments"]["production"]["incidents"]
    assert [(i["table"], i["status"], i["severity"], i["message"]) for i in incidents] == [
        ("orders", "open", "error", "still 0"),
        ("customers", "resolved", "info", None),
    ]
    assert incidents[1]["resolved_at"] is not None


def test_resolving_keeps_the_first_resolution_time(
    api: httpx.Client, control: httpx.Client
) -> None:
    item = {"table": "orders", "check": "c", "status": "open"}
    api.post("/api/quality/incidents", json={"source": "s", "items": [item]})
    for _ in range(2):
        api.post(
            "/api/quality/incidents", json={"source": "s", "items": [item | {"status": "resolved"}]}
        )
    [incident] = control.get("/state").json()["environments"]["production"]["incidents"]
    assert incident["status"] == "resolved"
    assert incident["resolved_at"] <= incident["updated_at"]


def test_exposures_as_json_follow_dots_documented_shape(api: httpx.Client) -> None:
    """The dbt Exposures page: per shared dashboard `meta.dot_app_id` and `dot_tables`, an
    aggregate `dot_model` with `dot_aggregate` and `dot_model_count`."""
    document = api.get("/api/dbt/exposures", params={"format": "json"}).json()
    assert document["version"] == 2
    by_name = {exposure["name"]: exposure for exposure in document["exposures"]}
    assert set(by_name) == {"dot_revenue_overview", "dot_customer_health", "dot_model"}
    revenue = by_name["dot_revenue_overview"]
    host = str(api.base_url).rstrip("/")
    assert revenue == {
        "name": "dot_revenue_overview",
        "label": "Revenue overview",
        "type": "dashboard",
        "url": f"{host}/apps/_shared__revenue-overview",
        "description": "Dot dashboard: Revenue overview",
        "owner": {"name": "analyst@example.com", "email": "analyst@example.com"},
        "depends_on": ["ref('daily_revenue')", "ref('orders')"],
        "meta": {
            "dot_app_id": "_shared__revenue-overview",
            "dot_tables": ["analytics.public.daily_revenue", "analytics.public.orders"],
        },
    }
    model = by_name["dot_model"]
    assert (model["label"], model["type"], model["owner"]) == (
        "Dot Model",
        "application",
        {"name": "Dot"},
    )
    assert model["depends_on"] == ["ref('customers')", "ref('daily_revenue')", "ref('orders')"]
    assert model["meta"] == {"dot_aggregate": True, "dot_model_count": 3}
    apps = document["apps_without_dbt_models"]
    assert [app["id"] for app in apps] == ["_shared__weekly-kpi-notes"]


def test_a_model_missing_from_the_manifest_is_withheld_into_meta() -> None:
    """Safe by construction (docs): an unresolvable `ref()` is reported, never emitted."""
    config = EmulatorConfig(
        dashboards=[SeededDashboard(id="_shared__ops", name="Ops", models=["orders", "gone"])],
        dbt_models=["orders"],
    )
    with EmulatorServer(config, port=0) as server:
        document = httpx.get(
            f"{server.url}/api/dbt/exposures",
            params={"format": "json"},
            headers={"X-API-KEY": ADMIN_TOKEN},
        ).json()
    (ops,) = [e for e in document["exposures"] if e["type"] == "dashboard"]
    assert ops["depends_on"] == ["ref('orders')"]
    assert ops["meta"]["dot_unresolved_models"] == ["gone"]


def test_exposures_as_a_dbt_properties_file(api: httpx.Client) -> None:
    response = api.get("/api/dbt/exposures", params={"connection_id": "dbt-main"})
    assert response.headers["content-type"].startswith("application/yaml")
    properties = yaml.safe_load(response.text)
    assert set(properties) == {"version", "exposures"}
    as_json = api.get("/api/dbt/exposures", params={"format": "json", "connection_id": "dbt-main"})
    assert properties["exposures"] == as_json.json()["exposures"]


def test_several_dbt_repositories_need_a_connection_id(configured_api: httpx.Client) -> None:
    """`CONFIGURED` knows one dbt connection: it is picked without `connection_id`."""
    assert configured_api.get("/api/dbt/exposures").is_success
    config = EmulatorConfig(
        known_connections=[
            ConnectionRef(type=ConnectionType.dbt, id="analytics"),
            ConnectionRef(type=ConnectionType.dbt, id="finance"),
        ]
    )
    with EmulatorServer(config, port=0) as server:
        url, headers = f"{server.url}/api/dbt/exposures", {"X-API-KEY": ADMIN_TOKEN}
        missing = httpx.get(url, headers=headers)
        chosen = httpx.get(url, params={"connection_id": "finance"}, headers=headers)
    assert missing.status_code == 400
    assert "connection_id is required" in missing.json()["detail"]
    assert chosen.is_success


def test_exposures_of_an_unknown_dbt_connection_are_not_found(
    configured_api: httpx.Client,
) -> None:
    assert configured_api.get("/api/dbt/exposures", params={"connection_id": "dbt-main"}).is_success
    response = configured_api.get("/api/dbt/exposures", params={"connection_id": "dbt-other"})
    assert response.status_code == 404
