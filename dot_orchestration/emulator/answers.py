"""Dot's side of a conversation: deterministic questions and answers about one small shop.

History generation needs answer *text* fast (hundreds of thousands of messages); live chats
need a full assistant message. Both draw from the same topics, so generated history and
live answers read alike.

A live answer is shaped as Dot's docs and Dot's own CLI (getdot, `src/ask.mjs`) read it:
`content` and `additional_data.formatted_result`, a list of parts whose `text` parts are
the answer and whose other parts (`dataframe`, `chart`, `file`) hold a key into
`additional_data.assets`; `additional_data.dot_url` and `chat_id`; `suggested_follow_ups`.
The default profile adds what older deployments and Dot's 2024 API docs' script read or what the
emulator guessed: `explanation`, `additional_data.sql` and `external_assets` (dashboards
about the same metric). A question that names no metric gets a clarifying question in
`content` alone, with no text parts, as Dot asks back when it cannot tell what is meant.

With answer rules (`rules.py`), a question a rule matches is answered from the warehouse
instead, in the same shape: a text part, a dataframe part of the query's rows and, when
the rule has one, a chart part. Rules are checked before the clarifying question, since a
rule's pattern says what the question means.
"""

import random
import re
from dataclasses import dataclass
from typing import Any

from dot_orchestration.emulator.rules import DataAnswers, RuledAnswer
from dot_orchestration.emulator.vocabulary import (
    ANSWERS,
    DIMENSION_VALUES,
    DIMENSIONS,
    FOLLOW_UPS,
    METRICS,
    PERIODS,
    QUESTIONS,
)

# Words people use for a metric without naming it the way the model does.
_SYNONYMS = {
    "sales": "revenue",
    "turnover": "revenue",
    "orders": "order count",
    "aov": "average order value",
}
_FILE_WORDS = ("csv", "export", "download", "file", "excel")


@dataclass(frozen=True)
class Topic:
    """What a question is about: a metric (from a dbt model), a breakdown and a period."""

    metric: str
    model: str
    unit: str
    dimension: str
    period: str

    def fill(self, template: str, rng: random.Random) -> str:
        """Fill a question/answer template with this topic and freshly drawn numbers."""
        return template.format_map(_TemplateFields(self, rng))


class _TemplateFields(dict[str, str]):
    """Template fields; numbers are drawn only for the fields a template uses.

    Drawing lazily keeps history generation fast (most templates use few fields) and makes
    a template's output depend only on the fields it names.
    """

    def __init__(self, topic: Topic, rng: random.Random) -> None:
        super().__init__(
            metric=topic.metric,
            Metric=topic.metric.capitalize(),
            dimension=topic.dimension,
            period=topic.period,
        )
        self._unit = topic.unit
        self._rng = rng

    def __missing__(self, key: str) -> str:
        if key == "value":
            return format_value(self._unit, self._rng)
        if key == "change":
            return format_change(self._rng)
        if key == "dimension_value":
            return self._rng.choice(DIMENSION_VALUES)
        raise KeyError(key)


@dataclass(frozen=True)
class AnswerContext:
    """Where an answer is given: the chat's link in Dot, the profile, related dashboards."""

    dot_url: str
    strict: bool
    external_assets: list[dict[str, Any]]
    data: DataAnswers | None = None


@dataclass(frozen=True)
class ComposedAnswer:
    """A live assistant message (without id and timestamp) and the follow-ups Dot suggests."""

    message: dict[str, Any]
    follow_ups: list[str]


def random_topic(rng: random.Random) -> Topic:
    """Any topic: what generated history is about."""
    metric, model, unit = rng.choice(METRICS)
    return Topic(metric, model, unit, rng.choice(DIMENSIONS), rng.choice(PERIODS))


def question_text(rng: random.Random, topic: Topic, *, follow_up: bool) -> str:
    """A user's opening question or follow-up about `topic`."""
    return topic.fill(rng.choice(FOLLOW_UPS if follow_up else QUESTIONS), rng)


def answer_text(rng: random.Random, topic: Topic) -> str:
    """Dot's one-paragraph explanation about `topic`."""
    return topic.fill(rng.choice(ANSWERS), rng)


