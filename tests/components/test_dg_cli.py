"""The `dg` command line on a copy of the example project and on broken projects, as CI
runs it.

The runs (`_dg.launch`) start together, with the first test here, and each test waits for
the one it reads. They start no earlier: the machine's cores are busy with the other
tests by then, and a worker that would start them for tests it does not run (xdist deals
out whole files) wastes ~30 CPU s.
"""

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from ._dg import DgRun, launch, stop


@pytest.fixture(scope="module")
def dg_runs(
    tmp_path_factory: pytest.TempPathFactory, dbt_project_dir: Path
) -> Iterator[dict[str, DgRun]]:
    runs = launch(tmp_path_factory.mktemp("dg"), dbt_project_dir)
    yield runs
    stop(runs)


def defs_yaml_of(project: Path) -> str:
    return str(project / "src" / project.name / "defs" / "dot" / "defs.yaml")


def test_check_defs_passes_on_the_example_project_without_secrets(
    dg_runs: dict[str, DgRun],
) -> None:
    """No DOT_API_KEY (or any DOT_* variable): secrets are read when a run starts."""
    run = dg_runs["example"]
    assert run.returncode == 0, run.output
    assert "All definitions loaded successfully" in run.output


def test_check_defs_points_at_yaml_mistakes_before_loading_code(dg_runs: dict[str, DgRun]) -> None:
    run = dg_runs["yaml_mistakes"]
    assert run.returncode == 1, run.output
    where = defs_yaml_of(run.cwd)
    assert f"{where}:7" in run.output and "max_atempts" in run.output, run.output
    assert f"{where}:10 - dot_orchestration.DotComponent attributes.upstream" in run.output
    assert "'dbt' is not of type 'array'" in run.output, run.output
    assert f"{where}:15 - dot_orchestration.DotComponent attributes.sync.connections.0" in (
        run.output
    )
    assert "'dbt_selct' was unexpected" in run.output, run.output


def test_check_defs_names_an_unknown_dbt_model(dg_runs: dict[str, DgRun]) -> None:
    run = dg_runs["unknown_model"]
    assert run.returncode == 1, run.output
    assert f"{defs_yaml_of(run.cwd)}:15 - attributes.sync.connections.0.dbt_select" in run.output
    assert "dbt selection 'orderz' matches no dbt model" in run.output


def test_list_components_shows_the_dot_component(dg_runs: dict[str, DgRun]) -> None:
    assert "dot_orchestration.DotComponent" in listed_components(dg_runs)


def test_list_components_shows_the_dbt_component(dg_runs: dict[str, DgRun]) -> None:
    assert "dot_orchestration.DotDbtProjectComponent" in listed_components(dg_runs)


def listed_components(dg_runs: dict[str, DgRun]) -> set[str]:
    """What `dg list components` found through the `dagster_dg_cli.registry_modules` entry
    point and `dir(dot_orchestration)` (its lazy names)."""
    run = dg_runs["list"]
    assert run.returncode == 0, run.output
    return {item["key"] for item in json.loads(run.output[run.output.index("{") :])["items"]}
