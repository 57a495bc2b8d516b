"""Live chats: questions asked through the API, and labels on any conversation.

`ask` stores the question and an answer that becomes visible `answer_delay_s` later (Dot
answers asynchronously; `GET /api/c2/{chat_id}` shows what is there). Chats from the
generated history can be read, labelled and followed up too: a follow-up copies the
generated conversation into the live store, which from then on shadows it in exports.
Labels on generated chats that were never followed up live in a small overlay, so the
history itself stays generated on demand.
"""

from collections.abc import Callable
from dataclasses import replace
from datetime import timedelta
from typing import Any

from dot_orchestration.emulator.answers import AnswerContext, compose_answer
from dot_orchestration.emulator.clock import isoformat_z, utcnow
from dot_orchestration.emulator.conversation import Chat, Message, PendingAnswer
from dot_orchestration.emulator.errors import BadRequest, NotFound
from dot_orchestration.emulator.history import HistoryGenerator
from dot_orchestration.emulator.rules import DataAnswers

AssetLookup = Callable[[str | None], list[dict[str, Any]]]


class ChatStore:
    """The chats of this session plus label overlays on generated history."""

    def __init__(
        self,
        *,
        seed: int,
        answer_delay_s: float,
        history: HistoryGenerator,
        assets: AssetLookup,
        strict: bool = False,
        data: DataAnswers | None = None,
    ) -> None:
        self._seed = seed
        self._strict = strict
        self._data = data
        self._delay = timedelta(seconds=answer_delay_s)
        self._history = history
        self._assets = assets
        self._live: dict[str, Chat] = {}
        self._history_labels: dict[str, list[str]] = {}

    def ask(self, chat: Chat, *, mode: str | None, web_url: str) -> Chat:
        """Start (or restart) a conversation whose last user message is the question.

        `mode` is the agentic mode the answer is produced in (recorded on the answer);
        `web_url` is where Dot's app is, for the answer's `dot_url`.
        """
        chat.messages = [self._stamped(chat.chat_id, i, m) for i, m in enumerate(chat.messages)]
        self._schedule_answer(chat, mode, web_url)
        self._live[chat.chat_id] = chat
        return chat

    def follow_up(self, chat_id: str, message: Message, *, mode: str | None, web_url: str) -> Chat:
        """Add a question to an existing conversation; any pending answer is given first."""
        chat = self._live.get(chat_id) or self._materialise(chat_id)
        chat.settle(utcnow(), force=True)
        chat.messages.append(self._stamped(chat_id, len(chat.messages), message))
        self._schedule_answer(chat, mode, web_url)
        return chat

    def get(self, chat_id: str) -> Chat:
        """A conversation as Dot shows it now (answers that are due included); 404 otherwise."""
        live = self._live.get(chat_id)
        if live is not None:
            live.settle(utcnow())
            return live
        generated = self._history.find(chat_id)
        if generated is None:
            raise NotFound(f"Chat {chat_id} not found")
        generated.add_labels(self._history_labels.get(chat_id, []))
        return generated

    def finish(self, chat_id: str) -> Chat:
        """The conversation with its pending answer given now (`agentic` waited for it)."""
        chat = self._live[chat_id]
        chat.settle(utcnow(), force=True)
        return chat

    def add_labels(self, chat_id: str, labels: list[str]) -> Chat:
        """Label a live or generated conversation."""
        chat = self.get(chat_id)
        chat.add_labels(labels)
        if chat_id not in self._live:
            self._history_labels[chat_id] = list(chat.labels)
        return chat

    def live(self) -> list[Chat]:
        """The live chats with due answers settled (a snapshot for exports and state dumps)."""
        now = utcnow()
        chats = list(self._live.values())
        for chat in chats:
            chat.settle(now)
        return chats

    def is_live(self, chat_id: str) -> bool:
        """Whether a (generated) chat id is shadowed by a live copy."""
        return chat_id in self._live

    def history_labels(self, chat_id: str) -> list[str]:
        """Labels added through the API to a generated conversation."""
        return self._history_labels.get(chat_id, [])

    def history_label_overlay(self) -> dict[str, list[str]]:
        """Every generated conversation labelled through the API, with its labels."""
        return {chat_id: list(labels) for chat_id, labels in self._history_labels.items()}

    def _materialise(self, chat_id: str) -> Chat:
        """Copy a generated conversation into the live store so it can grow."""
        generated = self.get(chat_id)
        chat = replace(generated, messages=list(generated.messages), labels=list(generated.labels))
        self._live[chat_id] = chat
        return chat

    def _stamped(self, chat_id: str, position: int, message: Message) -> Message:
        """A client's message with the id and timestamp Dot gives every message."""
        return {"id": f"{chat_id}-{position}", "created_at": isoformat_z(utcnow()), **message}

    def _schedule_answer(self, chat: Chat, mode: str | None, web_url: str) -> None:
        """Compose the answer to the chat's latest question; it shows after the delay."""
        questions = [
            m["content"]
            for m in chat.messages
            if m.get("role") == "user" and isinstance(m.get("content"), str)
        ]
        if not questions:
            raise BadRequest("The conversation has no user message with text content")
        context = AnswerContext(
            dot_url=chat_link(web_url, chat.chat_id),
            strict=self._strict,
            external_assets=self._assets(chat.environment),
            data=self._data,
        )
        answer = compose_answer(questions, seed=self._seed, chat_id=chat.chat_id, context=context)
        ready_at = utcnow() + self._delay
        message = {
            "id": f"{chat.chat_id}-{len(chat.messages)}",
            "created_at": isoformat_z(ready_at),
            **answer.message,
        }
        if mode is not None:
            message["additional_data"]["mode"] = mode
        chat.pending = PendingAnswer(ready_at, message, answer.follow_ups)


def chat_link(web_url: str, chat_id: str) -> str:
    """Where a person opens a conversation in Dot's app (as Dot's CLI tests link it)."""
    return f"{web_url.rstrip('/')}/?c={chat_id}"