def format_value(unit: str, rng: random.Random) -> str:
    """A plausible value of a metric in its unit."""
    if unit == "currency":
        return f"${rng.randint(20_000, 2_500_000):,}"
    if unit == "count":
        return f"{rng.randint(120, 48_000):,}"
    return f"{rng.uniform(0.5, 18.0):.1f}%"


def format_change(rng: random.Random) -> str:
    """A change against the previous period, e.g. `up 4.2%`."""
    change = rng.uniform(-15.0, 25.0)
    return f"{'up' if change >= 0 else 'down'} {abs(change):.1f}%"


def topic_for(questions: list[str], rng: random.Random) -> Topic:
    """The topic of a conversation: the latest question that names a metric wins.

    Follow-ups like "How does that compare to the previous month?" name no metric, so the
    earlier questions of the chat decide; what nobody named is drawn from `rng`.
    """
    fallback = random_topic(rng)
    texts = [question.lower() for question in reversed(questions)]
    metric = _first_match(texts, _metric_names()) or fallback.metric
    _, model, unit = next(entry for entry in METRICS if entry[0] == metric)
    dimension = _first_match(texts, {name: name for name in DIMENSIONS}) or fallback.dimension
    period = _first_match(texts, {name: name for name in PERIODS}) or fallback.period
    return Topic(metric, model, unit, dimension, period)


def _metric_names() -> dict[str, str]:
    """Every word that names a metric, mapped to the metric."""
    return {**{metric: metric for metric, _, _ in METRICS}, **_SYNONYMS}


def _first_match(texts: list[str], names: dict[str, str]) -> str | None:
    """The value of the first (longest-first) name found in the first text that has one."""
    ordered = sorted(names, key=len, reverse=True)
    for text in texts:
        for name in ordered:
            if re.search(rf"\b{re.escape(name)}\b", text):
                return names[name]
    return None


def compose_answer(
    questions: list[str], *, seed: int, chat_id: str, context: AnswerContext
) -> ComposedAnswer:
    """Dot's answer to the latest of `questions`, identical for the same seed and chat (and,
    for a question a rule answers, the same warehouse data)."""
    ruled = context.data.answer(questions[-1]) if context.data is not None else None
    if ruled is not None:
        return _ruled_answer(ruled, len(questions), chat_id, context)
    rng = random.Random(f"dot-emulator-answer:{seed}:{chat_id}:{len(questions)}")
    if not any(_first_match([q.lower()], _metric_names()) for q in questions):
        return _clarifying_question(chat_id, context)
    topic = topic_for(questions, rng)
    explanation = answer_text(rng, topic)
    n = len(questions)
    assets: dict[str, Any] = {
        f"df_{n}": _dataframe(rng, topic),
        f"viz_{n}": _chart(topic),
    }
    if any(word in questions[-1].lower() for word in _FILE_WORDS):
        name, file = _file(topic)
        assets[f"file_{name}"] = file
    follow_ups = list(dict.fromkeys(question_text(rng, topic, follow_up=True) for _ in range(3)))
    guesses = {
        "sql": _sql(topic),
        "external_assets": _related_assets(topic, context.external_assets),
    }
    message = _assistant_message(explanation, assets, follow_ups, chat_id, context, guesses)
    return ComposedAnswer(message, follow_ups)


def _ruled_answer(
    ruled: RuledAnswer, n: int, chat_id: str, context: AnswerContext
) -> ComposedAnswer:
    """A rule's answer: its text, its rows as a dataframe, its chart when it has one."""
    assets: dict[str, Any] = {}
    if ruled.dataframe is not None:
        assets[f"df_{n}"] = ruled.dataframe
    if ruled.chart is not None:
        assets[f"viz_{n}"] = ruled.chart
    message = _assistant_message(ruled.text, assets, [], chat_id, context, {"sql": ruled.sql})
    return ComposedAnswer(message, [])


#: The part type of each asset, by the prefix of its key.
_PART_TYPES = {"df": "dataframe", "viz": "chart", "file": "file"}


