"""Authentication, roles and environments, per the emulator contract in ARCHITECTURE.md."""

from datetime import datetime, timedelta, timezone
from typing import Any

import httpx
import pytest

from dot_orchestration.emulator import (
    ADMIN_TOKEN,
    EXPIRED_TOKEN,
    MODELER_TOKEN,
    USER_TOKEN,
    EmulatorServer,
    Role,
)

from .conftest import Client, journal

TOKENS = {Role.user: USER_TOKEN, Role.modeler: MODELER_TOKEN, Role.admin: ADMIN_TOKEN}
QUESTION = {"role": "user", "content": "Orders today?"}
USER = {"email": "nobody@example.com"}

# (method, path, json body, query, role required)
ENDPOINTS: list[tuple[str, str, Any, dict[str, str], Role]] = [
    ("POST", "/api/sync/snowflake/prod", None, {}, Role.admin),
    (
        "POST",
        "/api/import_and_overwrite_external_asset",
        {"external_asset": {"id": "a", "subtype": "data_app"}},
        {},
        Role.modeler,
    ),
    ("GET", "/api/external_assets", None, {}, Role.user),
    ("POST", "/api/delete_external_asset", None, {"asset_id": "nope"}, Role.modeler),
    (
        "GET",
        "/api/export_history",
        None,
        {"start_date": "2020-01-01", "end_date": "2020-01-02"},
        Role.admin,
    ),
    ("POST", "/api/ask", {"messages": [QUESTION], "chat_id": "c"}, {}, Role.user),
    ("POST", "/api/ask_with_history", {"new_message": QUESTION, "chat_id": "x"}, {}, Role.user),
    # No question: refused at once (400) instead of waiting for an answer.
    ("POST", "/api/agentic", {"messages": [], "chat_id": "c"}, {}, Role.user),
    (
        "POST",
        "/api/agentic_with_history",
        {"new_message": QUESTION, "chat_id": "x"},
        {},
        Role.user,
    ),
    ("GET", "/api/c2/x", None, {}, Role.user),
    ("POST", "/api/add_label_to_chat", {"chat_id": "x", "labels": []}, {}, Role.user),
    ("GET", "/api/org", None, {}, Role.user),
    ("POST", "/api/save_note", {"note": "n"}, {}, Role.admin),
    ("GET", "/api/org_notes", None, {}, Role.user),
    ("POST", "/api/org_notes", {"title": "t", "note": "n"}, {}, Role.modeler),
    ("PUT", "/api/org_notes/x", {"title": "t", "note": "n"}, {}, Role.modeler),
    ("DELETE", "/api/org_notes/x", None, {}, Role.modeler),
    ("GET", "/api/auth/me", None, {}, Role.user),
    ("GET", "/api/environments", None, {}, Role.modeler),
    ("POST", "/api/environments", {"name": "n"}, {}, Role.modeler),
    ("GET", "/api/environments/staging/diff", None, {}, Role.modeler),
    ("GET", "/api/environments/staging/conflicts", None, {}, Role.modeler),
    ("PUT", "/api/environments/staging/targets", {}, {}, Role.modeler),
    ("POST", "/api/environments/staging/sync_target", None, {}, Role.modeler),
    ("POST", "/api/environments/staging/merge", {"confirm": False}, {}, Role.admin),
    ("DELETE", "/api/environments/nope", None, {"confirm": "true"}, Role.modeler),
    ("GET", "/api/get_users", None, {}, Role.admin),
    ("POST", "/api/send_invitations", {"emails": []}, {}, Role.admin),
    ("POST", "/api/delete_user", USER, {}, Role.admin),
    ("POST", "/api/change_user_role", USER | {"role": "user"}, {}, Role.admin),
    ("POST", "/api/add_user_to_group", USER | {"group": "g"}, {}, Role.admin),
    ("POST", "/api/remove_user_from_group", USER | {"group": "g"}, {}, Role.admin),
    ("POST", "/api/create_user", USER | {"password": "p", "realname": "N"}, {}, Role.admin),
    ("POST", "/api/auth/embedded_user_login", {"user_id": "e@example.com"}, {}, Role.admin),
    (
        "POST",
        "/api/dbt/run_results",
        {"run_results": {"results": []}, "manifest": {}},
        {},
        Role.admin,
    ),
    ("POST", "/api/quality/incidents", {"source": "s", "items": []}, {}, Role.admin),
    ("GET", "/api/dbt/exposures", None, {}, Role.modeler),
]
URL_AUTH = [
    ("POST", "/api/sync/bigquery/my-bq", None),
    (
        "POST",
        "/api/import_and_overwrite_external_asset",
        {"external_asset": ENDPOINTS[1][2]["external_asset"]},
    ),
    ("GET", "/api/export_history", None),
]
ADMIN_URL_AUTH = {"user_id": "admin@example.com", "api_token": ADMIN_TOKEN}


