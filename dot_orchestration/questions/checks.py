"""Answer checks: what a question's `expect` says about Dot's answer, as asset checks.

Those on the question's asset run in its own step, right after the answer arrived, so the
SQL reads the warehouse as Dot read it; those on other assets in a step after it
(`named_checks`), with the same evaluation. Each check's metadata holds the numbers it
compared (Dot's, the SQL's, the allowed difference) as numbers, so the UI plots them run
over run. A question Dot answered with a question fails every check: there is no answer to
check.
"""

import re
from collections.abc import Sequence

from dagster import AssetCheckResult, AssetCheckSeverity, AssetCheckSpec, AssetKey, MetadataValue

from dot_orchestration.questions.ask import DotReply
from dot_orchestration.questions.settings import (
    AnswerCheckQueryError,
    DotQuestion,
    Expectation,
    NumberExpectation,
    PhraseExpectation,
    TablesExpectation,
)

#: A number as people write one: an optional sign and currency, thousands separators.
_NUMBER = re.compile(r"[-+]?[$€£]?\s?\d[\d,]*(?:\.\d+)?")


def answer_check_specs(question: DotQuestion, key: AssetKey) -> list[AssetCheckSpec]:
    """One check per expectation on the question's own asset (at `key`); blocking ones
    stop what is downstream in the same run when they fail."""
    return [
        AssetCheckSpec(
            expectation.name,
            asset=key,
            blocking=expectation.blocks,
            description=describe(expectation),
        )
        for expectation in question.own_expectations
    ]


def answer_check_results(
    expectations: Sequence[Expectation], reply: DotReply
) -> list[AssetCheckResult]:
    """`expectations` evaluated on Dot's reply, each reported on the asset it is on (None:
    the question's, which the check spec names)."""
    return [_result(expectation, reply) for expectation in expectations]


def number_in(text: str, pattern: str | None = None) -> float | None:
    """The first number in `text` (or in the first group of `pattern`'s first match)."""
    if pattern is not None:
        match = re.search(pattern, text)
        if match is None or match.group(1) is None:
            return None
        text = match.group(1)
    found = _NUMBER.search(text)
    if found is None:
        return None
    return float(re.sub(r"[$€£,\s]", "", found.group()))


def _result(expectation: Expectation, reply: DotReply) -> AssetCheckResult:
    severity = AssetCheckSeverity.ERROR if expectation.blocks else AssetCheckSeverity.WARN
    if reply.clarifying:
        return AssetCheckResult(
            asset_key=expectation.asset_key,
            check_name=expectation.name,
            passed=False,
            severity=severity,
            metadata={"dot/chat_id": reply.chat_id},
            description=f"Dot asked back instead of answering: {reply.answer.text}",
        )
    if isinstance(expectation, NumberExpectation):
        passed, metadata, description = _number(expectation, reply)
    elif isinstance(expectation, PhraseExpectation):
        passed, metadata, description = _phrases(expectation, reply)
    else:
        passed, metadata, description = _tables(expectation, reply)
    return AssetCheckResult(
        asset_key=expectation.asset_key,
        check_name=expectation.name,
        passed=passed,
        severity=severity,
        metadata={"dot/chat_id": reply.chat_id, **metadata},
        description=description,
    )


def _number(
    expectation: NumberExpectation, reply: DotReply
) -> tuple[bool, dict[str, MetadataValue], str]:
    """Dot's number against the SQL's, within the expectation's tolerance."""
    metadata: dict[str, MetadataValue] = {}
    dot_value = number_in(reply.answer.text, expectation.pattern)
    if dot_value is not None:
        metadata["dot_value"] = MetadataValue.float(dot_value)
    try:
        sql_value = expectation.warehouse.scalar(expectation.sql)
    except AnswerCheckQueryError as error:
        return False, metadata, f"The check's SQL failed: {error}"
    if sql_value is None:
        return False, metadata, "The check's SQL returned no value (no row, or NULL)."
    allowed = expectation.allowed_difference(sql_value)
    metadata |= {
        "sql_value": MetadataValue.float(sql_value),
        "tolerance": MetadataValue.float(allowed),
    }
    if dot_value is None:
        where = f"matching {expectation.pattern!r}" if expectation.pattern else "in it"
        return False, metadata, f"Dot's answer has no number {where}: {reply.answer.text}"
    difference = abs(dot_value - sql_value)
    metadata["difference"] = MetadataValue.float(difference)
    passed = difference <= allowed
    verdict = "within" if passed else "outside"
    return (
        passed,
        metadata,
        f"Dot says {dot_value:g}, the SQL {sql_value:g}: a difference of {difference:g}, "
        f"{verdict} the tolerance of {allowed:g}.",
    )


def _phrases(
    expectation: PhraseExpectation, reply: DotReply
) -> tuple[bool, dict[str, MetadataValue], str]:
    """The required phrases are all in the answer, the forbidden ones none."""

    def said(phrase: str) -> bool:
        if expectation.case_sensitive:
            return phrase in reply.answer.text
        return phrase.casefold() in reply.answer.text.casefold()

    missing = [phrase for phrase in expectation.required if not said(phrase)]
    forbidden = [phrase for phrase in expectation.forbidden if said(phrase)]
    metadata: dict[str, MetadataValue] = {
        "missing_phrases": MetadataValue.json(missing),
        "forbidden_phrases_found": MetadataValue.json(forbidden),
    }
    problems = [f"lacks {missing}"] if missing else []
    problems += [f"says {forbidden}"] if forbidden else []
    if problems:
        return False, metadata, f"Dot's answer {' and '.join(problems)}."
    return True, metadata, "Dot's answer has every required phrase and no forbidden one."


def _tables(
    expectation: TablesExpectation, reply: DotReply
) -> tuple[bool, dict[str, MetadataValue], str]:
    """Every table is named in the SQL behind the answer's data parts."""
    if not reply.queries:
        nothing: dict[str, MetadataValue] = {
            "missing_tables": MetadataValue.json(list(expectation.tables))
        }
        return False, nothing, "Dot's answer shows no SQL: no data part names its query."
    sql = "\n".join(reply.queries)
    # a whole name: `daily_revenue` is read by `from analytics.daily_revenue`, not by
    # `from daily_revenue_v2`
    missing = [
        table
        for table in expectation.tables
        if not re.search(rf"(?<!\w){re.escape(table)}(?!\w)", sql, re.IGNORECASE)
    ]
    metadata: dict[str, MetadataValue] = {
        "missing_tables": MetadataValue.json(missing),
        "sql": MetadataValue.md(sql_markdown(reply.queries)),
    }
    if missing:
        return False, metadata, f"Dot's answer did not read {missing}."
    return True, metadata, f"Dot's answer read {list(expectation.tables)}."


def sql_markdown(queries: list[str]) -> str:
    """Queries as Markdown, one SQL block each."""
    return "\n\n".join(f"```sql\n{query}\n```" for query in queries)


def describe(expectation: Expectation) -> str:
    """What the check holds, for its description in the UI."""
    if isinstance(expectation, NumberExpectation):
        return (
            f"The number in Dot's answer is within max({expectation.tolerance:g}, "
            f"{expectation.relative_tolerance:g} * |truth|) of: {expectation.sql}"
        )
    if isinstance(expectation, PhraseExpectation):
        return (
            f"Dot's answer says {list(expectation.required)} and none of "
            f"{list(expectation.forbidden)}."
        )
    return f"Dot's answer is computed from {list(expectation.tables)}."


__all__ = [
    "answer_check_results",
    "answer_check_specs",
    "describe",
    "number_in",
    "sql_markdown",
]
