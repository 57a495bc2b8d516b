"""The `questions` section: the component's YAML gives what `build_dot_question_definitions`
gives in Python, the same `DotQuestion`s and the same assets, checks, schedules and sensors.
"""

from pathlib import Path

import pytest
import yaml
from dagster import AssetKey, Definitions, EnvVar, ResolutionContext
from dagster.components.testing import DefsFolderSandbox

from dot_orchestration.components import DotComponent
from dot_orchestration.components._yaml import YamlFront
from dot_orchestration.components.scaffolder import DotScaffoldParams, render_defs_yaml
from dot_orchestration.emulator import EmulatorServer
from dot_orchestration.questions import (
    DotQuestion,
    DuckDBQuery,
    NumberExpectation,
    PhraseExpectation,
    TablesExpectation,
    build_dot_question_definitions,
)
from dot_orchestration.resources import DotResource

from ._support import DOT_TYPE, WORKSPACE, write_dot_yaml

SYNC = AssetKey(["dot", "sync", "duckdb", "dot_demo"])


def questions_yaml(warehouse: Path) -> str:
    return (
        WORKSPACE
        + f"""\
upstream: [dbt]
questions:
  - name: weekly_revenue
    question: Summarize revenue of the last week
    cron: "0 7 * * 1"
    timezone: Europe/Berlin
    labels: [dagster, weekly]
  - name: revenue_last_month
    question: What was the revenue last month?
    mode: balanced
    deps: [dot/sync/duckdb/dot_demo]
    timeout_s: 120
    expect:
      - kind: number
        name: matches_daily_revenue
        asset: daily_revenue
        sql: select sum(revenue) from daily_revenue
        warehouse:
          path: "{warehouse}"
        relative_tolerance: 0.01
      - kind: phrases
        name: no_apology
        forbidden: [sorry]
      - kind: tables
        name: reads_daily_revenue
        tables: [daily_revenue]
"""
    )


def python_questions(warehouse: Path) -> tuple[DotQuestion, ...]:
    return (
        DotQuestion(
            name="weekly_revenue",
            question="Summarize revenue of the last week",
            cron="0 7 * * 1",
            timezone="Europe/Berlin",
            labels=("dagster", "weekly"),
        ),
        DotQuestion(
            name="revenue_last_month",
            question="What was the revenue last month?",
            mode="balanced",
            deps=(SYNC,),
            timeout_s=120,
            expect=(
                NumberExpectation(
                    name="matches_daily_revenue",
                    asset=AssetKey("daily_revenue"),
                    sql="select sum(revenue) from daily_revenue",
                    warehouse=DuckDBQuery(path=warehouse),
                    relative_tolerance=0.01,
                ),
                PhraseExpectation(name="no_apology", forbidden=("sorry",)),
                TablesExpectation(name="reads_daily_revenue", tables=("daily_revenue",)),
            ),
        ),
    )


def test_the_yaml_questions_are_the_python_questions(
    project: DefsFolderSandbox, dot_env: EmulatorServer, tmp_path: Path
) -> None:
    warehouse = tmp_path / "warehouse.duckdb"
    write_dot_yaml(project, questions_yaml(warehouse))
    python = python_questions(warehouse)

    with project.build_component_tree() as tree:
        component = tree.load_component("dot", DotComponent)
        yaml_defs = tree.build_defs()

    assert tuple(component.questions) == python
    dot = DotResource(api_token=EnvVar("DOT_API_KEY"), base_url=dot_env.url)
    own = Definitions.merge(
        build_dot_question_definitions(python), Definitions(resources={"dot": dot})
    )
    assert_same_definitions(yaml_defs, own)


def assert_same_definitions(yaml_defs: Definitions, python_defs: Definitions) -> None:
    """The questions' assets (with their upstream), checks, schedules and sensors."""
    yaml_repo, python_repo = yaml_defs.get_repository_def(), python_defs.get_repository_def()
    keys = {key for key in python_repo.asset_graph.materializable_asset_keys}
    assert keys == {
        AssetKey(["dot", "questions", q]) for q in ("weekly_revenue", "revenue_last_month")
    }
    for key in keys:
        ours, theirs = yaml_repo.asset_graph.get(key), python_repo.asset_graph.get(key)
        assert set(ours.parent_keys) == set(theirs.parent_keys), key
        assert (ours.group_name, ours.automation_condition) == (
            theirs.group_name,
            theirs.automation_condition,
        ), key
    assert python_repo.asset_graph.asset_check_keys == {
        key for key in yaml_repo.asset_graph.asset_check_keys if key.name in CHECK_NAMES
    }
    assert {s.name for s in yaml_repo.schedule_defs} == {s.name for s in python_repo.schedule_defs}
    assert {s.name for s in yaml_repo.sensor_defs} >= {s.name for s in python_repo.sensor_defs}
    assert {s.name for s in python_repo.sensor_defs} == {"dot_question_automation"}


CHECK_NAMES = {"matches_daily_revenue", "no_apology", "reads_daily_revenue"}


def test_the_scaffolded_questions_uncommented_are_questions(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """What `dg scaffold` shows, commented out, is a valid `questions` section."""
    monkeypatch.setenv("DOT_DEMO_DUCKDB_PATH", str(tmp_path / "warehouse.duckdb"))
    lines = render_defs_yaml(DOT_TYPE, DotScaffoldParams(), dbt="dbt").splitlines()
    start = lines.index("  # questions:")
    end = lines.index("", start)
    section = yaml.safe_load("\n".join(line.removeprefix("  # ") for line in lines[start:end]))
    front = YamlFront.of(DotQuestion)
    items = [front.model.model_validate(item) for item in section["questions"]]

    summary, checked = front.resolve_list(ResolutionContext.default(), items)

    assert summary.cron == "0 7 * * 1"
    (number,) = checked.expect
    assert isinstance(number, NumberExpectation)
    assert number.warehouse.path == tmp_path / "warehouse.duckdb"
    assert checked.target(number) == AssetKey("daily_revenue")
