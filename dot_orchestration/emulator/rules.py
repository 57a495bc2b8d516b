"""Answers that follow the data: rules mapping a question to SQL on a DuckDB file.

By default the emulator's answers are drawn from a seeded vocabulary, so they never change
when the data does. A test or demo that wants Dot to be *wrong after a dbt change* needs
answers computed from the warehouse at the moment the question is asked. A rule file says
how (YAML or JSON, a list of rules under `rules:`):

```yaml
rules:
  - pattern: "revenue (last|previous) month"     # regex, searched in the question
    sql: |
      select sum(revenue) as revenue from daily_revenue
      where date_trunc('month', day) = date '2025-02-01'
    answer: "Revenue last month was ${revenue:,.2f}."   # str.format, first row's columns
    chart: {type: bar, x: day, y: revenue}              # optional
```

The first rule whose `pattern` is found in the latest question answers it (case-insensitive);
no rule matching, the default answer applies. The answer has a text part (the template
filled with the first row's columns and `rows`, the number of rows), a dataframe part
holding every row, and the chart part when the rule has one.

The DuckDB file is opened read-only for each answer and closed at once, so that other
processes (dbt, the history export) keep writing it between questions. A query that
fails (the file is locked by a writer, a table is missing, the template names a column
the query has not) makes Dot say so in its answer, as Dot reports a failed query in the
chat, instead of failing the request.
"""

import datetime
import decimal
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, field_validator

from dot_orchestration._extras import extra_required


class ChartRule(BaseModel):
    """The chart Dot draws over a rule's result: its kind and the columns on its axes."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    type: str = "bar"
    x: str
    y: str
    title: str | None = None


class AnswerRule(BaseModel):
    """Questions matching `pattern` are answered by running `sql` on the warehouse."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    pattern: str = Field(description="Regular expression, searched case-insensitively.")
    sql: str = Field(min_length=1, description="DuckDB SQL; its rows are the answer's data.")
    answer: str = Field(
        min_length=1,
        description="The answer's text: a str.format template of the first row's columns "
        "and `rows` (the number of rows).",
    )
    chart: ChartRule | None = None

    @field_validator("pattern")
    @classmethod
    def _compiles(cls, pattern: str) -> str:
        try:
            re.compile(pattern)
        except re.error as error:
            raise ValueError(f"pattern {pattern!r} is not a regular expression: {error}") from None
        return pattern

    def matches(self, question: str) -> bool:
        return re.search(self.pattern, question, re.IGNORECASE) is not None


_RULES = TypeAdapter(list[AnswerRule])


def load_answer_rules(path: Path) -> list[AnswerRule]:
    """The rules of a YAML or JSON file (JSON is YAML): a mapping with a `rules` list."""
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    if not isinstance(data, dict) or "rules" not in data:
        raise ValueError(f"{path}: expected a mapping with a `rules:` list")
    return _RULES.validate_python(data["rules"])


@dataclass(frozen=True)
class RuledAnswer:
    """What a rule made of the warehouse's rows: the text and the assets of its parts."""

    text: str
    sql: str
    dataframe: dict[str, Any] | None
    chart: dict[str, Any] | None


@dataclass(frozen=True)
class DataAnswers:
    """The rules and the DuckDB file they query: what the emulator answers from the data."""

    warehouse: Path
    rules: tuple[AnswerRule, ...]

    def answer(self, question: str) -> RuledAnswer | None:
        """The answer of the first rule matching `question`, from the warehouse as it is
        now; None when no rule matches."""
        rule = next((rule for rule in self.rules if rule.matches(question)), None)
        if rule is None:
            return None
        with extra_required("duckdb", feature="The emulator's answers from a DuckDB file"):
            import duckdb
        try:
            with duckdb.connect(str(self.warehouse), read_only=True) as connection:
                cursor = connection.execute(rule.sql)
                columns = [description[0] for description in cursor.description or []]
                rows = [[_json_value(value) for value in row] for row in cursor.fetchall()]
            text = _fill(rule.answer, columns, rows)
        except (duckdb.Error, KeyError, IndexError, ValueError, TypeError) as error:
            text = f"I could not answer from the warehouse ({type(error).__name__}: {error})."
            return RuledAnswer(text, rule.sql, None, None)
        return RuledAnswer(text, rule.sql, _dataframe(rule.sql, columns, rows), _chart(rule, text))


def _fill(template: str, columns: list[str], rows: list[list[Any]]) -> str:
    """The template with the first row's columns (none without rows) and `rows`."""
    first = dict(zip(columns, rows[0], strict=True)) if rows else {}
    return template.format_map({**first, "rows": len(rows)})


def _json_value(value: Any) -> Any:
    """A warehouse value as JSON carries it: decimals as floats, dates as ISO text."""
    if isinstance(value, decimal.Decimal):
        return float(value)
    if isinstance(value, datetime.date | datetime.time):
        return value.isoformat()
    if value is None or isinstance(value, bool | int | float | str):
        return value
    return json.loads(json.dumps(value, default=str))


def _dataframe(sql: str, columns: list[str], rows: list[list[Any]]) -> dict[str, Any]:
    """The result as the default answers shape a dataframe asset (see `answers.py`)."""
    lines = [",".join(columns), *(",".join(map(str, row)) for row in rows)]
    return {
        "sql_query": sql,
        "text_preview": "\n".join(lines),
        "shape": [len(rows), len(columns)],
        "columns": columns,
        "data": rows,
    }


def _chart(rule: AnswerRule, text: str) -> dict[str, Any] | None:
    if rule.chart is None:
        return None
    title = rule.chart.title or f"{rule.chart.y} by {rule.chart.x}"
    return {"interpretation": text, **rule.chart.model_dump(), "title": title}


__all__ = ["AnswerRule", "ChartRule", "DataAnswers", "RuledAnswer", "load_answer_rules"]
