"""A `DotComponent`'s exposures in Dagster's defs state: `dg utils refresh-defs-state`
fetches them, loading reads them without calling Dot.

The project is a dg project of its own (a `pyproject.toml` over a defs folder sandbox): the
real `dg` command refreshes it in a subprocess, as a deployment's build step would, and
the definitions are loaded here, in-process, from the state it wrote.
"""

import json
import logging
import os
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from dagster import AssetKey, AssetSpec, Definitions
from dagster.components.core.component_tree import ComponentTreeException
from dagster.components.testing import DefsFolderSandbox, create_defs_folder_sandbox

from dot_orchestration import DotComponent
from dot_orchestration.emulator import ADMIN_TOKEN, EmulatorServer

from ._shop import write_shop

DG = Path(sys.executable).with_name("dg")
REVENUE = AssetKey(["dot", "dashboards", "dot_revenue_overview"])
CUSTOMERS = AssetKey(["dot", "dashboards", "dot_customer_health"])
EXPOSURES_ROUTE = "/api/dbt/exposures"


def dot_yaml(exposures: str) -> str:
    return textwrap.dedent(
        """\
        type: dot_orchestration.DotComponent
        attributes:
          workspace:
            api_token: "{{ env.DOT_API_KEY }}"
            base_url: "{{ env.DOT_BASE_URL }}"
            max_attempts: 1
          upstream: [shop]
        """
    ) + textwrap.indent(exposures, "  ")


@pytest.fixture
def project(monkeypatch: pytest.MonkeyPatch) -> Iterator[DefsFolderSandbox]:
    """A dg project: the three-model dbt assets in `defs/shop`, a Dot component in
    `defs/dot` keeping its exposures in Dagster's defs state (no `state_path`), and a Dot
    URL where nothing answers, because loading must not call Dot."""
    monkeypatch.setenv("DOT_API_KEY", ADMIN_TOKEN)
    monkeypatch.setenv("DOT_BASE_URL", "http://127.0.0.1:9")
    with create_defs_folder_sandbox() as sandbox:
        name = sandbox.project_name
        (sandbox.project_root / "pyproject.toml").write_text(
            f'[project]\nname = "{name}"\nversion = "0"\n\n[tool.dg]\n'
            f'directory_type = "project"\n\n[tool.dg.project]\nroot_module = "{name}"\n\n'
            "[tool.dg.cli]\ntelemetry = { enabled = false }\n"
        )
        write_shop(sandbox.defs_folder_path / "shop")
        (sandbox.defs_folder_path / "dot").mkdir()
        yield sandbox


def write_dot(project: DefsFolderSandbox, exposures: str) -> None:
    (project.defs_folder_path / "dot" / "defs.yaml").write_text(dot_yaml(exposures))


def load(project: DefsFolderSandbox) -> Definitions:
    with project.build_component_tree() as tree:
        return tree.build_defs()


def dashboards(defs: Definitions) -> dict[AssetKey, set[str]]:
    """Each Dot dashboard and the models it reads."""
    graph = defs.resolve_asset_graph()
    return {
        key: {parent.to_user_string() for parent in graph.get(key).parent_keys}
        for key in graph.get_all_asset_keys()
        if key.path[:2] == ["dot", "dashboards"]
    }


def refresh_defs_state(project: DefsFolderSandbox, dot: EmulatorServer, home: Path) -> str:
    """`dg utils refresh-defs-state` in the project, as a build step runs it."""
    home.mkdir()
    (home / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    env = {
        **os.environ,
        "DOT_BASE_URL": dot.url,
        "DAGSTER_HOME": str(home),
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
        "VIRTUAL_ENV": str(Path(sys.executable).parents[1]),
        "NO_COLOR": "1",
        "PYTHONPATH": str(project.project_root / "src"),  # the project is not installed
    }
    done = subprocess.run(
        [str(DG), "utils", "refresh-defs-state"],
        cwd=project.project_root,
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout + done.stderr


def exposure_calls(dot: EmulatorServer) -> int:
    entries = httpx.get(f"{dot.url}/_emulator/journal").json()["entries"]
    return sum(1 for entry in entries if entry["path"] == EXPOSURES_ROUTE)


def test_dg_refreshes_the_exposures_and_loading_reads_them_without_dot(
    project: DefsFolderSandbox,
    dot_emulator: EmulatorServer,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    write_dot(project, "exposures: {}\n")

    with caplog.at_level(logging.WARNING):
        before = load(project)
    assert dashboards(before) == {}
    assert "refresh-defs-state" in caplog.text

    refresh_defs_state(project, dot_emulator, tmp_path / "home")
    assert exposure_calls(dot_emulator) == 1

    after = load(project)
    assert dashboards(after) == {
        REVENUE: {"daily_revenue", "orders"},
        CUSTOMERS: {"customers", "orders"},
    }
    assert exposure_calls(dot_emulator) == 1  # loading read the state, never Dot
    keys = {spec.key for spec in after.assets or () if isinstance(spec, AssetSpec)}
    assert AssetKey(["dot", "exposures_snapshot"]) not in keys


def test_a_state_file_keeps_working_beside_dagsters_state(
    project: DefsFolderSandbox, dot_emulator: EmulatorServer, tmp_path: Path
) -> None:
    """`state_path` is the Python API's file: read at load, refreshed by the snapshot asset.
    What `dg utils refresh-defs-state` calls on such a component writes an empty state and
    never calls Dot."""
    write_dot(project, "exposures:\n  state_path: dot_exposures.json\n")
    with project.build_component_tree() as tree:
        component = tree.load_component(project.defs_folder_path / "dot")
        defs = tree.build_defs()
    assert isinstance(component, DotComponent)

    component.write_state_to_path(tmp_path / "state")

    assert exposure_calls(dot_emulator) == 0
    assert json.loads((tmp_path / "state").read_text())["exposures"] == []
    assert dashboards(defs) == {}
    assert defs.resolve_assets_def(AssetKey(["dot", "exposures_snapshot"])) is not None


def test_a_snapshot_asset_without_a_file_is_refused_naming_the_fix(
    project: DefsFolderSandbox,
) -> None:
    write_dot(project, "exposures:\n  snapshot_asset: true\n")

    with pytest.raises(ComponentTreeException) as raised:
        load(project)

    messages, error = [], raised.value.__cause__
    while error is not None:
        messages.append(str(error))
        error = error.__cause__
    assert "`snapshot_asset` writes the `state_path` file, and none is set" in "\n".join(messages)
