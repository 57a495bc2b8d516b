"""The example's answer check catches a dbt change that makes Dot's revenue wrong.

The example's definitions on a home of their own, against an emulator answering from the
warehouse dbt builds (`examples/dot_demo/answer_rules.yaml`), as in `make demo`. A nightly
build with `DOT_DEMO_REVENUE_FAN_OUT` on counts every order of `daily_revenue` twice: the
model builds and its tests pass, Dot reads it, and the check of Dot's "revenue last month"
against `orders` fails with both numbers. The next clean build of the model makes it pass
again. The home is the worker's dbt home, so the builds reuse the worker's dbt parse.
"""

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from _dbt_builds import REVENUE_FAN_OUT, DbtHome, switched_on
from dagster import AssetCheckEvaluation, AssetKey, DagsterInstance, Definitions, JobDefinition

from dot_demo.definitions import ExampleSettings, build_definitions
from dot_demo.demo import ANSWER_RULES, ask_questions
from dot_orchestration.emulator import ADMIN_TOKEN, EmulatorConfig, EmulatorServer
from dot_orchestration.emulator.rules import load_answer_rules

NIGHTLY = "dbt_build_then_dot_sync"
DAILY_REVENUE = AssetKey("daily_revenue")


@pytest.fixture
def example(
    tmp_path: Path, dbt_home: DbtHome, monkeypatch: pytest.MonkeyPatch
) -> Iterator[ExampleSettings]:
    """The example's settings on the worker's dbt home (its warehouse emptied; Dot's
    exposures on `tmp_path`), Dot answering from that warehouse."""
    warehouse = dbt_home.fresh_warehouse()
    config = EmulatorConfig(
        seed=42,
        answer_delay_s=0.0,
        answer_warehouse=warehouse,
        answer_rules=load_answer_rules(ANSWER_RULES),
    )
    with EmulatorServer(config, port=0) as dot:
        env = {"DOT_API_KEY": ADMIN_TOKEN, "DOT_BASE_URL": dot.url}
        env["DOT_DEMO_DUCKDB_PATH"] = str(warehouse)  # dbt's own process reads it too
        env["DOT_EXPOSURES_STATE"] = str(tmp_path / "dot_exposures.json")
        for name, value in env.items():
            monkeypatch.setenv(name, value)
        monkeypatch.delenv("CONFLUENCE_BASE_URL", raising=False)
        yield ExampleSettings(demo_home=dbt_home.root, env=dict(os.environ))


def build_and_ask(
    build: JobDefinition, defs: Definitions, settings: ExampleSettings
) -> AssetCheckEvaluation:
    """A dbt build (`build`, a job of `defs`), then the questions and their checks."""
    instance = DagsterInstance.ephemeral()
    assert build.execute_in_process(instance=instance, raise_on_error=False).success
    (check,) = ask_questions(defs, instance, settings).get_asset_check_evaluations()
    return check


def numbers(check: AssetCheckEvaluation) -> dict[str, float]:
    return {name: value.value for name, value in check.metadata.items() if name != "dot/chat_id"}


@pytest.mark.timeout(600)
def test_a_dbt_change_to_daily_revenue_fails_dots_check_and_a_revert_passes(
    example: ExampleSettings,
) -> None:
    defs = build_definitions(example)
    nightly = defs.resolve_job_def(NIGHTLY)
    rebuild = nightly.get_subset(asset_selection={DAILY_REVENUE})  # the reverted model only

    with switched_on(REVENUE_FAN_OUT):
        broken = build_and_ask(nightly, defs, example)
    assert broken.check_name == "dot_revenue_last_month_matches_orders"
    assert not broken.passed
    wrong = numbers(broken)
    assert wrong["dot_value"] == pytest.approx(2 * wrong["sql_value"])
    assert wrong["tolerance"] == 0.01

    fixed = build_and_ask(rebuild, defs, example)
    assert fixed.passed, fixed.description
    right = numbers(fixed)
    assert right["dot_value"] == pytest.approx(right["sql_value"]) == wrong["sql_value"]
