"""Reading Dot's answer out of a conversation, as Dot's docs, its CLI and Dot's 2024 API docs'
script do; the chat id every question's error carries."""

from __future__ import annotations

import traceback
from collections.abc import Iterator
from typing import Any

import pytest

from dot_orchestration.client import (
    Chat,
    ChatMessage,
    DotClient,
    DotNotFoundError,
    DotTimeoutError,
    Timeouts,
    answer_text,
)
from dot_orchestration.client._answers import answer_to_last_question
from dot_orchestration.emulator import EmulatorServer

from ._support import USER_TOKEN


def question(text: str) -> dict[str, Any]:
    return {"role": "user", "content": text}


def answer(*parts: tuple[str, Any], explanation: str | None = None) -> dict[str, Any]:
    formatted = [{"type": kind, "data": data} for kind, data in parts]
    return {
        "role": "assistant",
        "explanation": explanation,
        "additional_data": {"formatted_result": formatted, "assets": []},
    }


def test_answer_is_the_text_parts_of_the_last_formatted_result() -> None:
    messages = [
        question("revenue?"),
        answer(("text", "old")),
        question("and last month?"),
        answer(("text", "It was 42."), ("dataframe", [{"x": 1}]), ("text", "Up 3%.")),
    ]
    assert answer_text(messages) == "It was 42.\n\nUp 3%."


def test_answer_reads_every_documented_container() -> None:
    messages = [question("q"), answer(("text", "A"))]
    assert answer_text({"messages": messages}) == "A"
    assert answer_text(Chat(chat_id="c", messages=messages)) == "A"
    assert answer_text([ChatMessage.model_validate(m) for m in messages]) == "A"


def test_falls_back_to_the_last_assistant_explanation_like_the_2024_docs_script() -> None:
    messages = [
        question("q1"),
        {"role": "assistant", "explanation": "first"},
        question("q2"),
        {"role": "assistant", "explanation": "second"},
    ]
    assert answer_text(messages) == "second"


def test_answer_without_text_parts_uses_its_explanation() -> None:
    messages = [question("chart please"), answer(("chart", {"spec": 1}), explanation="See chart.")]
    assert answer_text(messages) == "See chart."


def test_no_answer_yet_is_none() -> None:
    assert answer_text([question("q")]) is None
    assert answer_text({"messages": []}) is None
    assert answer_text([question("q"), {"role": "assistant", "explanation": ""}]) is None


def test_an_earlier_answer_does_not_answer_the_follow_up() -> None:
    messages = [
        ChatMessage.model_validate(m)
        for m in (question("q1"), answer(("text", "A1")), question("q2"))
    ]
    assert answer_to_last_question(messages) is None
    follow_up = ChatMessage.model_validate(answer(("text", "A2")))
    assert answer_to_last_question([*messages, follow_up]) is follow_up


def test_unknown_fields_are_kept() -> None:
    message = ChatMessage.model_validate({"role": "assistant", "dot_url": "https://x/c/1"})
    assert message.model_extra == {"dot_url": "https://x/c/1"}


def test_an_answer_in_content_alone_is_an_answer() -> None:
    """Dot's rule: text parts, else `content` (a clarifying question, say)."""
    clarifying = {"role": "assistant", "content": "Which revenue: gross or net?"}
    assert answer_text([question("revenue?"), clarifying]) == "Which revenue: gross or net?"
    with_parts = answer(("text", "It was 42."))
    assert answer_text([question("q"), with_parts, {"role": "tool", "content": "success"}]) == (
        "It was 42."
    )


def test_a_content_of_success_is_no_answer_and_a_question_never_is() -> None:
    assert answer_text([question("q"), {"role": "assistant", "content": " Success "}]) is None
    assert answer_text([question("What was revenue?")]) is None


# Against the emulator --------------------------------------------------------------------


@pytest.fixture
def strict_dot(strict_dot_emulator: EmulatorServer) -> Iterator[DotClient]:
    with DotClient(api_token=USER_TOKEN, base_url=strict_dot_emulator.url) as client:
        yield client


def test_a_clarifying_question_is_read_from_content_in_the_strict_profile(
    strict_dot: DotClient,
) -> None:
    chat = strict_dot.agentic("How are we doing?")
    assert answer_text(chat) == chat.messages[-1].content
    assert str(answer_text(chat)).startswith("Which metric do you mean?")
    accepted = strict_dot.ask("How are we doing this week?")
    waited = strict_dot.wait_for_answer(accepted.chat_id, timeout_s=5, poll_interval_s=0.05)
    assert waited.text.startswith("Which metric do you mean?")
    assert waited.dot_url is not None and waited.dot_url.endswith(f"?c={accepted.chat_id}")


@pytest.mark.parametrize("profile", ["default", "strict"])
def test_non_text_parts_resolve_into_additional_data_assets(
    request: pytest.FixtureRequest, profile: str
) -> None:
    server: EmulatorServer = request.getfixturevalue(
        "dot_emulator" if profile == "default" else "strict_dot_emulator"
    )
    with DotClient(api_token=USER_TOKEN, base_url=server.url) as dot:
        answer = dot.ask_and_wait("What was revenue by region last month?", poll_interval_s=0.05)
    assert [part.type for part in answer.parts] == ["text", "dataframe", "chart"]
    assert "revenue" in answer.text.lower()
    assert "from daily_revenue" in answer.asset(answer.parts[1])["sql_query"]
    assert answer.asset(answer.parts[2])["interpretation"]
    assert answer.asset(answer.parts[0]) is None  # a text part names no asset
    assert answer.dot_url == f"{server.url}/?c={answer.chat_id}"


def test_every_error_of_a_question_carries_its_chat_id(dot_emulator: EmulatorServer) -> None:
    """The id is made client-side, so a question that outlasted the request can be read
    back with `get_chat` (Dot's docs: fetch it later with the same chat_id)."""
    timeouts = Timeouts(long_read=0.2)  # the emulator thinks for 0.5 s
    with DotClient(api_token=USER_TOKEN, base_url=dot_emulator.url, timeouts=timeouts) as dot:
        with pytest.raises(DotTimeoutError) as raised:
            dot.agentic("What was revenue last month?")
        chat_id = raised.value.chat_id
        assert chat_id is not None
        assert f"chat_id: {chat_id}" in "".join(traceback.format_exception(raised.value))
        later = dot.wait_for_answer(chat_id, timeout_s=5, poll_interval_s=0.05)
        assert "revenue" in later.text.lower()  # Dot answered the question it received
        with pytest.raises(DotNotFoundError) as refused:
            dot.agentic_with_history("And by region?", "no-such-chat")
        assert refused.value.chat_id == "no-such-chat"
