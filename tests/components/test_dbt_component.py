"""`DotDbtProjectComponent` beside a `DotComponent`: what the dbt assets owe Dot, in YAML.

One dg project for the module: the example dbt project (parsed with its `dot_usage`
models on) under `DotDbtProjectComponent`, and a Dot component exporting the history and
building the usage models after it. The builds are real dbt into the worker's DuckDB file,
emptied for the module, where no export ever runs: building `dot_usage_daily` fails (its
source tables do not exist), which is how one test sees a failed build reach Dot too.
"""

import json
import os
import textwrap
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from _dbt_builds import DbtHome
from dagster import AssetKey, DagsterInstance, DagsterInvalidDefinitionError, Definitions
from dagster.components.core.component_tree import ComponentTreeException
from dagster.components.testing import DefsFolderSandbox, create_defs_folder_sandbox
from dagster_dbt import DbtProjectComponent

from dot_demo.definitions import dbt_executable
from dot_orchestration.emulator import ADMIN_TOKEN, EmulatorServer

from ._support import WORKSPACE, journal, run_assets, spec_of, write_dot_yaml

DBT_TYPE = "dot_orchestration.DotDbtProjectComponent"
RUN_RESULTS = "/api/dbt/run_results"
HISTORY_KEY = AssetKey(["dot", "history"])
#: What the Dot component adds: the history export and, after it, the `dot_usage` models.
HISTORY = """\
upstream: [dbt]
history:
  start_date: 2025-01-01
  warehouse:
    path: "{warehouse}"
  schedule:
    downstream_dbt_select: tag:dot_usage
"""


def write_dbt_yaml(sandbox: DefsFolderSandbox, dbt_project: Path, attributes: str) -> None:
    """`defs/dbt/defs.yaml` of a DotDbtProjectComponent over `dbt_project`."""
    body = textwrap.indent(f"project: {dbt_project}\n{textwrap.dedent(attributes)}", "  ")
    path = sandbox.defs_folder_path / "dbt" / "defs.yaml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f"type: {DBT_TYPE}\n\nattributes:\n{body}", encoding="utf-8")


@dataclass
class Loaded:
    defs: Definitions
    dbt: DbtProjectComponent