def call(
    client: httpx.Client, endpoint: tuple[str, str, Any, dict[str, str], Role]
) -> httpx.Response:
    method, path, body, query, _ = endpoint
    return client.request(method, path, json=body, params=query)


def test_the_role_table_covers_every_endpoint(api: httpx.Client, control: httpx.Client) -> None:
    for endpoint in ENDPOINTS:
        call(api, endpoint)
    called = {(entry["method"], entry["route"]) for entry in journal(control)}
    documented = {
        (method.upper(), path)
        for path, operations in api.get("/openapi.json").json()["paths"].items()
        for method in operations
    }
    assert called == documented


@pytest.mark.parametrize("endpoint", ENDPOINTS, ids=lambda e: f"{e[0]} {e[1]}")
def test_each_endpoint_admits_its_role_and_refuses_lower_ones(
    client: Client, endpoint: tuple[str, str, Any, dict[str, str], Role]
) -> None:
    required = endpoint[4]
    for role, token in TOKENS.items():
        status = call(client(token), endpoint).status_code
        if role.includes(required):
            assert status not in (401, 403), (role, status)
        else:
            assert status == 403, (role, status)


@pytest.mark.parametrize("endpoint", ENDPOINTS, ids=lambda e: f"{e[0]} {e[1]}")
def test_each_endpoint_refuses_missing_unknown_and_expired_tokens(
    client: Client, endpoint: tuple[str, str, Any, dict[str, str], Role]
) -> None:
    for token in (None, "dot-unknown", EXPIRED_TOKEN):
        assert call(client(token), endpoint).status_code == 401


@pytest.mark.parametrize(
    ("headers", "kind"),
    [
        ({"X-API-KEY": ADMIN_TOKEN}, "x-api-key"),
        ({"API-KEY": ADMIN_TOKEN}, "api-key"),
        ({"Authorization": f"Bearer {ADMIN_TOKEN}"}, "bearer"),
        ({"Authorization": f"bearer {ADMIN_TOKEN}"}, "bearer"),
        ({"X-API-KEY": ADMIN_TOKEN, "API-KEY": "dot-wrong"}, "x-api-key"),
    ],
)
def test_every_documented_header_authenticates(
    client: Client, control: httpx.Client, headers: dict[str, str], kind: str
) -> None:
    response = client(None, **headers).get("/api/auth/me")
    assert response.json()["email"] == "admin@example.com"
    [entry] = journal(control)
    assert (entry["auth"], entry["user"]) == (kind, "admin@example.com")


def test_other_authorization_schemes_are_not_authenticated(client: Client) -> None:
    response = client(None, Authorization=f"Basic {ADMIN_TOKEN}").get("/api/auth/me")
    assert response.status_code == 401
    assert response.json() == {"detail": "Not authenticated"}
    assert response.headers["www-authenticate"] == "APIKey"


@pytest.mark.parametrize(("method", "path", "body"), URL_AUTH)
def test_url_auth_is_accepted_where_dot_documents_it(
    client: Client, control: httpx.Client, method: str, path: str, body: Any
) -> None:
    response = client(None).request(method, path, json=body, params=ADMIN_URL_AUTH)
    assert response.status_code == 200
    [entry] = journal(control)
    assert entry["auth"] == "url"
    assert entry["user"] == "admin@example.com"
    assert entry["query"] == {"user_id": "admin@example.com", "api_token": "***"}


def test_url_auth_user_id_is_an_url_encoded_email_in_any_case(
    dot_emulator: EmulatorServer, client: Client
) -> None:
    url = f"/api/sync/bigquery/my-bg-id?user_id=Admin%40Example.com&api_token={ADMIN_TOKEN}"
    assert client(None).post(url).status_code == 200
    assert dot_emulator.state.sync_log[0].auth == "url"


