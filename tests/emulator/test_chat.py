"""Asking Dot: Dot's 2024 API's ask + c2 dialect and the agentic dialect."""

import time
from datetime import timedelta
from typing import Any

import httpx
import pytest

from dot_orchestration.emulator import EmulatorServer

QUESTION = "What were our total sales last month?"


def ask(api: httpx.Client, chat_id: str = "chat-1", question: str = QUESTION) -> httpx.Response:
    body = {"messages": [{"role": "user", "content": question}], "chat_id": chat_id}
    return api.post("/api/ask", json=body)


def wait_for_answer(api: httpx.Client, chat_id: str) -> dict[str, Any]:
    """Poll `c2` until the last message is Dot's answer."""
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        chat: dict[str, Any] = api.get(f"/api/c2/{chat_id}").json()
        if chat["messages"][-1]["role"] == "assistant":
            return chat
        time.sleep(0.05)
    raise AssertionError(f"no answer in chat {chat_id}")


def test_ask_returns_at_once_and_the_answer_appears_after_the_delay(api: httpx.Client) -> None:
    started = time.monotonic()
    accepted = ask(api).json()
    assert [m["role"] for m in accepted["messages"]] == ["user"]
    assert [m["role"] for m in api.get("/api/c2/chat-1").json()["messages"]] == ["user"]
    chat = wait_for_answer(api, "chat-1")
    assert time.monotonic() - started >= 0.5
    assert chat["chat_id"] == "chat-1"
    assert chat["dot_url"].endswith("/?c=chat-1")
    assert chat["suggested_follow_ups"]


def test_the_answer_is_shaped_as_dots_cli_reads_it(api: httpx.Client) -> None:
    """Text parts are the answer; other parts are keys into `additional_data.assets`
    (Dot's CLI, getdot `src/ask.mjs`), which also reads `dot_url` and `chat_id` there."""
    ask(api)
    answer = wait_for_answer(api, "chat-1")["messages"][-1]
    assert answer["explanation"] and answer["content"] == answer["explanation"]
    assert "revenue" in answer["content"].lower()  # "sales" means revenue
    data = answer["additional_data"]
    parts = data["formatted_result"]
    assert [part["type"] for part in parts] == ["text", "dataframe", "chart"]
    assert parts[0]["data"] == answer["content"]
    dataframe, chart = data["assets"][parts[1]["data"]], data["assets"][parts[2]["data"]]
    assert "from daily_revenue" in dataframe["sql_query"]
    assert dataframe["shape"] == [4, 2] and dataframe["text_preview"].count("\n") == 4
    assert chart["interpretation"]
    assert data["dot_url"].endswith("/?c=chat-1") and data["chat_id"] == "chat-1"
    assert answer["suggested_follow_ups"]
    # Default profile only (guesses): dashboards on the same metric, the SQL.
    assert data["external_assets"][0]["id"] == "looker-dashboard-12"
    assert "from daily_revenue" in data["sql"]


def test_asking_for_a_file_adds_a_file_part(api: httpx.Client) -> None:
    ask(api, question="Export orders by region last week as CSV")
    data = wait_for_answer(api, "chat-1")["messages"][-1]["additional_data"]
    part = data["formatted_result"][-1]
    assert part["type"] == "file" and part["data"].startswith("file_")
    assert data["assets"][part["data"]]["path"].endswith(".csv")


def test_a_question_naming_no_metric_gets_a_clarifying_question_in_content(
    strict_dot_emulator: EmulatorServer,
) -> None:
    headers = {"API-KEY": "dot-emulator-user"}
    body = {"messages": [{"role": "user", "content": "How are we doing?"}], "chat_id": "c-1"}
    response = httpx.post(f"{strict_dot_emulator.url}/api/agentic", json=body, headers=headers)
    answer = response.json()[-1]
    assert answer["role"] == "assistant"
    assert answer["content"].startswith("Which metric do you mean?")
    assert answer["additional_data"]["formatted_result"] == []
    assert "explanation" not in answer  # strict: only what Dot's docs show
    chat = httpx.get(f"{strict_dot_emulator.url}/api/c2/c-1", headers=headers).json()
    assert list(chat) == ["messages"]  # strict c2: {"messages": [...]} as documented


def test_answers_are_deterministic_per_seed(
    dot_emulator: EmulatorServer, api: httpx.Client
) -> None:
    ask(api)
    first = wait_for_answer(api, "chat-1")["messages"][-1]["explanation"]
    dot_emulator.state.reset()
    ask(api)
    assert wait_for_answer(api, "chat-1")["messages"][-1]["explanation"] == first