@pytest.fixture(scope="module")
def env(dot_emulator_server: EmulatorServer, dbt_home: DbtHome) -> Iterator[None]:
    """The Dot token and URL (the emulator), the example's dbt first on PATH (the
    component runs `dbt`), and for dbt the worker's DuckDB path, emptied, and its runs
    folder, where dagster-dbt finds the parse of an earlier build (`DBT_TARGET_PATH`)."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("DOT_API_KEY", ADMIN_TOKEN)
        patch.setenv("DOT_BASE_URL", dot_emulator_server.url)
        patch.setenv("DOT_DEMO_DUCKDB_PATH", str(dbt_home.fresh_warehouse()))
        patch.setenv("DBT_TARGET_PATH", str(dbt_home.runs_dir))
        dbt = Path(dbt_executable())
        if dbt.is_absolute():  # else `dbt` on PATH already is the example's
            patch.setenv("PATH", str(dbt.parent), prepend=os.pathsep)
        yield


def build(
    loaded: Loaded, keys: list[AssetKey], instance: DagsterInstance, dbt_home: DbtHome
) -> bool:
    """Materialize `keys`; the build's parse is kept for the worker's next build."""
    result = run_assets(loaded.defs, keys, instance)
    dbt_home.keep_parse_of(result.run_id)
    return result.success


@pytest.fixture(scope="module")
def loaded(
    env: None, dbt_project_dir: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Loaded]:
    manifest = json.loads((dbt_project_dir / "target" / "manifest.json").read_text())
    assert "model.dot_demo.dot_usage_daily" in manifest["nodes"], (
        "the dbt project must be parsed with the dot_usage models on (dot_usage_enabled)"
    )
    with create_defs_folder_sandbox() as sandbox:
        write_dbt_yaml(
            sandbox,
            dbt_project_dir,
            """\
            cli_args: [build, {--vars: {dot_usage_enabled: true}}]
            dot_history: {}
            """,
        )
        write_dot_yaml(
            sandbox,
            WORKSPACE
            + HISTORY.format(warehouse=tmp_path_factory.mktemp("history") / "history.duckdb"),
        )
        with sandbox.build_component_tree() as tree:
            yield Loaded(
                defs=tree.build_defs(), dbt=tree.load_component("dbt", DbtProjectComponent)
            )


def test_the_usage_models_are_downstream_of_the_history_export(loaded: Loaded) -> None:
    usage = loaded.dbt.asset_key_for_model("dot_usage_daily")
    keys = loaded.defs.get_repository_def().asset_graph.get_all_asset_keys()

    assert HISTORY_KEY in spec_of(loaded.defs, usage).parent_keys
    assert not {key for key in keys if key.path[0] == "dot_history"}, "no source of its own"
    daily = loaded.defs.get_repository_def().get_job("dot_history_daily_job")
    assert {HISTORY_KEY, usage} <= set(daily.asset_layer.executable_asset_keys)


def test_each_dbt_build_reaches_dot_also_when_it_fails(
    loaded: Loaded, dot_emulator: EmulatorServer, instance: DagsterInstance, dbt_home: DbtHome
) -> None:
    seed, usage = (loaded.dbt.asset_key_for_model(m) for m in ("raw_customers", "dot_usage_daily"))

    assert not build(loaded, [seed, usage], instance, dbt_home), (
        "no export has run: the history tables do not exist"
    )
    (push,) = journal(dot_emulator, RUN_RESULTS)
    statuses = {r["unique_id"]: r["status"] for r in push["body"]["run_results"]["results"]}
    assert push["status"] == 200
    assert statuses["seed.dot_demo.raw_customers"] == "success"
    assert statuses["model.dot_demo.dot_usage_daily"] == "error"
    incidents = dot_emulator.state.space().incidents.incidents()
    assert any(i.source == "dbt" and i.status == "open" for i in incidents), incidents


def test_a_clean_dbt_build_reaches_dot_once(
    loaded: Loaded, dot_emulator: EmulatorServer, instance: DagsterInstance, dbt_home: DbtHome
) -> None:
    seed = loaded.dbt.asset_key_for_model("raw_customers")

    assert build(loaded, [seed], instance, dbt_home)
    (push,) = journal(dot_emulator, RUN_RESULTS)
    statuses = {r["unique_id"]: r["status"] for r in push["body"]["run_results"]["results"]}
    assert (push["status"], statuses) == (200, {"seed.dot_demo.raw_customers": "success"})


def test_the_push_uses_the_dot_resource_of_the_code_location(dbt_project_dir: Path) -> None:
    """Alone, the dbt component needs a `dot` resource (the DotComponent's); without the
    push it needs none."""
    with create_defs_folder_sandbox() as sandbox:
        write_dbt_yaml(sandbox, dbt_project_dir, "")
        missing = pytest.raises(
            DagsterInvalidDefinitionError,
            match=r"resource with key 'dot' required by hook 'dot_push_dbt_run_results\w*' "
            "attached to asset 'dot_demo' was not provided",
        )
        with sandbox.build_all_defs() as defs, missing:
            defs.get_repository_def()
        write_dbt_yaml(sandbox, dbt_project_dir, "push_run_results: false\n")
        with sandbox.build_all_defs() as defs:
            assert defs.get_repository_def().asset_graph.get_all_asset_keys()


@pytest.mark.parametrize(
    ("dot_history", "line", "says"),
    [
        ("dot_history:\n  schema_nam: dot_history\n", 6, "Extra inputs are not permitted"),
        ("dot_history:\n  schema_name: ''\n", 7, "String should have at least 1 character"),
    ],
    ids=["misspelt field", "empty schema"],
)
def test_a_dot_history_mistake_fails_at_its_line(
    dbt_project_dir: Path, dot_history: str, line: int, says: str
) -> None:
    with create_defs_folder_sandbox() as sandbox:
        write_dbt_yaml(sandbox, dbt_project_dir, "push_run_results: false\n" + dot_history)
        with pytest.raises(ComponentTreeException) as raised, sandbox.build_all_defs():
            pass
    error = raised.value.__cause__
    assert f"defs/dbt/defs.yaml:{line}" in str(error) and says in str(error), error
