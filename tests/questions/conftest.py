"""A Dot whose answers follow a real DuckDB warehouse, and a Dot too slow to answer.

The warehouse holds `orders` (one order of $100 a day in February 2025) and the model Dot
reads, `daily_revenue`, built from them. The emulator answers "revenue last month" from
the model at ask time (`EmulatorConfig.answer_rules`), so a change to the model changes
Dot's answer, as a dbt change would, while `orders` stays the truth a check compares with.
"""

from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

import duckdb
import pytest
from dagster import AssetCheckEvaluation, DagsterInstance, ExecuteInProcessResult, materialize

from dot_orchestration.emulator import ADMIN_TOKEN, EmulatorConfig, EmulatorServer
from dot_orchestration.emulator.rules import AnswerRule, ChartRule
from dot_orchestration.questions import DotQuestion, build_dot_question_definitions
from dot_orchestration.resources import DotResource

#: The truth: February 2025's revenue, summed from the orders.
TRUTH_SQL = (
    "select sum(amount) from orders where day >= date '2025-02-01' and day < date '2025-03-01'"
)

RULES = [
    AnswerRule(
        pattern=r"revenue (last|previous) month",
        sql="select sum(revenue) as revenue, count(*) as days from daily_revenue "
        "where day >= date '2025-02-01' and day < date '2025-03-01'",
        answer="Revenue last month was ${revenue:,.2f} over {days} days.",
    ),
    AnswerRule(
        pattern=r"revenue by day",
        sql="select day, revenue from daily_revenue order by day",
        answer="Revenue was highest on {day}; here are all {rows} days.",
        chart=ChartRule(type="line", x="day", y="revenue", title="Revenue by day"),
    ),
    # the model Dot would need is missing: Dot answers, with text alone
    AnswerRule(pattern=r"churn", sql="select churn from customers", answer="Churn is {churn}."),
]


def build_warehouse(warehouse: Path, *, model_factor: float = 1.0) -> None:
    """`orders`, and `daily_revenue` over them; a `model_factor` other than 1 is a dbt
    change that gets revenue wrong (a join fanning out, say)."""
    with duckdb.connect(str(warehouse)) as connection:
        connection.execute(
            "create or replace table orders as select day::date as day, 100.00 as amount "
            "from range(date '2025-02-01', date '2025-03-01', interval 1 day) as t(day)"
        )
        connection.execute(
            "create or replace table daily_revenue as select day, "
            "cast(sum(amount) * ? as decimal(12, 2)) as revenue from orders group by day",
            [model_factor],
        )


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("questions") / "warehouse.duckdb"
    build_warehouse(path)
    return path


@pytest.fixture(scope="module")
def data_dot_server(warehouse: Path) -> Iterator[EmulatorServer]:
    config = EmulatorConfig(
        seed=42, answer_delay_s=0.0, answer_warehouse=warehouse, answer_rules=RULES
    )
    with EmulatorServer(config, port=0) as server:
        yield server


@pytest.fixture
def data_dot(data_dot_server: EmulatorServer, warehouse: Path) -> EmulatorServer:
    """The emulator answering from `warehouse`, both back at their start."""
    data_dot_server.state.reset()
    build_warehouse(warehouse)
    return data_dot_server


@pytest.fixture(scope="module")
def slow_dot() -> Iterator[EmulatorServer]:
    """A Dot that takes a minute for every answer."""
    with EmulatorServer(EmulatorConfig(seed=42, answer_delay_s=60.0), port=0) as server:
        yield server


Run = Callable[..., ExecuteInProcessResult]


@pytest.fixture(scope="module")
def runs_instance() -> Iterator[DagsterInstance]:
    """One ephemeral instance for a module's question runs: making one costs more CPU than
    a small run, and a question asset reads nothing from it (its answer checks judge the
    answer in the asset's own step); each test reads its own run's result."""
    with DagsterInstance.ephemeral() as instance:
        yield instance


@pytest.fixture
def run(runs_instance: DagsterInstance) -> Run:
    """`run(server, *questions, **dot_resource_fields)`: materialize the questions against
    that Dot, on the module's ephemeral instance."""

    def materialize_questions(
        server: EmulatorServer, *questions: DotQuestion, **resource: float
    ) -> ExecuteInProcessResult:
        defs = build_dot_question_definitions(questions)
        dot = DotResource(api_token=ADMIN_TOKEN, base_url=server.url, **resource)
        return materialize(
            list(defs.assets or ()),
            resources={"dot": dot},
            instance=runs_instance,
            raise_on_error=False,
        )

    return materialize_questions


def checks(result: ExecuteInProcessResult) -> dict[str, AssetCheckEvaluation]:
    """The run's check evaluations by check name."""
    evaluations: Sequence[AssetCheckEvaluation] = result.get_asset_check_evaluations()
    return {evaluation.check_name: evaluation for evaluation in evaluations}
