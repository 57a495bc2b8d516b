"""The request journal and the state dump of the control plane."""

import httpx

from dot_orchestration.emulator import EmulatorServer

from .conftest import Client, journal


def test_each_request_is_journaled_with_what_the_client_sent(
    client: Client, control: httpx.Client
) -> None:
    staging = client("dot-emulator-modeler", **{"X-Dot-Environment": "staging"})
    asset = {"external_asset": {"id": "a-1", "subtype": "data_app"}}
    staging.post("/api/import_and_overwrite_external_asset", json=asset, params={"x": "1"})
    [entry] = journal(control)
    assert entry["seq"] == 1
    assert entry["ts"].endswith("Z")
    assert (entry["method"], entry["path"]) == ("POST", "/api/import_and_overwrite_external_asset")
    assert entry["route"] == "/api/import_and_overwrite_external_asset"
    assert entry["query"] == {"x": "1"}
    assert (entry["status"], entry["auth"], entry["user"]) == (
        200,
        "x-api-key",
        "modeler@example.com",
    )
    assert entry["environment"] == "staging"
    assert entry["body"] == asset
    assert entry["fault"] is None
    assert entry["duration_ms"] >= 0


def test_the_journal_keeps_refused_and_unroutable_requests(
    client: Client, control: httpx.Client
) -> None:
    client("dot-unknown").post("/api/sync/snowflake/prod", content=b"not json")
    client().get("/api/nowhere")
    client().delete("/api/auth/me")
    refused, unroutable, not_allowed = journal(control)
    assert (refused["status"], refused["auth"], refused["user"]) == (401, "x-api-key", None)
    assert refused["route"] == "/api/sync/{connection_type}/{connection_id}"
    assert refused["body"] == "not json"
    assert (unroutable["status"], unroutable["route"]) == (404, None)
    assert (not_allowed["status"], not_allowed["route"]) == (405, "/api/auth/me")


def test_the_api_token_is_redacted_from_journaled_queries(
    client: Client, control: httpx.Client
) -> None:
    query = {"user_id": "admin@example.com", "api_token": "dot-emulator-admin"}
    client(None).post("/api/sync/dbt/main", params=query)
    [entry] = journal(control)
    assert entry["query"] == {"user_id": "admin@example.com", "api_token": "***"}
    assert "dot-emulator-admin" not in str(entry)


def test_clearing_the_journal_restarts_its_sequence(
    api: httpx.Client, control: httpx.Client
) -> None:
    api.get("/api/auth/me")
    api.get("/api/auth/me")
    assert control.delete("/journal").json() == {"cleared": 2}
    api.get("/api/org")
    assert [(e["seq"], e["path"]) for e in journal(control)] == [(1, "/api/org")]


def test_the_journal_is_available_in_python(
    dot_emulator: EmulatorServer, api: httpx.Client
) -> None:
    api.get("/api/auth/me")
    [entry] = dot_emulator.state.journal.entries()
    assert entry["path"] == "/api/auth/me"


def test_the_state_dump(api: httpx.Client, control: httpx.Client) -> None:
    api.post("/api/sync/dbt/main")
    api.post("/api/org_notes", json={"title": "Glossary", "note": "ARR"})
    api.post("/api/ask", json={"messages": [{"role": "user", "content": "q"}], "chat_id": "c"})
    state = control.get("/state").json()
    assert set(state) == {"org", "users", "sync_log", "environments", "chats", "history_labels"}
    assert set(state["environments"]) == {"production", "staging"}
    production = state["environments"]["production"]
    assert set(production) == {"org_note", "external_assets", "org_notes", "incidents"}
    assert [note["title"] for note in production["org_notes"]] == ["Glossary"]
    assert [chat["chat_id"] for chat in state["chats"]] == ["c"]
    assert [record["connection_id"] for record in state["sync_log"]] == ["main"]