def test_ask_with_history_continues_the_conversation(api: httpx.Client) -> None:
    ask(api)
    wait_for_answer(api, "chat-1")
    follow_up = {"new_message": {"role": "user", "content": "And the month before?"}}
    api.post("/api/ask_with_history", json=follow_up | {"chat_id": "chat-1"})
    chat = wait_for_answer(api, "chat-1")
    assert [m["role"] for m in chat["messages"]] == ["user", "assistant"] * 2
    assert chat["messages"][2]["content"] == "And the month before?"
    assert chat["messages"][1]["explanation"] != chat["messages"][3]["explanation"]


def test_a_follow_up_before_the_answer_gets_both_answers(api: httpx.Client) -> None:
    ask(api)
    follow_up = {"new_message": {"role": "user", "content": "By region?"}, "chat_id": "chat-1"}
    api.post("/api/ask_with_history", json=follow_up)
    roles = [m["role"] for m in wait_for_answer(api, "chat-1")["messages"]]
    assert roles == ["user", "assistant", "user", "assistant"]


def test_unknown_chats_are_not_found(api: httpx.Client) -> None:
    assert api.get("/api/c2/nope").json() == {"detail": "Chat nope not found"}
    follow_up = {"new_message": {"role": "user", "content": "?"}, "chat_id": "nope"}
    assert api.post("/api/ask_with_history", json=follow_up).status_code == 404


def test_a_conversation_needs_a_question(api: httpx.Client) -> None:
    response = api.post("/api/ask", json={"messages": [{"role": "user"}], "chat_id": "c"})
    assert response.status_code == 400


def test_agentic_waits_for_the_answer_and_returns_the_messages(api: httpx.Client) -> None:
    started = time.monotonic()
    body = {"messages": [{"role": "user", "content": QUESTION}], "chat_id": "a", "mode": "economy"}
    messages = api.post("/api/agentic", json=body).json()
    assert time.monotonic() - started >= 0.5
    assert [m["role"] for m in messages] == ["user", "assistant"]
    assert messages[-1]["additional_data"]["mode"] == "economy"

    follow_up = {"new_message": {"role": "user", "content": "By region?"}, "chat_id": "a"}
    messages = api.post("/api/agentic_with_history", json=follow_up).json()
    assert [m["role"] for m in messages] == ["user", "assistant"] * 2
    assert "mode" not in messages[-1]["additional_data"]


def test_labels_on_live_chats(api: httpx.Client) -> None:
    ask(api)
    body = {"chat_id": "chat-1", "labels": ["finance", "reviewed", "finance"]}
    assert api.post("/api/add_label_to_chat", json=body).json() == {
        "chat_id": "chat-1",
        "labels": ["finance", "reviewed"],
    }
    api.post("/api/add_label_to_chat", json={"chat_id": "chat-1", "labels": ["reviewed", "x"]})
    assert api.get("/api/c2/chat-1").json()["labels"] == ["finance", "reviewed", "x"]


def test_labelling_an_unknown_chat_is_not_found(api: httpx.Client) -> None:
    response = api.post("/api/add_label_to_chat", json={"chat_id": "nope", "labels": ["x"]})
    assert response.status_code == 404


@pytest.fixture
def history_chat_id(dot_emulator: EmulatorServer) -> str:
    """The first conversation of the last day of generated history."""
    history = dot_emulator.state.history
    _, end = history.window()
    return history.conversations_on(end - timedelta(days=1))[0].chat_id


def test_history_chats_can_be_read_labelled_and_followed_up(
    dot_emulator: EmulatorServer, api: httpx.Client, history_chat_id: str
) -> None:
    generated = api.get(f"/api/c2/{history_chat_id}").json()
    assert generated["messages"] and generated["messages"][0]["role"] == "user"

    api.post("/api/add_label_to_chat", json={"chat_id": history_chat_id, "labels": ["audit"]})
    assert "audit" in api.get(f"/api/c2/{history_chat_id}").json()["labels"]

    follow_up = {"new_message": {"role": "user", "content": "Why?"}, "chat_id": history_chat_id}
    api.post("/api/ask_with_history", json=follow_up)
    chat = wait_for_answer(api, history_chat_id)
    assert len(chat["messages"]) == len(generated["messages"]) + 2
    assert "audit" in chat["labels"]
    assert dot_emulator.state.chats.is_live(history_chat_id)