def _assistant_message(
    text: str,
    assets: dict[str, Any],
    follow_ups: list[str],
    chat_id: str,
    context: AnswerContext,
    guesses: dict[str, Any],
) -> dict[str, Any]:
    """An answer as Dot sends it: a text part and one part per asset (keyed by the asset),
    the link and the chat id; the default profile adds `explanation` and `guesses` (fields
    of `additional_data` that Dot's documents do not show)."""
    parts = [{"type": "text", "data": text}]
    parts += [{"type": _PART_TYPES[key.split("_")[0]], "data": key} for key in assets]
    additional_data: dict[str, Any] = {
        "formatted_result": parts,
        "assets": assets,
        "dot_url": context.dot_url,
        "chat_id": chat_id,
    }
    message: dict[str, Any] = {
        "role": "assistant",
        "content": text,
        "additional_data": additional_data,
        "suggested_follow_ups": follow_ups,
    }
    if not context.strict:
        message["explanation"] = text
        additional_data.update(guesses)
    return message


def _clarifying_question(chat_id: str, context: AnswerContext) -> ComposedAnswer:
    """Dot asking back: the whole answer is `content`, with no formatted result."""
    metrics = ", ".join(metric for metric, _, _ in METRICS)
    question = f"Which metric do you mean? I can answer about {metrics}."
    message: dict[str, Any] = {
        "role": "assistant",
        "content": question,
        "additional_data": {"formatted_result": [], "dot_url": context.dot_url, "chat_id": chat_id},
        "suggested_follow_ups": [],
    }
    if not context.strict:
        message["explanation"] = question
    return ComposedAnswer(message, [])


def _column(name: str) -> str:
    """A SQL column name for a metric or dimension."""
    return re.sub(r"\W+", "_", name).strip("_")


def _dataframe(rng: random.Random, topic: Topic) -> dict[str, Any]:
    """A small result table as Dot's CLI reads one (`sql_query`, `text_preview`, `shape`),
    with its rows in pandas' `split` orientation too (`columns`, `data`)."""
    groups = rng.sample(DIMENSION_VALUES, 4)
    rows = [[group, format_value(topic.unit, rng)] for group in groups]
    columns = [_column(topic.dimension), _column(topic.metric)]
    preview = "\n".join([",".join(columns), *(f"{group},{value}" for group, value in rows)])
    return {
        "sql_query": _sql(topic),
        "text_preview": preview,
        "shape": [len(rows), len(columns)],
        "columns": columns,
        "data": rows,
    }


def _chart(topic: Topic) -> dict[str, Any]:
    """A bar chart spec over the dataframe, with the `interpretation` Dot's CLI prints."""
    return {
        "interpretation": f"{topic.metric.capitalize()} by {topic.dimension} {topic.period}.",
        "type": "bar",
        "x": _column(topic.dimension),
        "y": _column(topic.metric),
        "title": f"{topic.metric.capitalize()} by {topic.dimension} {topic.period}",
    }


def _file(topic: Topic) -> tuple[str, dict[str, Any]]:
    """A downloadable result (its name, and its asset), offered when asked for a file."""
    name = f"{_column(topic.metric)}_by_{_column(topic.dimension)}.csv"
    return name, {"path": name, "content_type": "text/csv", "rows": 4}


def _sql(topic: Topic) -> str:
    """The query Dot would have run, against the dbt model the metric comes from."""
    dimension, metric = _column(topic.dimension), _column(topic.metric)
    return (
        f"select {dimension}, sum({metric}) as {metric}\n"
        f"from {topic.model}\ngroup by 1\norder by 2 desc"
    )


def _related_assets(topic: Topic, assets: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Up to two external assets whose name or description mentions the metric's words."""
    words = {word for word in re.findall(r"[a-z]+", topic.metric) if len(word) > 3}
    related = []
    for asset in assets:
        text = f"{asset.get('name') or ''} {asset.get('description') or ''}".lower()
        if words & set(re.findall(r"[a-z]+", text)):
            related.append({key: asset.get(key) for key in ("id", "name", "url", "subtype")})
    return related[:2]
