"""Reading Dot's answer out of a conversation, as Dot's docs and the brief's script do."""

from __future__ import annotations

from typing import Any

from dot_orchestration.client import Chat, ChatMessage, answer_text
from dot_orchestration.client._answers import answer_to_last_question


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


def test_falls_back_to_the_last_assistant_explanation_like_the_briefs_script() -> None:
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
