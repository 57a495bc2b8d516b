"""Connection syncs and external assets."""

import time

import httpx
import pytest

from dot_orchestration.emulator import ADMIN_TOKEN, ConnectionType, EmulatorConfig, EmulatorServer
from dot_orchestration.emulator.models import ExternalAsset

from .conftest import Client


@pytest.mark.parametrize("connection_type", [t.value for t in ConnectionType])
def test_every_connection_type_syncs_and_is_logged(
    dot_emulator: EmulatorServer, api: httpx.Client, connection_type: str
) -> None:
    response = api.post(f"/api/sync/{connection_type}/main")
    assert (response.status_code, response.json()) == (200, {})
    [record] = dot_emulator.state.sync_log
    assert (record.connection_type, record.connection_id) == (connection_type, "main")
    assert (record.user, record.auth, record.environment) == (
        "admin@example.com",
        "x-api-key",
        None,
    )


@pytest.mark.parametrize("profile", ["default", "strict"])
def test_any_connection_type_is_synced_as_in_dots_spec(
    request: pytest.FixtureRequest, profile: str
) -> None:
    server: EmulatorServer = request.getfixturevalue(
        "dot_emulator" if profile == "default" else "strict_dot_emulator"
    )
    response = httpx.post(
        f"{server.url}/api/sync/oracle/prod", headers={"API-KEY": "dot-emulator-admin"}
    )
    assert response.status_code == 200
    assert response.json() == ({} if profile == "default" else None)  # strict: no body shape
    assert [r.connection_type for r in server.state.sync_log] == ["oracle"]


def test_a_slow_sync_is_logged_when_it_arrives_and_answered_after_the_delay() -> None:
    with EmulatorServer(EmulatorConfig(strict=True, sync_delay_s=0.4), port=0) as server:
        started = time.monotonic()
        response = httpx.post(
            f"{server.url}/api/sync/snowflake/prod", headers={"API-KEY": "dot-emulator-admin"}
        )
        assert time.monotonic() - started >= 0.4
        assert response.status_code == 200
        assert len(server.state.sync_log) == 1


def test_the_sync_log_is_part_of_the_state_dump(api: httpx.Client, control: httpx.Client) -> None:
    api.post("/api/sync/dbt/main", headers={"X-Dot-Environment": "staging"})
    [record] = control.get("/state").json()["sync_log"]
    assert record["environment"] == "staging"
    assert record["timestamp"].endswith("Z")


def test_known_connections_limit_what_can_be_synced(configured_api: httpx.Client) -> None:
    assert configured_api.post("/api/sync/snowflake/prod").status_code == 200
    response = configured_api.post("/api/sync/snowflake/dev")
    assert (response.status_code, response.json()) == (
        404,
        {"detail": "Connection snowflake/dev not found"},
    )


def test_dot_owned_assets_exist_from_the_start(api: httpx.Client) -> None:
    assets = api.get("/api/external_assets").json()
    assert [(a["id"], a["subtype"], a["source"]) for a in assets] == [
        ("looker-dashboard-12", "looker_dashboard", "looker"),
        ("looker-dashboard-31", "looker_dashboard", "looker"),
    ]


def test_import_applies_dots_defaults_and_overwrites_by_id(api: httpx.Client) -> None:
    first = {"id": "tableau-ops", "subtype": "tableau_workbook", "name": "Ops"}
    created = api.post(
        "/api/import_and_overwrite_external_asset", json={"external_asset": first}
    ).json()
    assert created["active"] is True
    assert created["view_count"] == 0
    assert (created["folder"], created["url"], created["dot_description"]) == (None, None, None)
    assert created["source"] == "api"

    second = {"id": "tableau-ops", "subtype": "tableau_workbook", "dot_description": "# Charts"}
    api.post("/api/import_and_overwrite_external_asset", json={"external_asset": second})
    [stored] = [a for a in api.get("/api/external_assets").json() if a["id"] == "tableau-ops"]
    assert (stored["name"], stored["dot_description"]) == (None, "# Charts")  # overwritten


def test_importing_over_a_dot_owned_asset_takes_it_over(
    dot_emulator: EmulatorServer, api: httpx.Client
) -> None:
    asset = {"id": "looker-dashboard-12", "subtype": "looker_dashboard", "name": "Mine now"}
    api.post("/api/import_and_overwrite_external_asset", json={"external_asset": asset})
    stored = dot_emulator.state.space().asset("looker-dashboard-12")
    assert stored is not None
    assert (stored.source, stored.asset.name) == ("api", "Mine now")


def test_delete_external_asset(api: httpx.Client, client: Client) -> None:
    deleted = api.post("/api/delete_external_asset", params={"asset_id": "looker-dashboard-31"})
    assert deleted.json()["id"] == "looker-dashboard-31"
    assert [a["id"] for a in api.get("/api/external_assets").json()] == ["looker-dashboard-12"]
    again = api.post("/api/delete_external_asset", params={"asset_id": "looker-dashboard-31"})
    assert (again.status_code, again.json()) == (
        404,
        {"detail": "External asset looker-dashboard-31 not found"},
    )


def test_a_modeler_syncs_only_with_the_permission_an_admin_grants(client: Client) -> None:
    """Dot's permissions page: "Trigger and schedule connection syncs" is off by default."""
    refused = client("dot-emulator-modeler").post("/api/sync/snowflake/prod")
    assert refused.status_code == 403
    assert "Trigger and schedule connection syncs" in refused.json()["detail"]
    with EmulatorServer(EmulatorConfig(modelers_may_sync=True), port=0) as server:
        granted = httpx.post(
            f"{server.url}/api/sync/snowflake/prod", headers={"API-KEY": "dot-emulator-modeler"}
        )
    assert granted.status_code == 200


def test_strict_external_asset_replies_are_minimal(strict_dot_emulator: EmulatorServer) -> None:
    with httpx.Client(base_url=strict_dot_emulator.url, headers={"API-KEY": ADMIN_TOKEN}) as api:
        asset = {"id": "dash-1", "subtype": "looker_dashboard", "name": "Revenue", "active": False}
        imported = api.post(
            "/api/import_and_overwrite_external_asset", json={"external_asset": asset}
        )
        assert (imported.status_code, imported.json()) == (200, None)  # empty schema in Dot's spec
        listed = {a["id"]: a for a in api.get("/api/external_assets").json()}
        assert set(listed["dash-1"]) == set(ExternalAsset.model_fields)  # no source, no updated_at
        assert listed["dash-1"]["active"] is False  # a documented field: honoured
        deleted = api.post("/api/delete_external_asset", params={"asset_id": "dash-1"})
        assert (deleted.status_code, deleted.json()) == (200, None)
        assert "dash-1" not in {a["id"] for a in api.get("/api/external_assets").json()}
