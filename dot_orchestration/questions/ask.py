"""Asking Dot one question and waiting for its answer within a budget (Dagster-free).

Dot's documented way (docs: "Ask Dot Automatically"): post to `/api/agentic` with a
`chat_id` you generate; the call returns the conversation once Dot has finished, and an
investigation that outlasts the request is read later with `GET /api/c2/{chat_id}`. So:

1. The agentic call is made once, with a read timeout no longer than the budget (the
   client never re-sends it once it may have reached Dot: a second question would be a
   second conversation).
2. If it ends without the answer (its read timeout, or a reply from before the answer),
   the conversation is polled until the budget is spent; each poll is one short read.
3. The conversation is labelled, so people find scheduled questions in Dot's review views.

Every error leaves with the chat id, so the conversation can be read in Dot afterwards.
"""

import time
import uuid
from dataclasses import dataclass

from dot_orchestration.client import (
    AgenticMode,
    Answer,
    ChatMessage,
    DotClient,
    DotError,
    DotTimeoutError,
)
from dot_orchestration.client._answers import answer_to_last_question, message_text


@dataclass(frozen=True)
class DotReply:
    """Dot's reply to a question: its answer, or the question Dot asked back."""

    chat_id: str
    answer: Answer
    #: Seconds from asking to the answer; None for a reply read back later.
    latency_s: float | None
    #: Why the conversation could not be labelled; None when it was (or had no labels).
    label_problem: str | None

    @property
    def clarifying(self) -> bool:
        """Dot asked back instead of answering. Dot documents the answer as the text parts
        of `formatted_result`; a reply with no text part, only `content`, is Dot's question
        to the asker (how Dot asks back is undocumented: this is the package's reading)."""
        return not any(part.type == "text" and part.data for part in self.answer.parts)

    @property
    def queries(self) -> list[str]:
        """The SQL behind the answer's data parts (their `sql_query`, as Dot's CLI reads
        it); empty when Dot showed none."""
        frames = [self.answer.asset(part) for part in self.answer.parts if part.type == "dataframe"]
        return [
            frame["sql_query"]
            for frame in frames
            if isinstance(frame, dict) and isinstance(frame.get("sql_query"), str)
        ]


def ask_dot(
    client: DotClient,
    question: str,
    *,
    mode: AgenticMode,
    labels: tuple[str, ...],
    timeout_s: float,
    poll_interval_s: float,
) -> DotReply:
    """Ask `question` in a new conversation and wait at most `timeout_s` for the reply.

    The agentic call must be bounded by `timeout_s` through the client's own long read
    timeout (`DotResource.agentic_timeout_s`); the asset sees to it. Raises the client's
    errors (`DotAnswerTimeoutError` when the budget is spent), each carrying `chat_id`.
    """
    chat_id = str(uuid.uuid4())  # made here, so that every error can name the chat
    started = time.monotonic()
    try:
        answer = _answer(client, question, chat_id, mode, timeout_s, poll_interval_s)
    except DotError as error:  # the client marks the agentic call's errors, not the polls'
        error.chat_id = chat_id
        raise
    latency_s = time.monotonic() - started
    return DotReply(chat_id, answer, latency_s, _label(client, chat_id, labels))


def _answer(
    client: DotClient,
    question: str,
    chat_id: str,
    mode: AgenticMode,
    timeout_s: float,
    poll_interval_s: float,
) -> Answer:
    """The agentic call's answer, else the conversation's once Dot has posted it."""
    started = time.monotonic()
    try:
        message = answer_to_last_question(
            client.agentic(question, chat_id=chat_id, mode=mode).messages
        )
    except DotTimeoutError:  # outlasted the request: Dot may still be answering
        message = None
    if message is None:
        remaining = max(0.0, timeout_s - (time.monotonic() - started))
        return client.wait_for_answer(chat_id, timeout_s=remaining, poll_interval_s=poll_interval_s)
    return _as_answer(chat_id, message)


def read_reply(client: DotClient, chat_id: str) -> DotReply | None:
    """Dot's reply as the conversation holds it now (`GET /api/c2/{chat_id}`), None when it
    holds no answer."""
    try:
        messages = client.get_chat(chat_id).messages
    except DotError as error:
        error.chat_id = chat_id
        raise
    message = answer_to_last_question(messages)
    if message is None:
        return None
    return DotReply(chat_id, _as_answer(chat_id, message), latency_s=None, label_problem=None)


def _as_answer(chat_id: str, message: ChatMessage) -> Answer:
    return Answer(chat_id=chat_id, text=message_text(message), parts=message.parts, message=message)


def _label(client: DotClient, chat_id: str, labels: tuple[str, ...]) -> str | None:
    """Label the conversation; the error when that failed. The answer is worth more than
    its labels, so a failed label fails nothing: the asset reports it."""
    if not labels:
        return None
    try:
        client.add_label_to_chat(chat_id, labels)
    except DotError as error:
        return f"{type(error).__name__}: {error}"
    return None


__all__ = ["DotReply", "ask_dot", "read_reply"]
