"""The suite's shared fixtures: one Dot API emulator for the whole session, fresh for
every test; the Confluence emulator; real Dagster instances; the worker's dbt home.

`dot_emulator_server` is a real uvicorn server on a free loopback port, started once per
session (starting one takes a fraction of a second, but hundreds of tests add up).
`dot_emulator` hands the same server to a test after putting it back to its seeded start:
state, journal and fault rules, so no test sees another test's traffic.

A plugin, not part of conftest.py: `conftest.py` registers it only in a process that runs
tests (its `pytest_sessionstart`), so that pytest-xdist's controller, which imports conftest.py
and runs no test, does not import Dagster and the emulators before starting its workers.
"""

from collections.abc import Iterator
from pathlib import Path

import pytest
from _dbt_builds import DbtHome
from _instances import make_template, sqlite_instance
from dagster import DagsterInstance

from dot_orchestration.emulator import EmulatorConfig, EmulatorServer
from dot_orchestration.emulator.confluence import ConfluenceEmulatorServer


@pytest.fixture(scope="session")
def dot_emulator_server() -> Iterator[EmulatorServer]:
    """The session's Dot emulator (seed 42, default tokens, answers after 0.5 s)."""
    with EmulatorServer(EmulatorConfig(seed=42), port=0) as server:
        yield server


@pytest.fixture
def dot_emulator(dot_emulator_server: EmulatorServer) -> EmulatorServer:
    """The session's Dot emulator, reset to its seeded start for this test."""
    dot_emulator_server.state.reset()
    return dot_emulator_server


@pytest.fixture(scope="session")
def strict_dot_emulator_server() -> Iterator[EmulatorServer]:
    """A second emulator in the strict profile: only what Dot's documentation describes."""
    with EmulatorServer(EmulatorConfig(seed=42, strict=True), port=0) as server:
        yield server


@pytest.fixture
def strict_dot_emulator(strict_dot_emulator_server: EmulatorServer) -> EmulatorServer:
    """The strict-profile emulator, reset to its seeded start for this test."""
    strict_dot_emulator_server.state.reset()
    return strict_dot_emulator_server


@pytest.fixture(params=["default", "strict"])
def any_dot_emulator(request: pytest.FixtureRequest) -> EmulatorServer:
    """Each profile in turn: a main flow that takes this fixture runs against both, so it
    cannot pass by relying on something only the default profile guesses."""
    name = "dot_emulator" if request.param == "default" else "strict_dot_emulator"
    server: EmulatorServer = request.getfixturevalue(name)
    return server


@pytest.fixture(scope="session")
def confluence_server() -> Iterator[ConfluenceEmulatorServer]:
    """The session's Confluence emulator (seeded spaces DATA and ENG)."""
    with ConfluenceEmulatorServer() as server:
        yield server


@pytest.fixture(scope="session")
def instance_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated instance's home that every instance of this worker starts as a copy of."""
    home = tmp_path_factory.mktemp("dagster_template")
    make_template(home)
    return home


@pytest.fixture
def instance(tmp_path: Path, instance_template: Path) -> Iterator[DagsterInstance]:
    """A real (SQLite) Dagster instance of this test's own: no other test's runs, events or
    asset history. Suites that pay for one instance per test too often use
    `session_instance` and keep apart by asset keys."""
    home = tmp_path / "dagster_home"
    home.mkdir()
    with sqlite_instance(home, instance_template) as created:
        yield created


@pytest.fixture(scope="session")
def session_instance(
    tmp_path_factory: pytest.TempPathFactory, instance_template: Path
) -> Iterator[DagsterInstance]:
    """One real (SQLite) Dagster instance per worker; its history is shared by every test
    that uses it, so such a test reads only its own runs' events."""
    with sqlite_instance(tmp_path_factory.mktemp("dagster_home"), instance_template) as created:
        yield created


@pytest.fixture(scope="session")
def dbt_home(tmp_path_factory: pytest.TempPathFactory) -> DbtHome:
    """This worker's DuckDB path and dbt runs folder, shared by its builds of the example
    dbt project so that dbt reuses its parse between them (see `_dbt_builds.py`)."""
    home = DbtHome(tmp_path_factory.mktemp("dbt_home"))
    home.runs_dir.mkdir()
    return home
