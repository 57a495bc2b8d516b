"""A temporary `dg` project holding the example's dbt component, the env, the emulators.

Each test scaffolds or writes a `DotComponent` `defs.yaml` next to the dbt component and
loads the project with Dagster's component testing helpers, as `dg` would. The Dot token
and URLs reach the YAML through environment variables only, like in a deployment.
"""

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from dagster import DagsterInstance
from dagster.components.testing import DefsFolderSandbox

from dot_demo.definitions import ExampleSettings, prepared_dbt_project
from dot_orchestration.emulator import EmulatorServer
from dot_orchestration.emulator.confluence import ConfluenceEmulatorServer

from ._support import dbt_sandbox, set_confluence_env, set_dot_env


@pytest.fixture(scope="session")
def dbt_project_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A private copy of the example dbt project, parsed: the dbt component reads its
    manifest at load, and other tests (and `dg check defs` on the example) re-parse the
    original while these run."""
    prepared = prepared_dbt_project(ExampleSettings())
    copy = tmp_path_factory.mktemp("dbt") / "dbt_project"
    shutil.copytree(
        prepared.project_dir, copy, ignore=shutil.ignore_patterns("target", "logs", "*.duckdb")
    )
    (copy / "target").mkdir()
    shutil.copy2(prepared.manifest_path, copy / "target" / "manifest.json")
    return copy


@pytest.fixture
def dot_env(dot_emulator: EmulatorServer, monkeypatch: pytest.MonkeyPatch) -> EmulatorServer:
    """The emulator, reset, and the environment of `set_dot_env`."""
    set_dot_env(monkeypatch, dot_emulator)
    return dot_emulator


@pytest.fixture
def project(dbt_project_dir: Path) -> Iterator[DefsFolderSandbox]:
    """A project of `dbt_sandbox`, this test's own."""
    with dbt_sandbox(dbt_project_dir) as sandbox:
        yield sandbox


@pytest.fixture
def confluence_env(
    confluence_server: ConfluenceEmulatorServer, monkeypatch: pytest.MonkeyPatch
) -> ConfluenceEmulatorServer:
    """The Confluence emulator, reset, and the environment of `set_confluence_env`."""
    confluence_server.state.reset()
    set_confluence_env(monkeypatch, confluence_server)
    return confluence_server


@pytest.fixture
def instance(session_instance: DagsterInstance) -> DagsterInstance:
    """The worker's shared SQLite instance (one events database for every run); the tests
    read their own runs' results."""
    return session_instance
