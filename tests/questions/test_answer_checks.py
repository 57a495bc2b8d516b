"""Answer checks: a dbt change that alters revenue makes Dot's number disagree with the SQL's,
and reverting it makes them agree again; phrases; a clarifying answer fails every check."""

from pathlib import Path

import pytest
from dagster import (
    AssetCheckSeverity,
    AssetKey,
    AssetsDefinition,
    ExecuteInProcessResult,
    asset,
    materialize,
)
from pydantic import ValidationError

from dot_orchestration.emulator import ADMIN_TOKEN, EmulatorServer
from dot_orchestration.questions import (
    DotQuestion,
    DuckDBQuery,
    NumberExpectation,
    PhraseExpectation,
    TablesExpectation,
    build_dot_question_definitions,
)
from dot_orchestration.questions.checks import number_in
from dot_orchestration.resources import DotResource

from .conftest import TRUTH_SQL, Run, build_warehouse, checks


def revenue_question(warehouse: Path, **expectation: object) -> DotQuestion:
    check = NumberExpectation(
        name="matches_orders",
        sql=TRUTH_SQL,
        warehouse=DuckDBQuery(path=warehouse),
        relative_tolerance=0.01,
        **expectation,  # type: ignore[arg-type]
    )
    return DotQuestion(
        name="revenue_last_month", question="What was revenue last month?", expect=(check,)
    )


def test_a_model_change_fails_the_check_and_a_revert_passes_it(
    data_dot: EmulatorServer, warehouse: Path, run: Run
) -> None:
    question = revenue_question(warehouse)

    good = checks(run(data_dot, question))["matches_orders"]
    assert good.passed and good.asset_key == AssetKey(["dot", "questions", "revenue_last_month"])
    assert good.metadata["dot_value"].value == good.metadata["sql_value"].value == 2800.0

    build_warehouse(warehouse, model_factor=1.1)  # the dbt change: revenue 10% too high
    broken = checks(run(data_dot, question))["matches_orders"]
    assert not broken.passed and broken.severity == AssetCheckSeverity.ERROR
    assert broken.metadata["dot_value"].value == pytest.approx(3080.0)
    assert broken.metadata["sql_value"].value == 2800.0
    assert broken.metadata["tolerance"].value == pytest.approx(28.0)
    assert broken.metadata["difference"].value == pytest.approx(280.0)
    assert "Dot says 3080, the SQL 2800" in (broken.description or "")

    build_warehouse(warehouse)  # reverted
    assert checks(run(data_dot, question))["matches_orders"].passed


def test_a_tolerance_wide_enough_passes_and_a_warning_does_not_block(
    data_dot: EmulatorServer, warehouse: Path, run: Run
) -> None:
    build_warehouse(warehouse, model_factor=1.1)
    lenient = revenue_question(warehouse, tolerance=300.0)
    assert checks(run(data_dot, lenient))["matches_orders"].passed
    warning = revenue_question(warehouse, blocking=False)
    (asset,) = build_dot_question_definitions([warning]).assets or ()
    assert isinstance(asset, AssetsDefinition)
    (spec,) = asset.check_specs
    assert not spec.blocking
    result = checks(run(data_dot, warning))["matches_orders"]
    assert not result.passed and result.severity == AssetCheckSeverity.WARN


def test_a_pattern_picks_the_number(data_dot: EmulatorServer, warehouse: Path, run: Run) -> None:
    """The first number is the revenue; a pattern can pick another (the days, here)."""
    question = revenue_question(warehouse, pattern=r"over (\d+) days")
    question = question.model_copy(
        update={
            "expect": (
                question.expect[0].model_copy(
                    update={"sql": "select count(distinct day) from orders"}
                ),
            )
        }
    )
    result = checks(run(data_dot, question))["matches_orders"]
    assert result.passed and result.metadata["dot_value"].value == 28.0


def test_phrases(data_dot: EmulatorServer, run: Run) -> None:
    question = DotQuestion(
        name="revenue_last_month",
        question="What was revenue last month?",
        expect=(
            PhraseExpectation(name="says_revenue", required=("revenue", "days")),
            PhraseExpectation(name="no_failure", forbidden=("could not",)),
            PhraseExpectation(name="in_euros", required=("€",), blocking=False),
        ),
    )
    results = checks(run(data_dot, question))
    assert results["says_revenue"].passed and results["no_failure"].passed
    assert not results["in_euros"].passed
    assert results["in_euros"].description == "Dot's answer lacks ['€']."
    assert results["in_euros"].metadata["missing_phrases"].value == ["€"]


