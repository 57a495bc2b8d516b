"""`build_dot_question_definitions`: the one way to wire scheduled questions."""

import operator
from collections.abc import Sequence
from functools import reduce

from dagster import (
    AssetChecksDefinition,
    AssetsDefinition,
    AssetSelection,
    AutomationConditionSensorDefinition,
    DefaultSensorStatus,
    Definitions,
    ScheduleDefinition,
    define_asset_job,
)

from dot_orchestration.questions.asset import build_question_asset, question_spec
from dot_orchestration.questions.named_checks import build_named_asset_checks
from dot_orchestration.questions.settings import DotQuestion


def build_dot_question_definitions(
    questions: Sequence[DotQuestion], *, automation_sensor_name: str = "dot_question_automation"
) -> Definitions:
    """One asset per question (key `dot/questions/<name>`) with the checks of its answer,
    a step checking the answer on the other assets its expectations name, a schedule
    `<name>_schedule` for each question with a `cron`, and, when a question is asked after
    its `deps` or checks other assets, a running sensor evaluating those conditions.

    Merge it with definitions providing `dot` (`DotResource`).
    """
    names = [question.name for question in questions]
    doubled = sorted({name for name in names if names.count(name) > 1})
    if doubled:
        raise ValueError(f"questions named twice: {', '.join(doubled)}")
    assets = [build_question_asset(question, question_spec(question)) for question in questions]
    checks = [build_named_asset_checks(question) for question in questions]
    schedules = [
        _schedule(question, asset, named)
        for question, asset, named in zip(questions, assets, checks, strict=True)
        if question.cron is not None
    ]
    automated = [
        AssetSelection.assets(asset)
        for question, asset in zip(questions, assets, strict=True)
        if question.deps and question.ask_after_deps
    ] + [AssetSelection.checks(named) for named in checks if named is not None]
    sensors = (
        [
            AutomationConditionSensorDefinition(
                automation_sensor_name,
                target=reduce(operator.or_, automated),
                default_status=DefaultSensorStatus.RUNNING,
                minimum_interval_seconds=30,
            )
        ]
        if automated
        else []
    )
    return Definitions(
        assets=assets,
        asset_checks=[named for named in checks if named is not None],
        schedules=schedules,
        sensors=sensors,
    )


def _schedule(
    question: DotQuestion, asset: AssetsDefinition, named: AssetChecksDefinition | None
) -> ScheduleDefinition:
    """The question on its cron, with its checks on other assets after it."""
    assert question.cron is not None  # only questions with a cron have a schedule
    selection: AssetSelection = AssetSelection.assets(asset)
    if named is not None:
        selection |= AssetSelection.checks(named)
    return ScheduleDefinition(
        name=f"{question.name}_schedule",
        job=define_asset_job(
            f"{question.name}_job", selection=selection, description=f"Ask Dot: {question.question}"
        ),
        cron_schedule=question.cron,
        execution_timezone=question.timezone,
        default_status=question.schedule_status,
    )
