"""Answers that follow the data: rules answer questions from a DuckDB file at ask time."""

from collections.abc import Iterator
from pathlib import Path

import duckdb
import pytest
from pydantic import ValidationError

from dot_orchestration.cli import main
from dot_orchestration.client import DotClient
from dot_orchestration.emulator import ADMIN_TOKEN, EmulatorConfig, EmulatorServer
from dot_orchestration.emulator.rules import AnswerRule, DataAnswers, load_answer_rules

RULES_YAML = """
rules:
  - pattern: "revenue (last|previous) month"
    sql: |
      select sum(revenue) as revenue, count(*) as days
      from daily_revenue where day >= date '2025-02-01' and day < date '2025-03-01'
    answer: "Revenue last month was ${revenue:,.2f} over {days} days."
    chart: {type: line, x: day, y: revenue}
  - pattern: "revenue by day"
    sql: select day, revenue from daily_revenue order by day
    answer: "Here is revenue for each of {rows} days."
  - pattern: "churn"
    sql: select churn from no_such_table
    answer: "Churn is {churn}."
"""


def write_revenue(warehouse: Path, *, per_day: float) -> None:
    """February 2025 at `per_day` a day, plus one March day that no February rule counts."""
    with duckdb.connect(str(warehouse)) as connection:
        connection.execute(
            "create or replace table daily_revenue (day date, revenue decimal(12, 2))"
        )
        connection.execute(
            "insert into daily_revenue select day::date, ? from "
            "range(date '2025-02-01', date '2025-03-02', interval 1 day) as t(day)",
            [per_day],
        )


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("rules") / "warehouse.duckdb"
    write_revenue(path, per_day=100.0)
    return path


@pytest.fixture(scope="module")
def rules_file(warehouse: Path) -> Path:
    path = warehouse.with_name("rules.yaml")
    path.write_text(RULES_YAML, encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def server(warehouse: Path, rules_file: Path) -> Iterator[EmulatorServer]:
    config = EmulatorConfig(
        seed=42, answer_delay_s=0.0, answer_warehouse=warehouse, answer_rules=rules_file
    )
    with EmulatorServer(config, port=0) as running:
        yield running


@pytest.fixture
def dot(server: EmulatorServer, warehouse: Path) -> Iterator[DotClient]:
    server.state.reset()
    write_revenue(warehouse, per_day=100.0)
    with DotClient(api_token=ADMIN_TOKEN, base_url=server.url) as client:
        yield client


def answer(dot: DotClient, question: str) -> dict:
    """The assistant message answering `question` in a new agentic chat."""
    chat = dot.agentic(question, mode="economy")
    message = chat.messages[-1]
    assert message.role == "assistant"
    return message.model_dump()


def test_a_matching_question_is_answered_from_the_warehouse(dot: DotClient) -> None:
    message = answer(dot, "What was revenue last month?")
    assert message["content"] == "Revenue last month was $2,800.00 over 28 days."
    data = message["additional_data"]
    assert [part["type"] for part in data["formatted_result"]] == ["text", "dataframe", "chart"]
    dataframe = data["assets"][data["formatted_result"][1]["data"]]
    assert dataframe["columns"] == ["revenue", "days"]
    assert dataframe["data"] == [[2800.0, 28]] and dataframe["shape"] == [1, 2]
    assert "from daily_revenue" in dataframe["sql_query"]
    chart = data["assets"][data["formatted_result"][2]["data"]]
    assert (chart["type"], chart["x"], chart["y"]) == ("line", "day", "revenue")
    assert data["dot_url"].endswith(f"/?c={data['chat_id']}")


def test_changing_the_table_changes_the_answer(dot: DotClient, warehouse: Path) -> None:
    assert "$2,800.00" in answer(dot, "Revenue last month, please")["content"]
    write_revenue(warehouse, per_day=150.0)
    assert "$4,200.00" in answer(dot, "Revenue last month, please")["content"]


def test_every_row_lands_in_the_dataframe_and_a_rule_without_chart_draws_none(
    dot: DotClient,
) -> None:
    message = answer(dot, "Show revenue by day")
    assert message["content"] == "Here is revenue for each of 29 days."
    parts = message["additional_data"]["formatted_result"]
    assert [part["type"] for part in parts] == ["text", "dataframe"]
    rows = message["additional_data"]["assets"][parts[1]["data"]]["data"]
    assert rows[0] == ["2025-02-01", 100.0] and len(rows) == 29


def test_a_failing_query_is_reported_in_the_answer(dot: DotClient) -> None:
    message = answer(dot, "What is our churn?")
    assert message["content"].startswith("I could not answer from the warehouse (CatalogException")
    assert [part["type"] for part in message["additional_data"]["formatted_result"]] == ["text"]


def test_a_question_no_rule_matches_gets_the_default_answer(
    dot: DotClient, dot_emulator: EmulatorServer
) -> None:
    """The same question, asked with the same chat id of an emulator without rules, gets
    the same answer: rules change nothing for the questions they do not match."""
    question = "What were orders by region last quarter?"
    ruled = dot.agentic(question, chat_id="same-chat").messages[-1]
    with DotClient(api_token=ADMIN_TOKEN, base_url=dot_emulator.url) as plain:
        default = plain.agentic(question, chat_id="same-chat").messages[-1]
    assert ruled.content == default.content
    assert ruled.additional_data and default.additional_data
    assert ruled.additional_data.assets == default.additional_data.assets


def test_rules_are_read_from_yaml_or_json(rules_file: Path, tmp_path: Path) -> None:
    rules = load_answer_rules(rules_file)
    assert [rule.pattern for rule in rules][:1] == ["revenue (last|previous) month"]
    as_json = tmp_path / "rules.json"
    as_json.write_text('{"rules": [{"pattern": "x", "sql": "select 1", "answer": "one"}]}')
    assert load_answer_rules(as_json) == [AnswerRule(pattern="x", sql="select 1", answer="one")]


def test_rules_need_a_warehouse_and_valid_patterns(rules_file: Path) -> None:
    with pytest.raises(ValidationError, match="set answer_warehouse"):
        EmulatorConfig(answer_rules=rules_file)
    with pytest.raises(ValidationError, match="not a regular expression"):
        AnswerRule(pattern="revenue (", sql="select 1", answer="one")


def test_the_emulator_command_takes_the_rules_and_the_warehouse(
    rules_file: Path, warehouse: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    configs: list[EmulatorConfig] = []

    class Served:
        """Records the config instead of serving it."""

        def __init__(self, config: EmulatorConfig, **_: object) -> None:
            configs.append(config)

        def serve_forever(self, **_: object) -> None:
            return None

    monkeypatch.setattr("dot_orchestration.emulator.EmulatorServer", Served)
    flags = ["--answer-rules", str(rules_file), "--answer-warehouse", str(warehouse)]
    assert main(["emulator", *flags]) == 0
    assert main(["emulator"]) == 0
    with_rules, without = configs
    expected = DataAnswers(warehouse, tuple(load_answer_rules(rules_file)))
    assert with_rules.data_answers() == expected
    assert without.data_answers() is None
