"""A question as an asset: answer, table, link and latency land; a clarifying question, a
timeout and a 5xx each end in their own way and name the conversation."""

from pathlib import Path

import httpx
import pytest
import yaml
from dagster import (
    AssetKey,
    AssetsDefinition,
    ExecuteInProcessResult,
    MarkdownMetadataValue,
    MetadataValue,
    TableMetadataValue,
    UrlMetadataValue,
)
from dagster._core.execution.plan.objects import StepFailureData
from pydantic import ValidationError

from dot_orchestration.emulator import EmulatorConfig, EmulatorServer
from dot_orchestration.questions import (
    DotQuestion,
    DuckDBQuery,
    NumberExpectation,
    PhraseExpectation,
    build_dot_question_definitions,
)

from .conftest import RULES, Run, build_warehouse

REVENUE = DotQuestion(name="revenue_last_month", question="What was revenue last month?")
KEY = AssetKey(["dot", "questions", "revenue_last_month"])


def materialization_metadata(
    result: ExecuteInProcessResult, key: AssetKey = KEY
) -> dict[str, MetadataValue]:
    (event,) = result.get_asset_materialization_events()
    assert event.asset_key == key
    return dict(event.materialization.metadata)


def step_failure(result: ExecuteInProcessResult) -> StepFailureData:
    assert not result.success
    (event,) = result.get_step_failure_events()
    failure = event.step_failure_data
    assert failure.user_failure_data is not None and failure.error is not None
    return failure


def set_faults(server: EmulatorServer, *rules: dict[str, object]) -> None:
    httpx.put(f"{server.url}/_emulator/faults", json={"rules": list(rules)}).raise_for_status()


def test_the_asset_lands_answer_table_and_link(data_dot: EmulatorServer, run: Run) -> None:
    question = REVENUE.model_copy(update={"question": "Show revenue by day", "name": "by_day"})
    result = run(data_dot, question)
    assert result.success
    metadata = materialization_metadata(result, AssetKey(["dot", "questions", "by_day"]))
    assert metadata["dot/outcome"].value == "answered"
    answer = metadata["dot/answer"]
    assert isinstance(answer, MarkdownMetadataValue)
    assert answer.value == "Revenue was highest on 2025-02-01; here are all 28 days."
    table = metadata["dot/table"]
    assert isinstance(table, TableMetadataValue)
    assert [column.name for column in table.schema.columns] == ["day", "revenue"]
    assert [column.type for column in table.schema.columns] == ["string", "number"]
    assert len(table.records) == 28 and table.records[0].data == {
        "day": "2025-02-01",
        "revenue": 100.0,
    }
    sql = "select day, revenue from daily_revenue order by day"
    assert metadata["dot/sql"].value == f"```sql\n{sql}\n```"
    chat_id = metadata["dot/chat_id"].value
    link = metadata["dot/url"]
    assert isinstance(link, UrlMetadataValue) and link.value.endswith(f"/?c={chat_id}")
    assert metadata["dot/charts"].value == f"- [Revenue by day]({link.value})"
    assert metadata["dot/mode"].value == "economy"
    assert 0 <= metadata["dot/latency_s"].value < 10
    # asked once, in economy mode, with the client's chat id; then labelled
    chat = data_dot.state.chats.get(chat_id)
    assert chat.labels == ["dagster"]
    assert chat.messages[-1]["additional_data"]["mode"] == "economy"
    asked = [e for e in data_dot.state.journal.entries() if e["path"] == "/api/agentic"]
    assert len(asked) == 1


def test_an_answer_that_outlasts_the_request_is_read_from_the_conversation(
    data_dot: EmulatorServer, run: Run
) -> None:
    """Dot answers, but its reply to the agentic call comes after the read timeout: the
    asset polls the conversation and finds the answer, without asking again."""
    set_faults(
        data_dot,
        {
            "method": "POST",
            "path": "/api/agentic",
            "kind": "timeout",
            "latency_ms": 3000,
            "phase": "after",
        },
    )
    question = REVENUE.model_copy(update={"timeout_s": 1.0, "poll_interval_s": 0.1})
    result = run(data_dot, question)
    assert result.success
    metadata = materialization_metadata(result)
    assert metadata["dot/answer"].value == "Revenue last month was $2,800.00 over 28 days."
    asked = [e for e in data_dot.state.journal.entries() if e["path"] == "/api/agentic"]
    assert len(asked) == 1


def test_a_clarifying_question_is_its_own_outcome(data_dot: EmulatorServer, run: Run) -> None:
    question = DotQuestion(name="vague", question="How are we doing?")
    result = run(data_dot, question)
    assert result.success
    metadata = materialization_metadata(result, AssetKey(["dot", "questions", "vague"]))
    assert metadata["dot/outcome"].value == "clarifying_question"
    assert metadata["dot/answer"].value.startswith("Which metric do you mean?")
    assert "dot/table" not in metadata
    assert metadata["dot/chat_id"].value


def test_no_answer_within_the_budget_is_a_timeout_naming_the_chat(
    slow_dot: EmulatorServer, run: Run
) -> None:
    question = REVENUE.model_copy(update={"timeout_s": 1.0, "poll_interval_s": 0.2})
    failure = step_failure(run(slow_dot, question))
    assert failure.error.cls_name == "DotQuestionTimeoutError"
    chat_id = failure.user_failure_data.metadata["dot/chat_id"].value
    assert slow_dot.state.chats.is_live(chat_id)  # Dot has the question: it may still answer
    assert f"chat {chat_id}" in failure.user_failure_data.description
    assert "within 1 s" in failure.user_failure_data.description


