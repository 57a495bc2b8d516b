"""Fixtures of the reliability suite: its own Dot emulator, and one fault-free baseline.

The suite's emulator knows a canary token (`_pipeline.CANARY_TOKEN`) besides the default
ones, so the token-leak scan searches for a string that cannot appear by accident. The
calm run is the example pipeline run once without faults, with header auth: the
fault-injection and scale-out tests compare their end state with it (`baseline`), and the
token-leak test searches everything it left (the run costs a whole pipeline; one serves
both).
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from dot_demo.definitions import ExampleSettings
from dot_orchestration.emulator import EmulatorConfig, EmulatorServer
from dot_orchestration.emulator.confluence import ConfluenceEmulatorServer

from ._pipeline import (
    RELIABILITY_TOKENS,
    Outcome,
    World,
    deployed,
    deployment_env,
    dot_run_config,
    outcome_of,
)
from ._token_scan import DEBUG_PYTHON_LOGS, CalmRun, captured_output, searchable_sources
from ._traffic import Control

#: Seed of the emulator's organisation (history, note ids); faults have their own seeds.
EMULATOR_SEED = 42


@pytest.fixture(scope="session")
def reliability_emulator() -> Iterator[EmulatorServer]:
    """A Dot emulator for this suite only, with the canary token."""
    config = EmulatorConfig(seed=EMULATOR_SEED, tokens=list(RELIABILITY_TOKENS))
    with EmulatorServer(config, port=0) as server:
        yield server


@pytest.fixture(scope="session")
def wiki_emulator() -> Iterator[ConfluenceEmulatorServer]:
    """The Confluence site the example's notes come from (read only by the pipeline)."""
    with ConfluenceEmulatorServer() as server:
        yield server


@pytest.fixture(scope="session")
def dbt_project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the example dbt project with a target directory of its own.

    The manifest in `examples/dbt_project/target` is shared with whoever runs dbt there
    (parsed with other `--vars`, it holds models `dbt build` then skips); the suite parses
    its own copy, once, and leaves the repository's alone.
    """
    copy = tmp_path_factory.mktemp("dbt") / "dbt_project"
    shutil.copytree(
        ExampleSettings().dbt_project_dir, copy, ignore=shutil.ignore_patterns("target", "logs")
    )
    return copy


@pytest.fixture(scope="session")
def world(
    reliability_emulator: EmulatorServer,
    wiki_emulator: ConfluenceEmulatorServer,
    dbt_project: Path,
    tmp_path_factory: pytest.TempPathFactory,
) -> World:
    warehouse = tmp_path_factory.mktemp("warehouse") / "warehouse.duckdb"
    return World(reliability_emulator.url, wiki_emulator.url, dbt_project, warehouse)


@pytest.fixture(scope="session")
def _control_plane(reliability_emulator: EmulatorServer) -> Iterator[Control]:
    control = Control(reliability_emulator.url)
    yield control
    control.close()


@pytest.fixture
def control(_control_plane: Control, wiki_emulator: ConfluenceEmulatorServer) -> Control:
    """The suite Dot emulator's control plane, both emulators reset for this test."""
    _control_plane.reset()
    wiki_emulator.state.reset()
    return _control_plane


@pytest.fixture(scope="session")
def calm_run(
    world: World,
    _control_plane: Control,
    wiki_emulator: ConfluenceEmulatorServer,
    tmp_path_factory: pytest.TempPathFactory,
) -> CalmRun:
    """The example pipeline once, fault-free, header auth, default settings, on an instance
    logging httpx, httpcore and the package at DEBUG into the event log (the token scan's
    setting; it changes what is logged, not what is run or written). Searched while the
    instance is open; stdout and stderr captured as `capfd` would."""
    _control_plane.reset()
    wiki_emulator.state.reset()
    home = tmp_path_factory.mktemp("baseline")
    env = deployment_env(home, world)
    with (
        captured_output() as output,
        deployed(home, env, instance_overrides=DEBUG_PYTHON_LOGS) as deployment,
    ):
        deployment.run()
        outcome = outcome_of(deployment, _control_plane)
        sources = searchable_sources(deployment, dot_run_config())
    sources["stdout/stderr"] = [("stdout", output.out), ("stderr", output.err)]
    return CalmRun(outcome, sources)


@pytest.fixture(scope="session")
def baseline(calm_run: CalmRun) -> Outcome:
    """The calm run's outcome, checked: nothing failed, nothing skipped."""
    outcome = calm_run.outcome
    assert not outcome.failed_steps, f"the fault-free pipeline failed: {outcome.failed_steps}"
    assert not outcome.unmaterialized, f"the pipeline skipped work: {outcome.unmaterialized}"
    return outcome
