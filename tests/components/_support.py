"""Paths and helpers of the component tests."""

import os
import shutil
import textwrap
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from dagster import AssetKey, DagsterInstance, Definitions, ExecuteInProcessResult
from dagster.components.testing import DefsFolderSandbox, create_defs_folder_sandbox
from dagster_dbt import DbtProjectComponent

from dot_demo.definitions import dbt_executable
from dot_orchestration.emulator import ADMIN_TOKEN, EmulatorServer
from dot_orchestration.emulator.confluence import DEFAULT_USERS, ConfluenceEmulatorServer

REPO = Path(__file__).resolve().parents[2]
EXAMPLE_PROJECT = REPO / "examples" / "dg_project"
EXAMPLE_CATALOGUE = REPO / "examples" / "dot_catalogue.yaml"
EXAMPLE_DBT_PROJECT = REPO / "examples" / "dbt_project"
DOT_TYPE = "dot_orchestration.DotComponent"

#: The workspace every test file uses: the emulator, through the environment only.
WORKSPACE = """\
workspace:
  api_token: "{{ env.DOT_API_KEY }}"
  base_url: "{{ env.DOT_BASE_URL }}"
  max_attempts: 2
  initial_backoff_s: 0.01
  max_backoff_s: 0.05
"""


def dbt_first(path: str) -> str:
    """`path` (a PATH value) with the folder of the example's dbt (`dbt_executable`: the
    session's, when it chose one) first, for the `dbt` that dagster-dbt runs."""
    dbt = Path(dbt_executable())
    if not dbt.is_absolute():  # then `dbt` on PATH already is the example's
        return path
    return f"{dbt.parent}{os.pathsep}{path}"


def set_dot_env(patch: pytest.MonkeyPatch, dot: EmulatorServer) -> None:
    """DOT_API_KEY and DOT_BASE_URL point at the emulator, a Teams webhook is set and no
    Slack token or other Dot setting; the example's dbt first on PATH."""
    patch.setenv("DOT_API_KEY", ADMIN_TOKEN)
    patch.setenv("DOT_BASE_URL", dot.url)
    patch.setenv("PATH", dbt_first(os.environ["PATH"]))
    patch.setenv("DOT_ALERTS_TEAMS_WEBHOOK_URL", "https://teams.example.com/hook")
    for name in (
        "DOT_REGION",
        "DOT_USER_ID",
        "DOT_AUTH_MODE",
        "DOT_ENVIRONMENT",
        "DOT_ENVIRONMENT_NAME",
        "DOT_ALERTS_SLACK_TOKEN",
    ):
        patch.delenv(name, raising=False)


def set_confluence_env(patch: pytest.MonkeyPatch, site: ConfluenceEmulatorServer) -> None:
    """The Confluence emulator's URL and its analyst's Cloud credentials."""
    analyst = DEFAULT_USERS[0]
    patch.setenv("CONFLUENCE_BASE_URL", site.url)
    patch.setenv("CONFLUENCE_EMAIL", analyst.email)
    patch.setenv("CONFLUENCE_API_TOKEN", analyst.api_token)


@contextmanager
def dbt_sandbox(dbt_project_dir: Path) -> Iterator[DefsFolderSandbox]:
    """A fresh dg project whose `defs/dbt` is the example dbt project, scaffolded by `dg`'s
    own scaffolder for `DbtProjectComponent`."""
    with create_defs_folder_sandbox() as sandbox:
        sandbox.scaffold_component(
            DbtProjectComponent,
            defs_path="dbt",
            scaffold_params={"project_path": str(dbt_project_dir)},
        )
        yield sandbox


