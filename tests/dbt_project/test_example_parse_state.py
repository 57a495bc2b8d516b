"""The example's dbt builds parse only what changed since the build before.

Each build runs in a target folder of its own (`run_target`), where dbt finds no parse
state and would parse the whole project every time: a scheduled build and every test
that builds the example would pay a full parse. The example hands the last build's state
on, and dbt itself decides whether it still matches (dbt's own log says which).
"""

import json
import os
from pathlib import Path

import pytest
from dagster import DagsterInstance, Definitions
from dagster_dbt import DbtCliResource

from dot_demo.definitions import (
    PARTIAL_PARSE,
    ExampleSettings,
    build_example_dbt_assets,
    dbt_executable,
    prepared_dbt_project,
)
from dot_orchestration.emulator import ADMIN_TOKEN, EmulatorServer
from dot_orchestration.resources import DotResource

#: dbt's events (its JSON log) for: the saved parse matched (nothing or some files changed),
#: it did not (a full parse).
PARSE_REUSED = {"PartialParsingSkipParsing", "PartialParsingEnabled"}
FULL_PARSE = "UnableToPartialParse"


def _parse_events(run_dir: Path) -> set[str]:
    """The names of dbt's parsing events in one build's `dbt.log` (JSON lines)."""
    lines = (run_dir / "dbt.log").read_text(errors="replace").splitlines()
    names = {json.loads(line)["info"]["name"] for line in lines if line.startswith("{")}
    return names & (PARSE_REUSED | {FULL_PARSE})


@pytest.mark.timeout(900)  # two dbt builds; minutes of wall time on a loaded machine
def test_the_second_build_reuses_the_first_builds_parse(
    dot_emulator: EmulatorServer,
    instance: DagsterInstance,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("DOT_DEMO_DUCKDB_PATH", str(tmp_path / "warehouse.duckdb"))
    settings = ExampleSettings(demo_home=tmp_path, env=dict(os.environ))
    project = prepared_dbt_project(settings)
    seed = build_example_dbt_assets(
        project, push_run_results=False, select="raw_customers", runs_dir=settings.dbt_runs_dir
    )
    defs = Definitions(
        assets=[seed],
        resources={
            "dbt": DbtCliResource(project_dir=project, dbt_executable=dbt_executable()),
            "dot": DotResource(api_token=ADMIN_TOKEN, base_url=dot_emulator.url),
        },
    )
    job = defs.resolve_implicit_global_asset_job_def()
    for _ in range(2):
        assert job.execute_in_process(instance=instance).success

    _, second = sorted(settings.dbt_runs_dir.glob("dot_demo_dbt-*"), key=os.path.getmtime)
    # The first build may parse in full: the definitions' parse may have had another
    # profile (another DuckDB file). The second matches the first in everything dbt checks.
    assert FULL_PARSE not in _parse_events(second)
    assert _parse_events(second) & PARSE_REUSED
    # kept for the build after: a scheduled build of a deployment parses only what changed
    assert (settings.dbt_runs_dir / PARTIAL_PARSE).exists()
