"""How to read Dot's answer out of a conversation.

Dot's rule (its docs' worked example, `answer_text`): walking back from the last message,
the answer is the first message whose `additional_data.formatted_result` has text parts
(joined by blank lines), otherwise its `content` unless that is `success` (a tool step).
So an answer carried in `content` alone, such as a clarifying question, is an answer.
Older deployments (and Dot's 2024 API docs' script) fill only the assistant's `explanation`: that is
the last resort. A user's own message is never the answer to their question.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from dot_orchestration.client._models import Chat, ChatMessage

ChatLike = Chat | Mapping[str, Any] | Sequence[ChatMessage | Mapping[str, Any]]

#: What Dot writes as `content` of a message that finished a step without saying anything.
_NO_TEXT = "success"


def answer_text(source: ChatLike) -> str | None:
    """The latest answer's text in `source` (a `Chat`, a c2 body `{"messages": [...]}`,
    or a list of messages as the agentic calls return), or None when nothing is answered."""
    message = find_answer(_messages(source))
    return None if message is None else message_text(message)


def find_answer(messages: Sequence[ChatMessage]) -> ChatMessage | None:
    """The message holding the latest answer, by Dot's rule (see the module doc)."""
    for message in reversed(messages):
        if message.role != "user" and message_text(message):
            return message
    return None


def answer_to_last_question(messages: Sequence[ChatMessage]) -> ChatMessage | None:
    """The answer posted after the last user message, if any: an earlier answer in the
    same chat belongs to an earlier question and must not end a wait."""
    questions = [index for index, message in enumerate(messages) if message.role == "user"]
    return find_answer(messages[questions[-1] + 1 :] if questions else messages)


def message_text(message: ChatMessage) -> str:
    """A message's answer text: its text parts joined by blank lines, else its `content`
    unless that is `success`, else its `explanation`; empty when it says nothing."""
    texts = [str(part.data) for part in message.parts if part.type == "text" and part.data]
    if texts:
        return "\n\n".join(texts)
    content = message.content.strip() if isinstance(message.content, str) else ""
    if content and content.lower() != _NO_TEXT:
        return content
    return message.explanation or ""


def _messages(source: ChatLike) -> list[ChatMessage]:
    if isinstance(source, Chat):
        return source.messages
    items = source.get("messages", []) if isinstance(source, Mapping) else source
    return [ChatMessage.model_validate(item) for item in items]
