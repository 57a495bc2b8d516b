"""How to read Dot's answer out of a conversation.

Dot's docs: the answer is the last message whose `additional_data.formatted_result` holds
parts `{type: text|dataframe|chart|file, data}`. Older deployments (and the brief's example
script) only fill the last assistant message's `explanation`; that is the fallback.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from dot_orchestration.client._models import Chat, ChatMessage

ChatLike = Chat | Mapping[str, Any] | Sequence[ChatMessage | Mapping[str, Any]]


def answer_text(source: ChatLike) -> str | None:
    """The latest answer's text in `source` (a `Chat`, a c2 body `{"messages": [...]}`,
    or a list of messages as the agentic calls return), or None when nothing is answered."""
    message = find_answer(_messages(source))
    return None if message is None else message_text(message)


def find_answer(messages: Sequence[ChatMessage]) -> ChatMessage | None:
    """The message holding the latest answer, by the docs' rule and then the fallback."""
    with_parts = [message for message in messages if message.parts]
    if with_parts:
        return with_parts[-1]
    explained = [m for m in messages if m.role == "assistant" and m.explanation]
    return explained[-1] if explained else None


def answer_to_last_question(messages: Sequence[ChatMessage]) -> ChatMessage | None:
    """The answer posted after the last user message, if any: an earlier answer in the
    same chat belongs to an earlier question and must not end a wait."""
    questions = [index for index, message in enumerate(messages) if message.role == "user"]
    return find_answer(messages[questions[-1] + 1 :] if questions else messages)


def message_text(message: ChatMessage) -> str:
    """The text parts of an answer joined by blank lines, else its `explanation`."""
    texts = [part.data for part in message.parts if part.type == "text" and part.data]
    return "\n\n".join(map(str, texts)) or message.explanation or ""


def _messages(source: ChatLike) -> list[ChatMessage]:
    if isinstance(source, Chat):
        return source.messages
    items = source.get("messages", []) if isinstance(source, Mapping) else source
    return [ChatMessage.model_validate(item) for item in items]
