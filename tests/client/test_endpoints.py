"""Every endpoint, both dialects, both auth modes, over real HTTP against the emulator."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import date, timedelta
from typing import Any

import pytest

from dot_orchestration.client import (
    CONNECTION_TYPES,
    DotAnswerTimeoutError,
    DotClient,
    DotConfigError,
    DotNotFoundError,
    DotTimeoutError,
    ExternalAsset,
    QualityIncident,
    answer_text,
)
from dot_orchestration.client import _endpoints as api
from dot_orchestration.client._endpoints import Endpoint

from ._support import ADMIN_EMAIL, MODELER_TOKEN, Control

TODAY = date.today()
FAST_POLL = {"timeout_s": 5.0, "poll_interval_s": 0.05}


def only_call(control: Control, path: str) -> dict[str, Any]:
    calls = control.calls(path)
    assert len(calls) == 1, calls
    return calls[0]


# Connections, assets, history ---------------------------------------------------------


def test_sync_connection_is_accepted(dot: DotClient, control: Control) -> None:
    accepted = dot.sync_connection("snowflake", "prod")
    assert (accepted.connection_type, accepted.connection_id) == ("snowflake", "prod")
    assert accepted.attempts == 1
    assert accepted.duration_s > 0
    call = only_call(control, "/api/sync/*")
    assert call["method"] == "POST"
    assert call["route"] == "/api/sync/{connection_type}/{connection_id}"
    assert call["path"] == "/api/sync/snowflake/prod"
    assert call["auth"] in ("x-api-key", "api-key")


@pytest.mark.parametrize("connection_type", CONNECTION_TYPES)
def test_every_known_connection_type_syncs(dot: DotClient, connection_type: str) -> None:
    assert dot.sync_connection(connection_type, "main").connection_type == connection_type


def test_an_unknown_connection_type_is_sent_as_given(dot: DotClient, control: Control) -> None:
    assert dot.sync_connection("oracle", "main").connection_type == "oracle"
    assert only_call(control, "/api/sync/*")["path"] == "/api/sync/oracle/main"


@pytest.mark.parametrize(
    ("connection_type", "connection_id", "problem"),
    [
        ("Snowflake", "main", "write it as 'snowflake'"),
        ("", "main", "empty"),
        (" dbt", "main", "surrounding spaces"),
        ("a/b", "main", "contains '/'"),
        ("dbt", "", "connection_id is empty"),
    ],
)
def test_a_sync_dot_cannot_take_is_refused_before_sending(
    dot: DotClient, control: Control, connection_type: str, connection_id: str, problem: str
) -> None:
    with pytest.raises(DotConfigError, match=problem):
        dot.sync_connection(connection_type, connection_id)
    assert control.calls("/api/*") == []


def test_external_assets_import_list_and_delete(dot: DotClient, control: Control) -> None:
    asset = ExternalAsset(
        id="tableau-ops", subtype="tableau_workbook", name="Ops", dot_description="# Charts"
    )
    dot.import_external_asset(asset)
    dot.import_external_asset(asset.model_copy(update={"name": "Operations"}))  # overwrite
    listed = {item["id"]: item for item in dot.list_external_assets()}
    assert listed["tableau-ops"]["name"] == "Operations"
    assert control.calls("/api/import*")[0]["body"]["external_asset"]["id"] == "tableau-ops"
    dot.delete_external_asset("tableau-ops")
    assert "tableau-ops" not in {item["id"] for item in dot.list_external_assets()}


def test_import_accepts_a_plain_mapping(dot: DotClient) -> None:
    dot.import_external_asset({"id": "app-1", "subtype": "data_app"})
    assert "app-1" in {item["id"] for item in dot.list_external_assets()}


def test_export_history_sends_days_and_returns_raw_json(dot: DotClient, control: Control) -> None:
    start, end = TODAY - timedelta(days=7), TODAY + timedelta(days=1)
    history = dot.export_history(start, end, include_all_workspaces=True)
    assert isinstance(history, list) and history
    query = only_call(control, "/api/export_history")["query"]
    assert query["start_date"] == start.isoformat()
    assert query["end_date"] == end.isoformat()
    assert query["include_all_workspaces"] == "true"


def test_export_history_defaults_are_left_to_dot(dot: DotClient, control: Control) -> None:
    dot.export_history()
    assert only_call(control, "/api/export_history")["query"] == {}


# Questions: Dot's 2024 API (ask + c2) and current dialect (agentic) ---------------------


def test_ask_then_wait_polls_until_the_answer_is_there(dot: DotClient, control: Control) -> None:
    started = time.monotonic()
    answer = dot.ask_and_wait("What was revenue last month?", **FAST_POLL)
    assert answer.text
    assert [part.type for part in answer.parts][:1] == ["text"]
    assert time.monotonic() - started < 3
    assert len(control.calls("/api/c2/*")) > 1  # polled, did not sleep blindly
    assert only_call(control, "/api/ask")["body"]["messages"] == [
        {"role": "user", "content": "What was revenue last month?"}
    ]


def test_follow_up_waits_for_the_new_answer(dot: DotClient) -> None:
    first = dot.ask_and_wait("What was revenue last month?", **FAST_POLL)
    dot.ask_with_history("And the month before?", first.chat_id)
    second = dot.wait_for_answer(first.chat_id, **FAST_POLL)
    assert second.message != first.message
    chat = dot.get_chat(first.chat_id)
    assert [message.role for message in chat.messages] == ["user", "assistant"] * 2
    assert answer_text(chat) == second.text == DotClient.answer_text(chat.messages)


def test_ask_uses_the_chat_id_it_is_given(dot: DotClient) -> None:
    assert dot.ask("Orders today?", chat_id="my-chat").chat_id == "my-chat"
    assert dot.get_chat("my-chat").chat_id == "my-chat"


def test_wait_for_answer_stops_at_its_deadline(dot: DotClient) -> None:
    accepted = dot.ask("What was revenue last month?")
    started = time.monotonic()
    with pytest.raises(DotAnswerTimeoutError) as raised:
        dot.wait_for_answer(accepted.chat_id, timeout_s=0.1, poll_interval_s=0.05)
    assert 0.1 <= time.monotonic() - started < 0.4  # the emulator answers after 0.5 s
    assert isinstance(raised.value, DotTimeoutError)
    assert raised.value.chat_id == accepted.chat_id
    assert f"GET /api/c2/{accepted.chat_id}" in str(raised.value)
    assert dot.wait_for_answer(accepted.chat_id, **FAST_POLL).text  # it does come later


def test_agentic_returns_the_finished_conversation(dot: DotClient, control: Control) -> None:
    chat = dot.agentic("What was revenue last month?", mode="economy")
    assert [message.role for message in chat.messages] == ["user", "assistant"]
    assert answer_text(chat)
    assert only_call(control, "/api/agentic")["body"]["mode"] == "economy"

    follow_up = dot.agentic_with_history("And by region?", chat.chat_id, mode="frontier")
    assert follow_up.chat_id == chat.chat_id
    assert len(follow_up.messages) == 4
    assert only_call(control, "/api/agentic_with_history")["body"]["new_message"] == {
        "role": "user",
        "content": "And by region?",
    }


def test_agentic_without_mode_lets_dot_choose(dot: DotClient, control: Control) -> None:
    dot.agentic("Orders today?")
    assert "mode" not in only_call(control, "/api/agentic")["body"]


def test_get_chat_of_an_unknown_chat_is_not_found(dot: DotClient) -> None:
    with pytest.raises(DotNotFoundError):
        dot.get_chat("no-such-chat")


def test_add_label_to_chat(dot: DotClient, control: Control) -> None:
    chat_id = dot.ask("Orders today?").chat_id
    dot.add_label_to_chat(chat_id, ["reviewed", "finance"])
    assert only_call(control, "/api/add_label_to_chat")["body"] == {
        "chat_id": chat_id,
        "labels": ["reviewed", "finance"],
    }


# Org notes: one note (Dot's 2024 API) and many atomic notes (current) ---------------------------


def test_single_org_note(dot: DotClient) -> None:
    org = dot.get_org()
    dot.save_note("ARR means annual recurring revenue.", org_id=org.id)
    assert dot.get_org().note == "ARR means annual recurring revenue."
    dot.save_note("Without org id.")
    assert dot.get_org().note == "Without org id."


def test_atomic_org_notes_lifecycle(dot: DotClient) -> None:
    created = dot.create_org_note("Glossary", "ARR = annual recurring revenue")
    assert created.active
    assert created.id in {note.id for note in dot.list_org_notes()}

    updated = dot.update_org_note(created.id, "Glossary", "ARR, MRR", active=False)
    assert (updated.note, updated.active) == ("ARR, MRR", False)
    assert not dot.update_org_note(created.id, "Glossary", "ARR, MRR, NRR").active

    dot.delete_org_note(created.id)
    assert created.id not in {note.id for note in dot.list_org_notes()}
    with pytest.raises(DotNotFoundError):
        dot.update_org_note(created.id, "Glossary", "gone")


# Users and auth ------------------------------------------------------------------------


def test_me(dot: DotClient) -> None:
    assert dot.me()["email"] == ADMIN_EMAIL


def test_user_administration(dot: DotClient) -> None:
    def user(email: str) -> dict[str, Any] | None:
        return next((u for u in dot.get_users() if u["email"] == email), None)

    dot.send_invitations(["invitee@example.com"])
    assert user("invitee@example.com") is not None
    dot.create_user("new@example.com", "correct horse battery", "New Person")
    assert user("new@example.com")["realname"] == "New Person"  # type: ignore[index]
    dot.change_user_role("new@example.com", "modeler")
    assert user("new@example.com")["role"] == "modeler"  # type: ignore[index]
    dot.add_user_to_group("new@example.com", "finance")
    assert user("new@example.com")["groups"] == ["finance"]  # type: ignore[index]
    dot.remove_user_from_group("new@example.com", "finance")
    assert user("new@example.com")["groups"] == []  # type: ignore[index]
    dot.delete_user("new@example.com")
    assert user("new@example.com") is None


def test_embedded_user_login(dot: DotClient) -> None:
    assert dot.embedded_user_login("user@example.com")


# dbt and data quality ------------------------------------------------------------------

RUN_RESULTS = {"results": [{"unique_id": "model.shop.orders", "status": "error", "message": "x"}]}
MANIFEST = {"nodes": {"model.shop.orders": {"name": "orders", "resource_type": "model"}}}


def test_push_dbt_run_results(dot: DotClient, control: Control) -> None:
    dot.push_dbt_run_results(RUN_RESULTS, MANIFEST)
    body = only_call(control, "/api/dbt/run_results")["body"]
    assert body == {"run_results": RUN_RESULTS, "manifest": MANIFEST}


def test_report_quality_incidents(dot: DotClient, control: Control) -> None:
    items: list[QualityIncident | dict[str, Any]] = [
        QualityIncident(table="orders", check="not_null_id", status="open", message="3 nulls"),
        {"table": "customers", "check": "fresh", "status": "resolved"},
    ]
    dot.report_quality_incidents("great_expectations", items)
    body = only_call(control, "/api/quality/incidents")["body"]
    assert body["source"] == "great_expectations"
    assert body["items"][0] == {
        "table": "orders",
        "check": "not_null_id",
        "status": "open",
        "message": "3 nulls",
    }


def test_dbt_exposures_as_json_and_yaml(
    make_dot: Callable[..., DotClient], control: Control
) -> None:
    dot = make_dot(api_token=MODELER_TOKEN)
    exposures = dot.get_dbt_exposures()
    assert exposures["version"] == 2 and exposures["exposures"]
    assert "apps_without_dbt_models" in exposures
    text = dot.get_dbt_exposures(format="yaml", connection_id="dbt-main")
    assert "exposures:" in text
    query = control.calls("/api/dbt/exposures")[-1]["query"]
    assert query == {"format": "yaml", "connection_id": "dbt-main"}


# Environments --------------------------------------------------------------------------


def test_environment_header_scopes_every_call(
    make_dot: Callable[..., DotClient], control: Control
) -> None:
    make_dot(environment="staging").sync_connection("dbt", "main")
    assert only_call(control, "/api/sync/*")["environment"] == "staging"


def test_unknown_environment_is_not_found(make_dot: Callable[..., DotClient]) -> None:
    with pytest.raises(DotNotFoundError, match="X-Dot-Environment"):
        make_dot(environment="nope").me()


# URL auth ------------------------------------------------------------------------------

URL_AUTH_CALLS: dict[str, Callable[[DotClient], object]] = {
    "sync_connection": lambda dot: dot.sync_connection("bigquery", "my-bq"),
    "import_external_asset": lambda dot: dot.import_external_asset(
        ExternalAsset(id="dash-9", subtype="looker_dashboard")
    ),
    "export_history": lambda dot: dot.export_history(TODAY - timedelta(days=1), TODAY),
}

HEADER_ONLY_CALLS: dict[str, Callable[[DotClient], object]] = {
    "list_external_assets": lambda dot: dot.list_external_assets(),
    "delete_external_asset": lambda dot: dot.delete_external_asset("a"),
    "ask": lambda dot: dot.ask("q"),
    "ask_with_history": lambda dot: dot.ask_with_history("q", "c"),
    "agentic": lambda dot: dot.agentic("q"),
    "agentic_with_history": lambda dot: dot.agentic_with_history("q", "c"),
    "get_chat": lambda dot: dot.get_chat("c"),
    "add_label_to_chat": lambda dot: dot.add_label_to_chat("c", ["l"]),
    "get_org": lambda dot: dot.get_org(),
    "save_note": lambda dot: dot.save_note("n"),
    "list_org_notes": lambda dot: dot.list_org_notes(),
    "create_org_note": lambda dot: dot.create_org_note("t", "n"),
    "update_org_note": lambda dot: dot.update_org_note("1", "t", "n"),
    "delete_org_note": lambda dot: dot.delete_org_note("1"),
    "me": lambda dot: dot.me(),
    "list_environments": lambda dot: dot.list_environments(),
    "create_environment": lambda dot: dot.create_environment("e"),
    "environment_diff": lambda dot: dot.environment_diff("e"),
    "environment_conflicts": lambda dot: dot.environment_conflicts("e"),
    "set_environment_targets": lambda dot: dot.set_environment_targets("e", {}),
    "sync_environment_target": lambda dot: dot.sync_environment_target("e"),
    "merge_environment": lambda dot: dot.merge_environment("e"),
    "delete_environment": lambda dot: dot.delete_environment("e"),
    "get_users": lambda dot: dot.get_users(),
    "send_invitations": lambda dot: dot.send_invitations(["a@b.c"]),
    "delete_user": lambda dot: dot.delete_user("a@b.c"),
    "change_user_role": lambda dot: dot.change_user_role("a@b.c", "user"),
    "add_user_to_group": lambda dot: dot.add_user_to_group("a@b.c", "g"),
    "remove_user_from_group": lambda dot: dot.remove_user_from_group("a@b.c", "g"),
    "create_user": lambda dot: dot.create_user("a@b.c", "pw", "A"),
    "embedded_user_login": lambda dot: dot.embedded_user_login("a@b.c"),
    "push_dbt_run_results": lambda dot: dot.push_dbt_run_results({}, {}),
    "report_quality_incidents": lambda dot: dot.report_quality_incidents("s", []),
    "get_dbt_exposures": lambda dot: dot.get_dbt_exposures(),
    "wait_for_answer": lambda dot: dot.wait_for_answer("c"),
    "ask_and_wait": lambda dot: dot.ask_and_wait("q"),
}


@pytest.mark.parametrize("operation", URL_AUTH_CALLS)
def test_url_auth_on_the_three_endpoints_that_allow_it(
    dot_url: DotClient, control: Control, operation: str
) -> None:
    URL_AUTH_CALLS[operation](dot_url)
    [call] = control.calls()
    assert call["auth"] == "url"
    assert call["user"] == ADMIN_EMAIL
    assert call["query"]["user_id"] == ADMIN_EMAIL


@pytest.mark.parametrize("operation", HEADER_ONLY_CALLS)
def test_url_auth_elsewhere_is_refused_before_sending(
    dot_url: DotClient, control: Control, operation: str
) -> None:
    with pytest.raises(DotConfigError, match="auth_mode='header'") as raised:
        HEADER_ONLY_CALLS[operation](dot_url)
    assert str(raised.value).split(" ")[0] in (operation, "get_chat", "ask")
    assert control.calls() == []


@pytest.mark.parametrize("operation", URL_AUTH_CALLS)
def test_header_auth_works_on_the_url_auth_endpoints_too(
    dot: DotClient, control: Control, operation: str
) -> None:
    URL_AUTH_CALLS[operation](dot)
    [call] = control.calls()
    assert call["auth"] in ("x-api-key", "api-key")
    assert "api_token" not in call["query"]


def test_these_tables_cover_every_endpoint() -> None:
    endpoints = [value for value in vars(api).values() if isinstance(value, Endpoint)]
    assert {e.operation for e in endpoints if e.url_auth} == set(URL_AUTH_CALLS)
    assert {e.operation for e in endpoints if not e.url_auth} <= set(HEADER_ONLY_CALLS)
