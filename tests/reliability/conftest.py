"""Fixtures of the reliability suite: its own Dot emulator, and the two pipeline runs the
suite's heavier tests read.

The suite's emulator knows a canary token (`_pipeline.CANARY_TOKEN`) besides the default
ones, so the token-leak scan searches for a string that cannot appear by accident. Each run
costs a whole pipeline, so each is run once and read by every test it concerns:

- the calm run (`_calm`): fault-free, header auth, distributed on Postgres where PostgreSQL
  runs. The scale-out test judges its runs and pools, the fault-injection test compares
  its end state with the hostile run's (`baseline`), the header-auth token scan searches
  what it left;
- the hostile run (`_hostile`): in this process, 20% of Dot's answers failing, a person
  re-running what failed. The fault-injection test judges it, the scale-out test compares
  the distributed end state with its in-process one.

Tests reading either run are one xdist group (tests/conftest.py), so each runs once.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from dot_demo.definitions import ExampleSettings
from dot_orchestration.emulator import EmulatorConfig, EmulatorServer
from dot_orchestration.emulator.confluence import ConfluenceEmulatorServer

from ._calm import CalmRun, run_calm
from ._hostile import HostileRun, run_hostile
from ._pipeline import RELIABILITY_TOKENS, Outcome, World
from ._postgres import PostgresCluster, PostgresUnavailable, start_cluster
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
def postgres() -> Iterator[PostgresCluster | PostgresUnavailable]:
    """A PostgreSQL cluster for this session, removed afterwards; where none can run, the
    reason why."""
    try:
        cluster = start_cluster()
    except PostgresUnavailable as reason:
        yield reason
        return
    try:
        yield cluster
    finally:
        cluster.stop()


@pytest.fixture(scope="session")
def calm_run(
    world: World,
    _control_plane: Control,
    wiki_emulator: ConfluenceEmulatorServer,
    postgres: PostgresCluster | PostgresUnavailable,
    tmp_path_factory: pytest.TempPathFactory,
) -> CalmRun:
    """The example pipeline once, fault-free (`_calm`)."""
    _control_plane.reset()
    wiki_emulator.state.reset()
    cluster = postgres if isinstance(postgres, PostgresCluster) else None
    return run_calm(tmp_path_factory.mktemp("calm"), world, _control_plane, cluster)


@pytest.fixture(scope="session")
def hostile_run(
    calm_run: CalmRun,
    world: World,
    _control_plane: Control,
    wiki_emulator: ConfluenceEmulatorServer,
    tmp_path_factory: pytest.TempPathFactory,
) -> HostileRun:
    """The example pipeline against a hostile Dot, and the person's re-runs (`_hostile`).
    After the calm run, which its readers compare it with."""
    _control_plane.reset()
    wiki_emulator.state.reset()
    return run_hostile(tmp_path_factory.mktemp("hostile"), world, _control_plane)


@pytest.fixture(scope="session")
def baseline(calm_run: CalmRun) -> Outcome:
    """The calm run's outcome, checked: nothing failed, nothing skipped."""
    outcome = calm_run.outcome
    assert not outcome.failed_steps, f"the fault-free pipeline failed: {outcome.failed_steps}"
    assert not outcome.unmaterialized, f"the pipeline skipped work: {outcome.unmaterialized}"
    return outcome
