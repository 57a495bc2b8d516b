"""What a reader has after the README's setup: the emulators in the environment and a
checkout whose example dbt project is parsed (`examples/dbt_project/target/manifest.json`).
"""

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from dot_demo.definitions import dbt_executable
from dot_orchestration.emulator import ADMIN_TOKEN, EmulatorServer
from dot_orchestration.emulator.confluence import DEFAULT_USERS, ConfluenceEmulatorServer

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def checkout(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder laid out like the repository where the snippets need it: the example dbt
    project, parsed once (its DuckDB file stays in that folder) by the dbt the example's
    builds run (the session's, when it chose one: see `dbt_executable`)."""
    root = tmp_path_factory.mktemp("checkout")
    project = root / "examples" / "dbt_project"
    unwanted = shutil.ignore_patterns("target", "logs", "*.duckdb", ".user.yml")
    shutil.copytree(REPO / "examples" / "dbt_project", project, ignore=unwanted)
    parse = [dbt_executable(), "parse", "--quiet", "--project-dir", str(project)]
    env = {**os.environ, "DBT_PROFILES_DIR": str(project)}
    subprocess.run(parse, cwd=project, env=env, check=True, timeout=300)
    return root


@pytest.fixture
def reader_env(
    checkout: Path,
    dot_emulator: EmulatorServer,
    confluence_server: ConfluenceEmulatorServer,
    monkeypatch: pytest.MonkeyPatch,
) -> Path:
    """The environment a snippet reads (both emulators, Cloud credentials for Confluence),
    in the checkout; returns the checkout."""
    confluence_server.state.reset()
    for name in [n for n in os.environ if n.startswith(("DOT_", "CONFLUENCE_"))]:
        monkeypatch.delenv(name)
    analyst = DEFAULT_USERS[0]
    monkeypatch.setenv("DOT_API_KEY", ADMIN_TOKEN)
    monkeypatch.setenv("DOT_BASE_URL", dot_emulator.url)
    monkeypatch.setenv("CONFLUENCE_BASE_URL", confluence_server.url)
    monkeypatch.setenv("CONFLUENCE_EMAIL", analyst.email)
    monkeypatch.setenv("CONFLUENCE_API_TOKEN", analyst.api_token)
    monkeypatch.setenv("DBT_PROFILES_DIR", str(checkout / "examples" / "dbt_project"))
    dbt_folder = Path(dbt_executable()).parent
    monkeypatch.setenv("PATH", f"{dbt_folder}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.chdir(checkout)
    return checkout
