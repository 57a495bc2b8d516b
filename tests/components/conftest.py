"""A temporary `dg` project holding the example's dbt component, the env, the emulators.

Each test scaffolds or writes a `DotComponent` `defs.yaml` next to the dbt component and
loads the project with Dagster's component testing helpers, as `dg` would. The Dot token
and URLs reach the YAML through environment variables only, like in a deployment.
"""

import os
import shutil
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from dagster import DagsterInstance
from dagster.components.testing import DefsFolderSandbox, create_defs_folder_sandbox
from dagster_dbt import DbtProjectComponent

from dot_demo.definitions import ExampleSettings, prepared_dbt_project
from dot_orchestration.emulator import ADMIN_TOKEN, EmulatorServer
from dot_orchestration.emulator.confluence import DEFAULT_USERS, ConfluenceEmulatorServer

from ._dg import DgRun, launch, stop


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
    """DOT_API_KEY and DOT_BASE_URL point at the emulator, a Teams webhook is set and no
    Slack token; the venv's dbt is on PATH."""
    monkeypatch.setenv("DOT_API_KEY", ADMIN_TOKEN)
    monkeypatch.setenv("DOT_BASE_URL", dot_emulator.url)
    monkeypatch.setenv("PATH", f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setenv("DOT_ALERTS_TEAMS_WEBHOOK_URL", "https://teams.example.com/hook")
    for name in (
        "DOT_REGION",
        "DOT_USER_ID",
        "DOT_AUTH_MODE",
        "DOT_ENVIRONMENT",
        "DOT_ENVIRONMENT_NAME",
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.delenv("DOT_ALERTS_SLACK_TOKEN", raising=False)
    return dot_emulator


@pytest.fixture
def project(dbt_project_dir: Path) -> Iterator[DefsFolderSandbox]:
    """A fresh dg project whose `defs/dbt` is the example dbt project, scaffolded by `dg`'s
    own scaffolder for `DbtProjectComponent`."""
    with create_defs_folder_sandbox() as sandbox:
        sandbox.scaffold_component(
            DbtProjectComponent,
            defs_path="dbt",
            scaffold_params={"project_path": str(dbt_project_dir)},
        )
        yield sandbox


@pytest.fixture
def confluence_env(
    confluence_server: ConfluenceEmulatorServer, monkeypatch: pytest.MonkeyPatch
) -> ConfluenceEmulatorServer:
    """The Confluence emulator, reset, and its analyst's Cloud credentials in the env."""
    confluence_server.state.reset()
    analyst = DEFAULT_USERS[0]
    monkeypatch.setenv("CONFLUENCE_BASE_URL", confluence_server.url)
    monkeypatch.setenv("CONFLUENCE_EMAIL", analyst.email)
    monkeypatch.setenv("CONFLUENCE_API_TOKEN", analyst.api_token)
    return confluence_server


@pytest.fixture
def instance(session_instance: DagsterInstance) -> DagsterInstance:
    """The worker's shared SQLite instance (one events database for every run); the tests
    read their own runs' results."""
    return session_instance


@pytest.fixture(scope="session")
def dg_runs(
    tmp_path_factory: pytest.TempPathFactory, dbt_project_dir: Path
) -> Iterator[dict[str, DgRun]]:
    runs = launch(tmp_path_factory.mktemp("dg"), dbt_project_dir)
    yield runs
    stop(runs)


@pytest.fixture(scope="session", autouse=True)
def _start_dg_early(request: pytest.FixtureRequest) -> None:
    """Start the `dg` subprocesses with the first test here, when any `dg` test is selected."""
    if any(_is_dg_test(item) for item in request.session.items):
        request.getfixturevalue("dg_runs")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The `dg` tests last, so that the in-process tests run while `dg` works."""
    items.sort(key=_is_dg_test)


def _is_dg_test(item: pytest.Item) -> bool:
    return item.path == Path(__file__).with_name("test_dg_cli.py")
