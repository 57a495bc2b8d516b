"""`build_dot_question_definitions`: the one way to wire scheduled questions."""

from collections.abc import Sequence

from dagster import (
    AssetSelection,
    AutomationConditionSensorDefinition,
    DefaultSensorStatus,
    Definitions,
    ScheduleDefinition,
    define_asset_job,
)

from dot_orchestration.questions.asset import build_question_asset, question_spec
from dot_orchestration.questions.settings import DotQuestion


def build_dot_question_definitions(
    questions: Sequence[DotQuestion], *, automation_sensor_name: str = "dot_question_automation"
) -> Definitions:
    """One asset per question (key `dot/questions/<name>`), a schedule
    `<name>_schedule` for each question with a `cron`, and, when a question is asked after
    its `deps`, a running sensor evaluating those conditions.

    Merge it with definitions providing `dot` (`DotResource`).
    """
    names = [question.name for question in questions]
    doubled = sorted({name for name in names if names.count(name) > 1})
    if doubled:
        raise ValueError(f"questions named twice: {', '.join(doubled)}")
    assets = [build_question_asset(question, question_spec(question)) for question in questions]
    schedules = [
        ScheduleDefinition(
            name=f"{question.name}_schedule",
            job=define_asset_job(
                f"{question.name}_job",
                selection=AssetSelection.assets(asset),
                description=f"Ask Dot: {question.question}",
            ),
            cron_schedule=question.cron,
            execution_timezone=question.timezone,
            default_status=question.schedule_status,
        )
        for question, asset in zip(questions, assets, strict=True)
        if question.cron is not None
    ]
    automated = [
        asset
        for question, asset in zip(questions, assets, strict=True)
        if question.deps and question.ask_after_deps
    ]
    sensors = (
        [
            AutomationConditionSensorDefinition(
                automation_sensor_name,
                target=AssetSelection.assets(*automated),
                default_status=DefaultSensorStatus.RUNNING,
                minimum_interval_seconds=30,
            )
        ]
        if automated
        else []
    )
    return Definitions(assets=assets, schedules=schedules, sensors=sensors)
