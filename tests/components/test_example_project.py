"""The example as a dg project defines what the Python example defines, plus the history.

Same asset keys, same upstream of every asset, same groups and owners: the component is a
front over the same factories, not a second implementation.
"""

import importlib
import sys
from collections.abc import Iterator

import pytest
from dagster import AssetKey, Definitions
from dagster.components.core.component_tree import ComponentTree
from dagster_dbt import DbtProject

from dot_orchestration.definitions import ExampleSettings, build_definitions
from dot_orchestration.emulator import EmulatorServer

from ._support import EXAMPLE_PROJECT


@pytest.fixture
def example_yaml(dot_env: EmulatorServer, monkeypatch: pytest.MonkeyPatch) -> Iterator[Definitions]:
    monkeypatch.syspath_prepend(str(EXAMPLE_PROJECT / "src"))
    # `dg dev` / `dg check defs` parse the dbt project first; loading the tree directly
    # does not, so parse it here as they would (dbt is on PATH through `dot_env`).
    dbt_project = DbtProject(EXAMPLE_PROJECT.parent / "dbt_project")
    dbt_project.preparer.prepare(dbt_project)
    try:
        tree = ComponentTree(
            defs_module=importlib.import_module("dot_dg_example.defs"),
            project_root=EXAMPLE_PROJECT,
        )
        yield tree.build_defs()
    finally:
        for name in [m for m in sys.modules if m.startswith("dot_dg_example")]:
            del sys.modules[name]


def test_the_yaml_example_matches_the_python_example(example_yaml: Definitions) -> None:
    python = build_definitions(ExampleSettings.from_env()).get_repository_def().asset_graph
    yaml = example_yaml.get_repository_def().asset_graph

    yaml_keys = yaml.get_all_asset_keys()
    assert yaml_keys - python.get_all_asset_keys() == {AssetKey(["dot", "history"])}
    assert python.get_all_asset_keys() <= yaml_keys
    for key in python.get_all_asset_keys():
        ours, theirs = yaml.get(key), python.get(key)
        assert set(ours.parent_keys) == set(theirs.parent_keys), key
        assert (ours.group_name, set(ours.owners)) == (theirs.group_name, set(theirs.owners)), key
    assert python.asset_check_keys <= yaml.asset_check_keys
