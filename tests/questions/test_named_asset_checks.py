"""Checks on the assets a question names: Dot's answer judged on the dbt model it comes
from, in a step after the question, never blocking."""

from collections.abc import Callable
from pathlib import Path

import pytest
from dagster import (
    AssetCheckKey,
    AssetCheckSeverity,
    AssetKey,
    AssetMaterialization,
    AssetsDefinition,
    AssetSelection,
    DagsterInstance,
    Definitions,
    ExecuteInProcessResult,
    asset,
    evaluate_automation_conditions,
    materialize,
)
from dagster._core.definitions.declarative_automation.automation_condition_tester import (
    EvaluateAutomationConditionsResult,
)
from pydantic import ValidationError

from dot_orchestration.emulator import ADMIN_TOKEN, EmulatorServer
from dot_orchestration.questions import (
    DotQuestion,
    DuckDBQuery,
    NumberExpectation,
    build_dot_question_definitions,
)
from dot_orchestration.resources import DotResource

from .conftest import TRUTH_SQL, build_warehouse, checks

MODEL = AssetKey(["dbt", "daily_revenue"])


def question_on_the_model(warehouse: Path) -> DotQuestion:
    check = NumberExpectation(
        name="dot_revenue_matches_orders",
        asset=MODEL,
        sql=TRUTH_SQL,
        warehouse=DuckDBQuery(path=warehouse),
        relative_tolerance=0.01,
    )
    return DotQuestion(
        name="revenue_last_month",
        question="What was revenue last month?",
        deps=(MODEL,),
        expect=(check,),
    )


def model_asset(warehouse: Path, factor: dict[str, float]) -> AssetsDefinition:
    @asset(key=MODEL)
    def daily_revenue() -> None:
        build_warehouse(warehouse, model_factor=factor["value"])

    return daily_revenue


def runner(
    server: EmulatorServer, defs: Definitions, *others: AssetsDefinition
) -> Callable[..., ExecuteInProcessResult]:
    def run(instance: DagsterInstance | None = None) -> ExecuteInProcessResult:
        dot = DotResource(api_token=ADMIN_TOKEN, base_url=server.url)
        every = [*others, *(defs.assets or ()), *(defs.asset_checks or ())]
        return materialize(every, resources={"dot": dot}, instance=instance, raise_on_error=False)

    return run


def test_a_model_change_shows_on_the_model_and_holds_nothing_back(
    data_dot: EmulatorServer, warehouse: Path
) -> None:
    factor = {"value": 1.0}
    defs = build_dot_question_definitions([question_on_the_model(warehouse)])

    @asset(deps=[MODEL])
    def revenue_dashboard() -> None:
        """Reads the model, not Dot."""

    run = runner(data_dot, defs, model_asset(warehouse, factor), revenue_dashboard)
    good = checks(run())["dot_revenue_matches_orders"]
    assert good.passed and good.asset_key == MODEL

    factor["value"] = 1.1
    result = run()
    broken = checks(result)["dot_revenue_matches_orders"]
    assert not broken.passed and broken.asset_key == MODEL
    assert broken.severity == AssetCheckSeverity.WARN
    assert broken.metadata["dot_value"].value == pytest.approx(3080.0)
    assert broken.metadata["sql_value"].value == 2800.0
    assert broken.metadata["tolerance"].value == pytest.approx(28.0)
    built = {event.asset_key for event in result.get_asset_materialization_events()}
    assert AssetKey("revenue_dashboard") in built  # a warning: nothing downstream waits

    factor["value"] = 1.0
    assert checks(run())["dot_revenue_matches_orders"].passed


def test_the_check_judges_the_answer_the_question_recorded(
    data_dot: EmulatorServer, warehouse: Path
) -> None:
    """Run alone, the check reads the latest answer back from Dot; without one, it fails
    saying the question has not been answered."""
    defs = build_dot_question_definitions([question_on_the_model(warehouse)])
    instance = DagsterInstance.ephemeral()
    dot = DotResource(api_token=ADMIN_TOKEN, base_url=data_dot.url)
    named = list(defs.asset_checks or ())

    def check_alone() -> ExecuteInProcessResult:
        selection = AssetSelection.all_asset_checks()
        return materialize(named, selection=selection, resources={"dot": dot}, instance=instance)

    alone = checks(check_alone())
    unanswered = alone["dot_revenue_matches_orders"]
    assert not unanswered.passed
    assert "has not been answered yet" in (unanswered.description or "")

    materialize(list(defs.assets or ()), resources={"dot": dot}, instance=instance)
    build_warehouse(warehouse, model_factor=1.1)  # Dot's recorded answer is not asked again
    judged = checks(check_alone())
    assert judged["dot_revenue_matches_orders"].passed
    assert judged["dot_revenue_matches_orders"].metadata["dot_value"].value == 2800.0


def test_automation_checks_the_answer_with_the_question_and_after_it_updates(
    data_dot: EmulatorServer, warehouse: Path
) -> None:
    """The model updated: the question is asked and its answer checked, in one run (the
    check after the question). The question materialized some other way (by hand, say):
    the check runs on the next tick. A run that asked and checked is not checked again."""
    model = model_asset(warehouse, {"value": 1.0})
    defs = Definitions.merge(
        build_dot_question_definitions(
            [question_on_the_model(warehouse).model_copy(update={"cron": "0 7 * * 1"})]
        ),
        Definitions(
            assets=[model],
            resources={"dot": DotResource(api_token=ADMIN_TOKEN, base_url=data_dot.url)},
        ),
    )
    (sensor,) = defs.sensors or ()  # the schedule's job asks and checks, too
    assert sensor.name == "dot_question_automation"
    instance = DagsterInstance.ephemeral()
    check = AssetCheckKey(MODEL, "dot_revenue_matches_orders")
    question = AssetKey(["dot", "questions", "revenue_last_month"])

    first = evaluate_automation_conditions(defs=defs, instance=instance)
    instance.report_runless_asset_event(AssetMaterialization(MODEL))
    after_model = evaluate_automation_conditions(defs=defs, instance=instance, cursor=first.cursor)
    assert requested(after_model) == {question, check}
    instance.report_runless_asset_event(AssetMaterialization(question))
    after_question = evaluate_automation_conditions(
        defs=defs, instance=instance, cursor=after_model.cursor
    )
    assert requested(after_question) == {check}

    scheduled = defs.resolve_job_def("revenue_last_month_job").execute_in_process(instance=instance)
    assert set(checks(scheduled)) == {"dot_revenue_matches_orders"}
    after_both = evaluate_automation_conditions(
        defs=defs, instance=instance, cursor=after_question.cursor
    )
    assert requested(after_both) == set()


def requested(result: EvaluateAutomationConditionsResult) -> set[AssetKey | AssetCheckKey]:
    return {evaluation.key for evaluation in result.results if evaluation.true_subset.size}


def test_a_check_on_another_asset_cannot_block(warehouse: Path) -> None:
    with pytest.raises(ValidationError, match="cannot be blocked"):
        NumberExpectation(
            name="x",
            asset="dbt/daily_revenue",
            blocking=True,
            sql="select 1",
            warehouse=DuckDBQuery(path=warehouse),
        )