@pytest.mark.parametrize(
    ("query", "detail"),
    [
        ({"user_id": "user@example.com", "api_token": ADMIN_TOKEN}, "does not match"),
        ({"api_token": ADMIN_TOKEN}, "needs user_id"),
        ({"user_id": "admin@example.com", "api_token": "dot-unknown"}, "Invalid API token"),
    ],
)
def test_url_auth_needs_the_token_of_the_named_user(
    client: Client, query: dict[str, str], detail: str
) -> None:
    response = client(None).post("/api/sync/snowflake/prod", params=query)
    assert response.status_code == 401
    assert detail in response.json()["detail"]


@pytest.mark.parametrize("path", ["/api/auth/me", "/api/external_assets", "/api/org"])
def test_url_auth_is_refused_everywhere_else(client: Client, path: str) -> None:
    response = client(None).get(path, params=ADMIN_URL_AUTH)
    assert response.status_code == 401
    assert "X-API-KEY" in response.json()["detail"]


def test_expired_and_unknown_tokens_say_why(client: Client) -> None:
    assert client(EXPIRED_TOKEN).get("/api/auth/me").json() == {"detail": "API token expired"}
    assert client("dot-nope").get("/api/auth/me").json() == {"detail": "Invalid API token"}


def test_forbidden_names_the_role_needed(client: Client) -> None:
    response = client(USER_TOKEN).get("/api/get_users")
    assert response.status_code == 403
    assert response.json() == {
        "detail": "This endpoint requires the admin role; user@example.com is a user"
    }


def test_a_tokens_rights_follow_its_users_role(api: httpx.Client, client: Client) -> None:
    chatter = client(USER_TOKEN)
    assert chatter.get("/api/get_users").status_code == 403
    api.post("/api/change_user_role", json={"email": "user@example.com", "role": "admin"})
    assert chatter.get("/api/get_users").status_code == 200
    api.post("/api/delete_user", json={"email": "user@example.com"})
    assert chatter.get("/api/auth/me").json() == {"detail": "Invalid API token"}


def test_embedded_user_tokens_are_bearer_tokens_for_24_hours(
    api: httpx.Client, client: Client
) -> None:
    login = api.post("/api/auth/embedded_user_login", json={"user_id": "embed@example.com"}).json()
    assert login["token_type"] == "bearer"
    expires_at = datetime.fromisoformat(login["expires_at"].replace("Z", "+00:00"))
    lifetime = expires_at - datetime.now(timezone.utc)
    assert timedelta(hours=23, minutes=59) < lifetime <= timedelta(hours=24)
    bearer = client(None, Authorization=f"Bearer {login['access_token']}")
    me = bearer.get("/api/auth/me").json()
    assert (me["email"], me["role"], me["status"]) == ("embed@example.com", "user", "embedded")


def test_embedded_login_can_be_disabled(configured_api: httpx.Client) -> None:
    response = configured_api.post("/api/auth/embedded_user_login", json={"user_id": "e@x.io"})
    assert response.status_code == 403


def test_the_environment_header_scopes_the_model(
    dot_emulator: EmulatorServer, client: Client, control: httpx.Client
) -> None:
    staging = client(ADMIN_TOKEN, **{"X-Dot-Environment": "staging"})
    production = client(ADMIN_TOKEN)
    staging.post(
        "/api/import_and_overwrite_external_asset",
        json={"external_asset": {"id": "staging-only", "subtype": "data_app"}},
    )
    staging.post("/api/sync/dbt/main")
    assert "staging-only" in {a["id"] for a in staging.get("/api/external_assets").json()}
    assert "staging-only" not in {a["id"] for a in production.get("/api/external_assets").json()}
    assert dot_emulator.state.sync_log[0].environment == "staging"
    assert [entry["environment"] for entry in journal(control)] == ["staging"] * 3 + [None]


def test_an_unknown_environment_is_not_found(client: Client) -> None:
    response = client(ADMIN_TOKEN, **{"X-Dot-Environment": "nope"}).get("/api/auth/me")
    assert response.status_code == 404
    assert response.json() == {
        "detail": "Unknown environment 'nope' (X-Dot-Environment); known: staging"
    }


def test_authentication_comes_before_the_environment(client: Client) -> None:
    response = client("dot-nope", **{"X-Dot-Environment": "nope"}).get("/api/auth/me")
    assert response.status_code == 401


def test_configured_environments_are_accepted(configured_api: httpx.Client) -> None:
    response = configured_api.get("/api/org_notes", headers={"X-Dot-Environment": "dev"})
    assert response.status_code == 200
