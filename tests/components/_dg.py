"""The `dg` runs of `test_dg_cli.py`: a minimal project maker and the runs themselves.

Every `dg` call is a subprocess of the venv's `dg` with `--use-active-venv` (the venv on
PATH, as after `source .venv/bin/activate`), bounded in time, with a Dagster home of its
own (concurrent runs on one SQLite instance would race). `dg check defs` of the example
runs on a copy (`example_copy`): it rewrites the dbt component's state in its project.
"""

import os
import shutil
import subprocess
import sys
import textwrap
from dataclasses import dataclass
from pathlib import Path

import pytest

from ._support import EXAMPLE_PROJECT, WORKSPACE, dbt_first, example_copy

DG = Path(sys.executable).with_name("dg")
TIMEOUT_S = 240
SYNC_ORDERZ = (
    "upstream: [dbt]\nsync:\n  connections:\n    - type: duckdb\n      id: dot_demo\n"
    "      dbt_select: tag:dot orderz\n"
)
# Mistakes `dg check defs` finds in the file itself, before loading any code: a misspelt
# field, a string where a list belongs, and a misspelt field deep in a section.
YAML_MISTAKES = (
    WORKSPACE.replace("max_attempts", "max_atempts")
    + "upstream: dbt\nsync:\n  connections:\n    - type: duckdb\n      id: dot_demo\n"
    + "      dbt_selct: tag:dot\n"
)


@dataclass
class DgRun:
    """One `dg` subprocess; its output is read once, when a test first asks for it."""

    args: list[str]
    cwd: Path
    process: subprocess.Popen[str]
    _output: str | None = None

    @property
    def output(self) -> str:
        if self._output is None:
            try:
                self._output, _ = self.process.communicate(timeout=TIMEOUT_S)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self._output, _ = self.process.communicate()
                pytest.fail(f"dg {' '.join(self.args)} took over {TIMEOUT_S}s:\n{self._output}")
        return self._output

    @property
    def returncode(self) -> int:
        _ = self.output
        return self.process.returncode


def dagster_home(home: Path) -> Path:
    """A Dagster home per process: concurrent runs on one SQLite instance would race."""
    home.mkdir()
    (home / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    return home


#: Where the example's variables start: none of them reaches a `dg` run unless given.
_PROJECT_VARIABLES = ("DOT_", "CONFLUENCE_")


def dg_env(home: Path, **variables: str) -> dict[str, str]:
    """The venv on PATH (after the example's dbt), a Dagster home, and of the example's
    variables only `variables`: CI validates definitions without the deployment's secrets."""
    venv_bin = str(Path(sys.executable).parent)
    env = {
        name: value for name, value in os.environ.items() if not name.startswith(_PROJECT_VARIABLES)
    }
    return {
        **env,
        "VIRTUAL_ENV": str(Path(sys.executable).parents[1]),
        "PATH": dbt_first(f"{venv_bin}{os.pathsep}{os.environ.get('PATH', '')}"),
        "DAGSTER_HOME": str(home),
        "NO_COLOR": "1",
        **variables,
    }


def dg_project(root: Path, name: str, dbt_project: Path, dot_attributes: str) -> Path:
    """A minimal dg project: the dbt component (already parsed) and a Dot component."""
    project, package = root / name, root / name / "src" / name
    (package / "defs" / "dbt").mkdir(parents=True)
    (package / "defs" / "dot").mkdir()
    (project / "pyproject.toml").write_text(
        f'[project]\nname = "{name}"\nversion = "0"\n\n[tool.dg]\ndirectory_type = "project"\n'
        f'\n[tool.dg.project]\nroot_module = "{name}"\n\n[tool.dg.cli]\n'
        "telemetry = { enabled = false }\n"
    )
    (package / "__init__.py").write_text("")
    (package / "defs" / "__init__.py").write_text("")
    shutil.copy(EXAMPLE_PROJECT / "src" / "dot_dg_example" / "definitions.py", package)
    (package / "defs" / "dbt" / "defs.yaml").write_text(
        "type: dagster_dbt.DbtProjectComponent\nattributes:\n"
        f"  project: {dbt_project}\n  prepare_if_dev: false\n"
    )
    body = textwrap.indent(dot_attributes, "  ")
    (package / "defs" / "dot" / "defs.yaml").write_text(
        f"type: dot_orchestration.DotComponent\n\nattributes:\n{body}"
    )
    return project


def launch(root: Path, dbt_project_dir: Path) -> dict[str, DgRun]:
    """Start every `dg` run of the tests at once; each is read when a test needs it.

    The example is checked with no `DOT_*` (or other) variable set, secrets included, as
    CI checks it; the broken projects get a Dot URL (not a secret) and no token.
    """
    check = ["check", "defs", "--use-active-venv"]
    url = {"DOT_BASE_URL": "http://127.0.0.1:9"}  # loading never calls Dot
    jobs = {
        "example": (example_copy(root / "example"), check, {}),
        "yaml_mistakes": (
            dg_project(root, "yaml_mistakes", dbt_project_dir, YAML_MISTAKES),
            check,
            url,
        ),
        "unknown_model": (
            dg_project(root, "unknown_model", dbt_project_dir, WORKSPACE + SYNC_ORDERZ),
            check,
            url,
        ),
        "list": (EXAMPLE_PROJECT, ["list", "components", "--json"], {}),
    }
    runs = {
        name: DgRun(
            args,
            cwd,
            subprocess.Popen(
                [str(DG), *args],
                cwd=cwd,
                env=dg_env(dagster_home(root / f"home_{name}"), **variables),
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
            ),
        )
        for name, (cwd, args, variables) in jobs.items()
    }
    return runs


def stop(runs: dict[str, DgRun]) -> None:
    """Kill the runs no test waited for (a test selection without them)."""
    for run in runs.values():
        if run.process.poll() is None:
            run.process.kill()
            run.process.communicate()
