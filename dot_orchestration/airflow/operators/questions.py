"""`DotQuestionOperator`: ask Dot in a new conversation, at most once; deferrable, so
while Dot thinks `DotAnswerTrigger` polls the conversation in Airflow's triggerer and no
worker slot is held.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Mapping, Sequence
from contextlib import AbstractContextManager
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from dot_orchestration.airflow import airflow_required
from dot_orchestration.airflow.operators._base import DotOperatorBase, task_failure
from dot_orchestration.airflow.triggers import DotAnswerTrigger
from dot_orchestration.client import (
    AgenticMode,
    Answer,
    DotClient,
    DotError,
    DotOutcomeUnknownError,
    DotServerError,
    DotTimeoutError,
    DotTransportError,
)
from dot_orchestration.client._answers import answer_to_last_question, message_text

with airflow_required():
    from airflow.sdk.exceptions import AirflowException, AirflowFailException

if TYPE_CHECKING:
    from airflow.sdk import Context


class DotQuestionOperator(DotOperatorBase):
    """Ask Dot `question` (templated) in a new conversation; the task's result is the
    answer (`answer`, `chat_id`, `url`, `outcome`, `queries`).

    Deferrable (the default): the question is posted with a short wait (`submit_timeout_s`);
    if Dot has not answered by then, the task defers to `DotAnswerTrigger`, which reads the
    conversation (`GET /api/c2/{chat_id}`) every `poll_interval_s` in Airflow's triggerer,
    holding no worker slot, until the answer or `timeout_s` after asking. With
    `deferrable=False` the worker waits itself.

    An answer that is a question back (Dot needs more to go on) succeeds with a warning and
    `outcome` `clarifying_question`. Failures name the conversation. A question is sent at
    most once: no answer within `timeout_s`, or a Dot failure after it was posted (5xx, a
    dropped connection), fails the task without Airflow's retries (Dot may still answer:
    read the conversation); a question that certainly never reached Dot (a 4xx) is a plain
    failure.
    """

    template_fields: Sequence[str] = ("question",)

    def __init__(
        self,
        *,
        question: str,
        mode: AgenticMode = "balanced",
        labels: Sequence[str] = ("airflow",),
        timeout_s: float = 900.0,
        poll_interval_s: float = 10.0,
        submit_timeout_s: float = 30.0,
        deferrable: bool = True,
        **kwargs: Any,
    ) -> None:
        if not 0 < poll_interval_s <= timeout_s or submit_timeout_s <= 0:
            raise ValueError(
                "DotQuestionOperator: need 0 < poll_interval_s <= timeout_s and "
                "submit_timeout_s > 0"
            )
        super().__init__(**kwargs)
        self.question = question
        self.mode = mode
        self.labels = tuple(labels)
        self.timeout_s = timeout_s
        self.poll_interval_s = poll_interval_s
        self.submit_timeout_s = submit_timeout_s
        self.deferrable = deferrable

    def execute(self, context: Context) -> dict[str, Any]:
        chat_id = str(uuid.uuid4())  # made here, so every failure can name the conversation
        deadline = time.time() + self.timeout_s
        first_wait = min(self.submit_timeout_s, self.timeout_s)
        with self._client(first_wait if self.deferrable else self.timeout_s) as client:
            try:
                chat = client.agentic(self.question, chat_id=chat_id, mode=self.mode)
                message = answer_to_last_question(chat.messages)
            except DotTimeoutError:  # outlasted the wait: Dot may still be answering
                message = None
            except DotError as error:
                raise self._failure(error, chat_id) from error
            if message is not None:
                text = message_text(message)
                answer = Answer(chat_id=chat_id, text=text, parts=message.parts, message=message)
                return self._answered(client, answer)
            if not self.deferrable:
                return self._answered(client, self._wait(client, chat_id, deadline))
        self.log.info("Dot is still answering (chat %s); waiting in the triggerer", chat_id)
        return self.defer(  # raises: the task resumes in `execute_complete`
            trigger=DotAnswerTrigger(
                dot_conn_id=self.dot_conn_id,
                chat_id=chat_id,
                deadline=deadline,
                poll_interval_s=self.poll_interval_s,
            ),
            method_name="execute_complete",
            timeout=timedelta(seconds=self.timeout_s + 60),
        )

    def execute_complete(self, context: Context, event: Mapping[str, Any]) -> dict[str, Any]:
        """The trigger fired: Dot answered, the budget is spent, or a poll failed."""
        chat_id = str(event["chat_id"])
        if event["status"] == "timeout":
            raise AirflowFailException(self._timeout_message(chat_id))
        if event["status"] == "error":
            raise AirflowException(
                f"Reading Dot's answer to {self.task_id!r} failed (chat {chat_id}): "
                f"{event['error']}; the question was asked once, read the conversation in Dot"
            )
        with self._client(self.timeout_s) as client:
            return self._answered(client, self._wait(client, chat_id, time.time()))

    def _client(self, agentic_timeout_s: float) -> AbstractContextManager[DotClient]:
        return self.hook().get_client(agentic_timeout_s=agentic_timeout_s)

    def _wait(self, client: DotClient, chat_id: str, deadline: float) -> Answer:
        """The conversation's answer, polled until `deadline` (one read when it is past)."""
        try:
            return client.wait_for_answer(
                chat_id,
                timeout_s=max(0.0, deadline - time.time()),
                poll_interval_s=self.poll_interval_s,
            )
        except DotTimeoutError as error:
            raise AirflowFailException(self._timeout_message(chat_id)) from error
        except DotError as error:
            raise self._failure(error, chat_id) from error

    def _answered(self, client: DotClient, answer: Answer) -> dict[str, Any]:
        """Label the conversation (a failed label fails nothing) and give the answer."""
        if self.labels:
            try:
                client.add_label_to_chat(answer.chat_id, self.labels)
            except DotError as error:
                self.log.warning("Could not label chat %s: %s", answer.chat_id, error)
        clarifying = not any(part.type == "text" and part.data for part in answer.parts)
        if clarifying:
            self.log.warning("Dot asked back instead of answering: %s", answer.text)
        frames = [answer.asset(part) for part in answer.parts if part.type == "dataframe"]
        return {
            "chat_id": answer.chat_id,
            "outcome": "clarifying_question" if clarifying else "answered",
            "answer": answer.text,
            "url": answer.dot_url,
            "queries": [
                frame["sql_query"]
                for frame in frames
                if isinstance(frame, dict) and isinstance(frame.get("sql_query"), str)
            ],
        }

    def _timeout_message(self, chat_id: str) -> str:
        return (
            f"Dot did not answer {self.task_id!r} within {self.timeout_s:g} s (chat {chat_id}). "
            "Dot may still answer: read the conversation in Dot, or raise `timeout_s`."
        )

    def _failure(self, error: DotError, chat_id: str) -> AirflowException:
        """Not retried when the question may have reached Dot: a second one would be a
        second conversation."""
        reached = isinstance(error, DotTransportError | DotServerError | DotOutcomeUnknownError)
        return task_failure(
            f"Asking Dot {self.task_id!r} failed (chat {chat_id}): {error}"
            + ("; the question may have reached Dot: look at the conversation" if reached else ""),
            error,
            may_have_happened=reached,
        )


__all__ = ["DotQuestionOperator"]
