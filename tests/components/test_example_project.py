"""The example as a dg project defines what the Python example defines.

Same asset keys, same upstream of every asset, same groups, owners and checks, the same
schedules and sensors, and the same freshness on Dot's assets: the components are a
front over the same factories, not a second implementation.
"""

import importlib
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from dagster import AssetCheckKey, AssetKey, Definitions
from dagster.components.core.component_tree import ComponentTree

from dot_demo.definitions import ExampleSettings, build_definitions
from dot_orchestration.catalogue import refresh_dot_exposures
from dot_orchestration.client import DotClient
from dot_orchestration.emulator import ADMIN_TOKEN, EmulatorServer

from ._support import example_copy

QUESTIONS = {
    AssetKey(["dot", "questions", name])
    for name in ("weekly_revenue_summary", "revenue_last_month")
}
#: Dot's "revenue last month" checked on the dbt model it reads.
ANSWER_CHECK = AssetCheckKey(AssetKey("daily_revenue"), "dot_revenue_last_month_matches_orders")


@pytest.fixture
def exposures(dot_env: EmulatorServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Both examples read one exposures file, Dot's (the emulator's) dashboards."""
    state = tmp_path / "dot_exposures.json"
    with DotClient(api_token=ADMIN_TOKEN, base_url=dot_env.url) as client:
        refresh_dot_exposures(client, state)
    monkeypatch.setenv("DOT_EXPOSURES_STATE", str(state))


@pytest.fixture
def example_yaml(
    exposures: None, dbt_project_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Definitions]:
    """The dg example, loaded as `dg` loads it, over the session's parsed dbt project."""
    project = example_copy(tmp_path, dbt_project_dir)
    monkeypatch.syspath_prepend(str(project / "src"))
    try:
        tree = ComponentTree(
            defs_module=importlib.import_module("dot_dg_example.defs"), project_root=project
        )
        yield tree.build_defs()
    finally:
        for name in [m for m in sys.modules if m.startswith("dot_dg_example")]:
            del sys.modules[name]


@pytest.fixture
def example_python(exposures: None) -> Definitions:
    return build_definitions(ExampleSettings.from_env())


def test_the_yaml_example_matches_the_python_example(
    example_yaml: Definitions, example_python: Definitions
) -> None:
    python = example_python.get_repository_def()
    yaml = example_yaml.get_repository_def()

    keys = python.asset_graph.get_all_asset_keys()
    assert yaml.asset_graph.get_all_asset_keys() == keys
    assert any(key.path[:2] == ["dot", "dashboards"] for key in keys)
    assert {key for key in keys if key.path[:2] == ["dot", "questions"]} == QUESTIONS
    for key in keys:
        ours, theirs = yaml.asset_graph.get(key), python.asset_graph.get(key)
        assert set(ours.parent_keys) == set(theirs.parent_keys), key
        assert (ours.group_name, set(ours.owners)) == (theirs.group_name, set(theirs.owners)), key
        if key.path[0] == "dot":  # the dbt models' are the dbt component's, see the README
            assert ours.freshness_policy == theirs.freshness_policy, key
    assert python.asset_graph.asset_check_keys <= yaml.asset_graph.asset_check_keys
    assert ANSWER_CHECK in python.asset_graph.asset_check_keys
    assert {s.name for s in yaml.schedule_defs} == {s.name for s in python.schedule_defs}
    assert {s.name for s in yaml.sensor_defs} == {s.name for s in python.sensor_defs}