def every_section(tmp_path: Path, history_day: date) -> str:
    """Attributes configuring every operation: emulators through the env, files in tmp."""
    return (
        WORKSPACE
        + f"""\
upstream: [dbt]
sync:
  connections:
    - type: duckdb
      id: dot_demo
      dbt_select: tag:dot
    - type: dbt
      id: dot_demo
      dbt_select: "fqn:*"
  schedule:
    cron_schedule: "30 4 * * *"
    timezone: Europe/Berlin
catalogue:
  files: ["{EXAMPLE_CATALOGUE}"]
  schedule:
    cron_schedule: "0 6 * * *"
exposures:
  state_path: dot_exposures.json
history:
  start_date: {history_day - timedelta(days=5)}
  schema_name: dot_history
  warehouse:
    path: "{tmp_path / "warehouse.duckdb"}"
  schedule:
    hour_of_day: 2
  freshness:
    deadline_cron: "0 7 * * *"
confluence:
  site:
    base_url: "{{{{ env.CONFLUENCE_BASE_URL }}}}"
    email: "{{{{ env.CONFLUENCE_EMAIL }}}}"
    api_token: "{{{{ env.CONFLUENCE_API_TOKEN }}}}"
    max_attempts: 2
    initial_backoff_s: 0.01
  syncs:
    - name: metrics
      selection:
        page_ids: ["100101"]
  sensor:
    minimum_interval_seconds: 600
monitoring:
  ui_url: https://dagster.example.com
  freshness_grace_minutes: 30
  incident_table_name_case: upper
  alerts:
    slack_token: "{{{{ env.DOT_ALERTS_SLACK_TOKEN or None }}}}"
    teams_webhook_url: "{{{{ env.DOT_ALERTS_TEAMS_WEBHOOK_URL }}}}"
"""
    )


def example_copy(root: Path, dbt_project: Path | None = None) -> Path:
    """The example dg project at `root/examples/dg_project`, with the files it refers to
    beside it: the catalogue, and a link to `dbt_project` (parsed already) or a fresh copy
    of the example's dbt project for `dg` to parse.

    Never the repository's own folder: `dg` keeps the dbt component's state in it (a copy
    of the dbt project), and a load reading that state while another run rewrites it, or
    after a run was stopped halfway, would fail.
    """
    examples = root / "examples"
    unwanted = shutil.ignore_patterns(
        ".local_defs_state", "__pycache__", "target", "logs", "*.duckdb"
    )
    shutil.copytree(EXAMPLE_PROJECT, examples / "dg_project", ignore=unwanted)
    shutil.copy2(EXAMPLE_CATALOGUE, examples)
    if dbt_project is None:
        shutil.copytree(EXAMPLE_DBT_PROJECT, examples / "dbt_project", ignore=unwanted)
    else:
        (examples / "dbt_project").symlink_to(dbt_project, target_is_directory=True)
    return examples / "dg_project"


def write_dot_yaml(sandbox: DefsFolderSandbox, attributes: str, folder: str = "dot") -> Path:
    """`defs/<folder>/defs.yaml` of a DotComponent with these attributes (YAML text)."""
    path = sandbox.defs_folder_path / folder / "defs.yaml"
    path.parent.mkdir(parents=True, exist_ok=True)
    body = textwrap.indent(textwrap.dedent(attributes).strip("\n"), "  ")
    path.write_text(f"type: {DOT_TYPE}\n\nattributes:\n{body}\n", encoding="utf-8")
    return path


def load_error(sandbox: DefsFolderSandbox) -> str:
    """Every message of the exception chain the sandbox's load raises (it must fail)."""
    with pytest.raises(Exception) as raised, sandbox.build_all_defs():
        pass
    messages, error = [], raised.value
    while error is not None:
        messages.append(str(error))
        error = error.__cause__ or error.__context__
    return "\n".join(messages)


def run_assets(
    defs: Definitions,
    keys: Iterable[AssetKey],
    instance: DagsterInstance,
    **options: Any,
) -> ExecuteInProcessResult:
    """Materialize `keys` (and their checks) through the code location's own implicit job."""
    keys = list(keys)
    job = defs.resolve_implicit_job_def_def_for_assets(keys)
    assert job is not None, f"no job can materialize {keys}"
    return job.execute_in_process(
        instance=instance, asset_selection=keys, raise_on_error=False, **options
    )


def journal(server: Any, route: str | None = None) -> list[dict[str, Any]]:
    """The emulator's request journal, optionally only the calls of one route template."""
    entries = httpx.get(f"{server.url}/_emulator/journal").json()["entries"]
    return [e for e in entries if route is None or e["route"] == route]


def spec_of(defs: Definitions, key: AssetKey) -> Any:
    """The resolved spec of `key` (external specs included)."""
    return defs.get_repository_def().asset_graph.get(key)
