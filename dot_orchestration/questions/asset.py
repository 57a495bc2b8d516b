"""A question as an asset: materializing asks Dot and records its answer.

The materialization's metadata (namespace `dot/`): the answer as Markdown, the first data
part as a table preview, the SQL behind the data, the charts, Dot's link to the
conversation, the latency (a number, so the UI plots it run over run), the mode, the chat
id and the outcome:
`answered`, or `clarifying_question` when Dot asked back instead of answering (the asset
still materializes, Dot's question as its answer, so people see what Dot needs; checks on
it fail). The question's expectations are checked in the same step (`checks`). No answer
within the budget and a failing Dot are errors of their own (`DotQuestionTimeoutError`,
`DotQuestionServerError`), each naming the conversation.
"""

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from dagster import (
    AssetExecutionContext,
    AssetsDefinition,
    AssetSpec,
    Failure,
    MaterializeResult,
    MetadataValue,
    TableColumn,
    TableRecord,
    TableSchema,
    multi_asset,
)

from dot_orchestration.client import (
    AnswerPart,
    DotAnswerTimeoutError,
    DotClient,
    DotError,
    DotServerError,
)
from dot_orchestration.questions.ask import DotReply, ask_dot
from dot_orchestration.questions.checks import (
    answer_check_results,
    answer_check_specs,
    sql_markdown,
)
from dot_orchestration.questions.settings import DotQuestion
from dot_orchestration.resources import DotResource
from dot_orchestration.syncs.condition import sync_after_upstream_condition

#: Rows of a data part shown in the table preview; Dot's own part holds them all.
PREVIEW_ROWS = 50


class DotQuestionError(Failure):
    """Dot did not answer a scheduled question; `chat_id` names the conversation, which
    may still hold an answer later (Dot's link, or `DotClient.get_chat`), and is None when
    nothing was asked (an unknown environment, say)."""

    def __init__(self, description: str, *, question: DotQuestion, chat_id: str | None) -> None:
        metadata = {"dot/question": question.question, "dot/mode": question.mode}
        if chat_id is not None:
            metadata["dot/chat_id"] = chat_id
        super().__init__(description=description, metadata=metadata)
        self.chat_id = chat_id


class DotQuestionTimeoutError(DotQuestionError):
    """No answer within the question's `timeout_s`."""


class DotQuestionServerError(DotQuestionError):
    """Dot, or a gateway in front of it, answered 5xx while asked or read."""


def build_question_asset(question: DotQuestion, spec: AssetSpec) -> AssetsDefinition:
    """The asset at `spec` asking `question`; its step is named after the question."""

    @multi_asset(
        name=question.name,
        specs=[spec],
        check_specs=answer_check_specs(question, spec.key),
        pool=question.pool,
    )
    def _ask(context: AssetExecutionContext, dot: DotResource) -> Iterator[MaterializeResult]:
        reply = ask_question(question, dot)
        if reply.clarifying:
            context.log.warning(f"Dot asked back instead of answering: {reply.answer.text}")
        if reply.label_problem:
            context.log.warning(f"Could not label chat {reply.chat_id}: {reply.label_problem}")
        yield MaterializeResult(
            asset_key=spec.key,
            metadata=reply_metadata(question, reply),
            check_results=answer_check_results(question.own_expectations, reply),
        )

    return _ask


def question_spec(question: DotQuestion) -> AssetSpec:
    """The question's asset: downstream of `deps`, asked after their clean updates when
    `ask_after_deps`."""
    condition = (
        sync_after_upstream_condition() if question.deps and question.ask_after_deps else None
    )
    return AssetSpec(
        key=question.asset_key,
        deps=question.dep_keys,
        group_name=question.group_name,
        owners=list(question.owners),
        kinds={"dot"},
        tags={"dot/operation": "question"},
        automation_condition=condition,
        description=(
            f"Dot's answer to: {question.question} Asked in a new conversation each run "
            f"(`dot/chat_id`, Dot's link `dot/url`). On failure the run names the "
            f"conversation: no answer within {question.timeout_s:g} s (Dot may still "
            "answer there), a 5xx or a dropped connection means Dot is failing, 401/403 "
            "that DOT_API_KEY needs renewing; materialize again to ask again."
        ),
    )


def ask_question(question: DotQuestion, dot: DotResource) -> DotReply:
    """Ask Dot; its errors become the question's, naming the conversation."""
    try:
        with question_client(question, dot) as client:
            return ask_dot(
                client,
                question.question,
                mode=question.mode,
                labels=question.labels,
                timeout_s=question.timeout_s,
                poll_interval_s=question.poll_interval_s,
            )
    except DotError as error:
        raise question_failure(question, error) from error