def test_a_failing_query_and_a_clarifying_answer_fail_the_check_saying_why(
    data_dot: EmulatorServer, warehouse: Path, run: Run
) -> None:
    question = revenue_question(warehouse).model_copy(
        update={"question": "How are we doing?", "name": "vague"}
    )
    vague = checks(run(data_dot, question))["matches_orders"]
    assert not vague.passed
    assert (vague.description or "").startswith("Dot asked back instead of answering: Which")
    bad_sql = revenue_question(warehouse).model_copy(
        update={
            "expect": (
                revenue_question(warehouse)
                .expect[0]
                .model_copy(update={"sql": "select sum(x) from no_such_table"}),
            )
        }
    )
    failed = checks(run(data_dot, bad_sql))["matches_orders"]
    assert not failed.passed and "CatalogException" in (failed.description or "")
    assert failed.metadata["dot_value"].value == 2800.0


@pytest.mark.parametrize(
    ("text", "pattern", "number"),
    [
        ("Revenue was $2,800.00 over 28 days.", None, 2800.0),
        ("It fell to -3.5% this week", None, -3.5),
        ("No numbers here.", None, None),
        ("Revenue was €1,234 in 2024", r"in (\d{4})", 2024.0),
        ("Revenue was €1,234", r"in (\d{4})", None),
    ],
)
def test_number_in(text: str, pattern: str | None, number: float | None) -> None:
    assert number_in(text, pattern) == number


def test_expectations_are_checked_when_defined(warehouse: Path) -> None:
    with pytest.raises(ValidationError, match="needs a group"):
        revenue_question(warehouse, pattern=r"\d+")
    with pytest.raises(ValidationError, match="give `required` or `forbidden`"):
        PhraseExpectation(name="empty")
    twice = PhraseExpectation(name="same", required=("x",))
    with pytest.raises(ValidationError, match="named twice"):
        DotQuestion(name="q", question="?", expect=(twice, twice))
    with pytest.raises(ValidationError, match="is not a name"):
        PhraseExpectation(name="has space", required=("x",))


def test_tables(data_dot: EmulatorServer, run: Run) -> None:
    question = DotQuestion(
        name="revenue_last_month",
        question="What was revenue last month?",
        expect=(
            TablesExpectation(name="reads_the_model", tables=("DAILY_REVENUE",)),
            TablesExpectation(name="reads_orders", tables=("daily_revenue", "orders")),
        ),
    )
    results = checks(run(data_dot, question))
    assert results["reads_the_model"].passed
    assert "from daily_revenue" in results["reads_the_model"].metadata["sql"].value
    assert not results["reads_orders"].passed
    assert results["reads_orders"].metadata["missing_tables"].value == ["orders"]
    assert results["reads_orders"].description == "Dot's answer did not read ['orders']."


def test_an_answer_without_sql_fails_a_tables_check(data_dot: EmulatorServer, run: Run) -> None:
    check = TablesExpectation(name="reads_the_model", tables=("daily_revenue",))
    question = DotQuestion(name="failing_rule", question="What is churn?", expect=(check,))
    result = checks(run(data_dot, question))["reads_the_model"]
    assert not result.passed
    assert result.description == "Dot's answer shows no SQL: no data part names its query."


def test_after_a_model_change_a_blocking_check_holds_back_what_reads_the_answer(
    data_dot: EmulatorServer, warehouse: Path
) -> None:
    """One run: the model Dot reads, the question after it, a report reading the answer.
    With the model broken, the blocking check fails and the report is not built."""
    factor = {"value": 1.0}

    @asset(key=["dbt", "daily_revenue"])
    def daily_revenue() -> None:
        build_warehouse(warehouse, model_factor=factor["value"])

    question = revenue_question(warehouse).model_copy(update={"deps": ("dbt/daily_revenue",)})
    defs = build_dot_question_definitions([question])

    @asset(deps=[question.asset_key])
    def weekly_report() -> None:
        """Reads Dot's answer."""

    def run_all() -> ExecuteInProcessResult:
        dot = DotResource(api_token=ADMIN_TOKEN, base_url=data_dot.url)
        assets = [daily_revenue, *(defs.assets or ()), weekly_report]
        return materialize(assets, resources={"dot": dot}, raise_on_error=False)

    good = run_all()
    assert good.success and checks(good)["matches_orders"].passed
    assert AssetKey("weekly_report") in materialized(good)

    factor["value"] = 1.1
    broken = run_all()
    assert not checks(broken)["matches_orders"].passed
    assert AssetKey("weekly_report") not in materialized(broken)
    assert AssetKey(["dbt", "daily_revenue"]) in materialized(broken)


def materialized(result: ExecuteInProcessResult) -> set[AssetKey]:
    return {event.asset_key for event in result.get_asset_materialization_events()}