def test_a_5xx_is_a_server_error_naming_the_chat(data_dot: EmulatorServer, run: Run) -> None:
    set_faults(
        data_dot,
        {
            "method": "POST",
            "path": "/api/agentic",
            "kind": "status",
            "status": 502,
            "phase": "after",
        },
    )
    failure = step_failure(run(data_dot, REVENUE))
    assert failure.error.cls_name == "DotQuestionServerError"
    chat_id = failure.user_failure_data.metadata["dot/chat_id"].value
    assert data_dot.state.chats.is_live(chat_id)
    assert "HTTP 502" in failure.user_failure_data.description
    assert f"chat {chat_id}" in failure.user_failure_data.description
    asked = [e for e in data_dot.state.journal.entries() if e["path"] == "/api/agentic"]
    assert len(asked) == 1  # never re-sent: a second POST would be a second conversation


@pytest.mark.parametrize("dep", ["dbt/daily_revenue", AssetKey(["dbt", "daily_revenue"])])
def test_deps_are_upstream_and_a_cron_is_a_schedule(dep: str | AssetKey) -> None:
    question = DotQuestion(
        name="weekly", question="Revenue last week?", deps=(dep,), cron="0 7 * * 1"
    )
    defs = build_dot_question_definitions([question])
    (asset,) = defs.assets or ()
    assert isinstance(asset, AssetsDefinition)
    (spec,) = asset.specs
    assert [dep.asset_key for dep in spec.deps] == [AssetKey(["dbt", "daily_revenue"])]
    assert spec.automation_condition is not None
    assert [sensor.name for sensor in defs.sensors or ()] == ["dot_question_automation"]
    (schedule,) = defs.schedules or ()
    assert (schedule.name, schedule.cron_schedule) == ("weekly_schedule", "0 7 * * 1")


def test_a_5xx_while_polling_names_the_chat_too(data_dot: EmulatorServer, run: Run) -> None:
    """The agentic call outlasts its read timeout; reading the conversation then fails."""
    set_faults(
        data_dot,
        {
            "method": "POST",
            "path": "/api/agentic",
            "kind": "timeout",
            "latency_ms": 3000,
            "phase": "after",
        },
        {"method": "GET", "path": "/api/c2/*", "kind": "status", "status": 503},
    )
    question = REVENUE.model_copy(update={"timeout_s": 1.0})
    failure = step_failure(run(data_dot, question, max_attempts=1))
    assert failure.error.cls_name == "DotQuestionServerError"
    chat_id = failure.user_failure_data.metadata["dot/chat_id"].value
    assert data_dot.state.chats.is_live(chat_id)
    assert f"HTTP 503 (chat {chat_id})" in failure.user_failure_data.description


def test_a_question_asks_in_its_environment(data_dot: EmulatorServer, run: Run) -> None:
    result = run(data_dot, REVENUE.model_copy(update={"environment": "staging"}))
    chat_id = materialization_metadata(result)["dot/chat_id"].value
    assert data_dot.state.chats.get(chat_id).environment == "staging"

    failure = step_failure(run(data_dot, REVENUE.model_copy(update={"environment": "nope"})))
    assert failure.error.cls_name == "DotQuestionError"
    assert "dot/chat_id" not in failure.user_failure_data.metadata
    assert "(nothing was asked)" in failure.user_failure_data.description
    assert "'nope'" in failure.user_failure_data.description


def test_yaml_and_python_make_the_same_question() -> None:
    """The settings class is what a YAML `questions:` list validates into."""
    from_yaml = DotQuestion.model_validate(
        yaml.safe_load(
            """
            name: revenue_last_month
            question: What was revenue last month?
            mode: balanced
            deps: [dbt/daily_revenue]
            cron: "0 7 * * 1"
            expect:
              - {kind: number, name: matches_orders, sql: select 1,
                 warehouse: {path: w.duckdb}, relative_tolerance: 0.01}
              - {kind: phrases, name: no_failure, forbidden: [could not], blocking: false}
            """
        )
    )
    from_python = DotQuestion(
        name="revenue_last_month",
        question="What was revenue last month?",
        mode="balanced",
        deps=(AssetKey(["dbt", "daily_revenue"]),),
        cron="0 7 * * 1",
        expect=(
            NumberExpectation(
                name="matches_orders",
                sql="select 1",
                warehouse=DuckDBQuery(path=Path("w.duckdb")),
                relative_tolerance=0.01,
            ),
            PhraseExpectation(name="no_failure", forbidden=("could not",), blocking=False),
        ),
    )
    assert from_yaml == from_python
    with pytest.raises(ValidationError, match="Extra inputs"):
        DotQuestion.model_validate({"name": "q", "question": "?", "shedule": "daily"})


def test_the_asset_reads_only_what_dots_documents(warehouse: Path, run: Run) -> None:
    """Against the strict profile (no guessed fields), the answer, table and link land."""
    build_warehouse(warehouse)
    config = EmulatorConfig(
        seed=42, strict=True, answer_delay_s=0.0, answer_warehouse=warehouse, answer_rules=RULES
    )
    with EmulatorServer(config, port=0) as strict_dot:
        result = run(strict_dot, REVENUE)
    metadata = materialization_metadata(result)
    assert metadata["dot/answer"].value == "Revenue last month was $2,800.00 over 28 days."
    assert isinstance(metadata["dot/table"], TableMetadataValue)
    assert isinstance(metadata["dot/url"], UrlMetadataValue)
