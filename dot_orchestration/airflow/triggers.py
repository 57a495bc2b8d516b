"""`DotAnswerTrigger`: waits in Airflow's triggerer for Dot to answer a question.

A question to Dot's agent can take minutes. `DotQuestionOperator` posts it once, then
defers to this trigger, which reads the conversation (`GET /api/c2/{chat_id}`, one short
read) every `poll_interval_s` until the answer is there or the deadline passes. Each read
runs in a thread (the client is synchronous), so the triggerer's event loop is never
blocked, and no worker slot is held while Dot thinks. The event carries only the chat id
and the outcome: the operator, resumed, reads the answer itself.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Any

from dot_orchestration.airflow import airflow_required
from dot_orchestration.airflow.hooks import DotHook
from dot_orchestration.client import DotError
from dot_orchestration.client._answers import answer_to_last_question

with airflow_required():
    from airflow.triggers.base import BaseTrigger, TriggerEvent


class DotAnswerTrigger(BaseTrigger):
    """Fires `{"status": "answered" | "timeout" | "error", "chat_id": …}` once Dot has
    answered the conversation's last question, `deadline` (seconds since the epoch) has
    passed, or a read failed after the client's own retries (`"error"`, with its text)."""

    def __init__(
        self, *, dot_conn_id: str, chat_id: str, deadline: float, poll_interval_s: float
    ) -> None:
        super().__init__()
        self.dot_conn_id = dot_conn_id
        self.chat_id = chat_id
        self.deadline = deadline
        self.poll_interval_s = poll_interval_s

    def serialize(self) -> tuple[str, dict[str, Any]]:
        return (
            f"{type(self).__module__}.{type(self).__qualname__}",
            {
                "dot_conn_id": self.dot_conn_id,
                "chat_id": self.chat_id,
                "deadline": self.deadline,
                "poll_interval_s": self.poll_interval_s,
            },
        )

    async def run(self) -> AsyncIterator[TriggerEvent]:
        event = {"chat_id": self.chat_id}
        while True:
            try:
                answered = await asyncio.to_thread(self._answered)
            except DotError as error:
                yield TriggerEvent({**event, "status": "error", "error": str(error)})
                return
            if answered:
                yield TriggerEvent({**event, "status": "answered"})
                return
            remaining = self.deadline - time.time()
            if remaining <= 0:
                yield TriggerEvent({**event, "status": "timeout"})
                return
            await asyncio.sleep(min(self.poll_interval_s, remaining))

    def _answered(self) -> bool:
        """One read of the conversation: does it hold the answer to its last question?"""
        with DotHook(self.dot_conn_id).get_client() as client:
            return answer_to_last_question(client.get_chat(self.chat_id).messages) is not None


__all__ = ["DotAnswerTrigger"]
