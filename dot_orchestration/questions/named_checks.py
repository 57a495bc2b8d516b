"""Checks a question puts on the assets it names: Dot's answer judged where the data is.

An expectation with `asset` (say the dbt model `daily_revenue`) is a check on that asset,
so a dbt change that makes Dot wrong shows on the model. It cannot run in the question's
step (a step reports checks only on its own assets), so it is a check step of its own
after the question: it reads the conversation the question's latest materialization names
back from Dot (`GET /api/c2/{chat_id}`) and judges that answer. It never blocks: the
question runs after the assets it reads, so holding those back would wait on itself.

It runs in the question's scheduled job, in the automation run asking the question after
its deps, and on the tick after the question updated any other way (an automation
condition on the check, which the questions' sensor evaluates); a run that both asked and
checked is not followed by another check.
"""

from collections.abc import Iterator, Sequence
from typing import cast

from dagster import (
    AssetCheckExecutionContext,
    AssetCheckKey,
    AssetCheckResult,
    AssetChecksDefinition,
    AssetCheckSeverity,
    AssetCheckSpec,
    AssetSelection,
    AutomationCondition,
    multi_asset_check,
)

from dot_orchestration.client import DotError
from dot_orchestration.questions.ask import read_reply
from dot_orchestration.questions.asset import question_client, question_failure
from dot_orchestration.questions.checks import answer_check_results, describe
from dot_orchestration.questions.settings import DotQuestion, Expectation
from dot_orchestration.resources import DotResource


def build_named_asset_checks(question: DotQuestion) -> AssetChecksDefinition | None:
    """The checks of `question` on other assets, in one step; None when it has none."""
    expectations = question.other_expectations
    if not expectations:
        return None
    # Not when the check ran itself since the last tick: with the question, in one run.
    # (Dagster types `newly_updated` for assets; it applies to checks as well.)
    after_the_question = cast(
        "AutomationCondition[AssetCheckKey]",
        AutomationCondition.any_deps_updated().allow(AssetSelection.assets(question.asset_key))
        & ~AutomationCondition.newly_updated(),
    )
    specs = [
        AssetCheckSpec(
            expectation.name,
            asset=question.target(expectation),
            additional_deps=[question.asset_key],
            description=f"{describe(expectation)} (Dot's answer to: {question.question})",
            automation_condition=after_the_question,
        )
        for expectation in expectations
    ]

    @multi_asset_check(specs=specs, name=f"{question.name}_answer_checks", pool=question.pool)
    def _check_the_answer(
        context: AssetCheckExecutionContext, dot: DotResource
    ) -> Iterator[AssetCheckResult]:
        event = context.instance.get_latest_materialization_event(question.asset_key)
        metadata = (
            event.asset_materialization.metadata if event and event.asset_materialization else {}
        )
        chat = metadata.get("dot/chat_id")
        if chat is None:
            yield from _unjudged(question, expectations, "has not been answered yet")
            return
        try:
            with question_client(question, dot) as client:
                reply = read_reply(client, str(chat.value))
        except DotError as error:
            raise question_failure(question, error) from error
        if reply is None:
            yield from _unjudged(question, expectations, f"has no answer in chat {chat.value}")
            return
        yield from answer_check_results(expectations, reply)

    return _check_the_answer


def _unjudged(
    question: DotQuestion, expectations: Sequence[Expectation], why: str
) -> Iterator[AssetCheckResult]:
    """Every check failed, for want of an answer to judge."""
    for expectation in expectations:
        yield AssetCheckResult(
            asset_key=question.target(expectation),
            check_name=expectation.name,
            passed=False,
            severity=AssetCheckSeverity.WARN,
            description=f"Question {question.name!r} {why}: materialize "
            f"{question.asset_key.to_user_string()} first.",
        )


__all__ = ["build_named_asset_checks"]