@contextmanager
def question_client(question: DotQuestion, dot: DotResource) -> Iterator[DotClient]:
    """A client whose agentic calls wait no longer than the question's budget, in the
    question's environment when it has one (checked against Dot's list first, as the
    resource checks its own)."""
    update: dict[str, Any] = {"agentic_timeout_s": min(dot.agentic_timeout_s, question.timeout_s)}
    if question.environment is not None:
        update["environment"] = question.environment
    with dot.model_copy(update=update).get_client() as client:
        if question.environment is not None:
            client.check_environment()
        yield client


def question_failure(question: DotQuestion, error: DotError) -> DotQuestionError:
    """The question's own error for a failure of Dot, naming the chat when there is one."""
    chat = f"chat {error.chat_id}" if error.chat_id else "nothing was asked"
    if isinstance(error, DotAnswerTimeoutError):
        return DotQuestionTimeoutError(
            f"Dot did not answer question {question.name!r} within {question.timeout_s:g} s "
            f"({chat}). Dot may still answer: read the conversation later, or raise "
            "`timeout_s`.",
            question=question,
            chat_id=error.chat_id,
        )
    if isinstance(error, DotServerError):
        return DotQuestionServerError(
            f"Dot failed on question {question.name!r} with HTTP {error.status_code} "
            f"({chat}). The question may have reached Dot: look at the conversation before "
            f"asking again. {error}",
            question=question,
            chat_id=error.chat_id,
        )
    return DotQuestionError(
        f"Asking Dot question {question.name!r} failed ({chat}): {type(error).__name__}: {error}",
        question=question,
        chat_id=error.chat_id,
    )


def reply_metadata(question: DotQuestion, reply: DotReply) -> dict[str, Any]:
    """What the materialization records of Dot's reply."""
    answer = reply.answer
    metadata: dict[str, Any] = {
        "dot/outcome": "clarifying_question" if reply.clarifying else "answered",
        "dot/answer": MetadataValue.md(answer.text),
        "dot/chat_id": reply.chat_id,
        "dot/mode": question.mode,
    }
    if reply.latency_s is not None:
        metadata["dot/latency_s"] = MetadataValue.float(round(reply.latency_s, 3))
    if answer.dot_url:
        metadata["dot/url"] = MetadataValue.url(answer.dot_url)
    frames = [answer.asset(part) for part in answer.parts if part.type == "dataframe"]
    table = next((table for frame in frames if (table := _table(frame)) is not None), None)
    if table is not None:
        metadata["dot/table"] = table
    if reply.queries:
        metadata["dot/sql"] = MetadataValue.md(sql_markdown(reply.queries))
    charts = [part for part in answer.parts if part.type == "chart"]
    if charts:
        metadata["dot/charts"] = MetadataValue.md(_charts(answer.asset, charts, answer.dot_url))
    if reply.label_problem is None and question.labels:
        metadata["dot/labels"] = MetadataValue.json(list(question.labels))
    return metadata


def _table(frame: Any) -> MetadataValue | None:
    """A data part as a table: its `columns` and rows (`data`) when it has them, else its
    `text_preview` (what Dot's CLI prints); None for a shape neither reads."""
    if not isinstance(frame, Mapping):
        return None
    columns, rows = frame.get("columns"), frame.get("data")
    if isinstance(columns, list) and isinstance(rows, list):
        names = [str(column) for column in columns]
        records = [
            TableRecord(dict(zip(names, map(_cell, row), strict=False)))
            for row in rows[:PREVIEW_ROWS]
            if isinstance(row, list)
        ]
        columns_of = [
            [row[i] for row in rows if isinstance(row, list) and i < len(row)]
            for i in range(len(names))
        ]
        schema = TableSchema(
            columns=[
                TableColumn(name, _type(values))
                for name, values in zip(names, columns_of, strict=True)
            ]
        )
        return MetadataValue.table(records=records, schema=schema)
    preview = frame.get("text_preview")
    if isinstance(preview, str) and preview:
        return MetadataValue.md(f"```\n{preview}\n```")
    return None


def _cell(value: Any) -> str | int | float | bool | None:
    return value if value is None or isinstance(value, str | int | float | bool) else str(value)


def _type(values: list[Any]) -> str:
    """A column's type for the UI: `number` when every value is one, else `string`."""
    numbers = [v for v in values if isinstance(v, int | float) and not isinstance(v, bool)]
    return "number" if values and len(numbers) == len(values) else "string"


def _charts(asset: Any, charts: list[AnswerPart], dot_url: str | None) -> str:
    """One line per chart: its title or interpretation, linked to Dot's conversation."""
    lines = []
    for part in charts:
        spec = asset(part)
        title = part.data
        if isinstance(spec, Mapping):
            title = spec.get("title") or spec.get("interpretation") or title
            link = spec.get("url") or dot_url
        else:
            link = dot_url
        lines.append(f"- [{title}]({link})" if link else f"- {title}")
    return "\n".join(lines)


__all__ = [
    "DotQuestionError",
    "DotQuestionServerError",
    "DotQuestionTimeoutError",
    "build_question_asset",
    "question_spec",
]
