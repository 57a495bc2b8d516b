"""`translation:` renames every Dot asset, and what points at an asset follows it.

One translation (a key prefix, a group per operation, an owner, a tag) over every section;
then checks, jobs, schedules and a run at the new keys prove nothing kept an old key.
"""

from datetime import date
from pathlib import Path

from dagster import AssetKey, DagsterInstance
from dagster.components.testing import DefsFolderSandbox

from dot_orchestration.catalogue import refresh_dot_exposures
from dot_orchestration.client import DotClient
from dot_orchestration.emulator import ADMIN_TOKEN, EmulatorServer
from dot_orchestration.emulator.confluence import ConfluenceEmulatorServer

from ._support import WORKSPACE, every_section, load_error, run_assets, write_dot_yaml

TRANSLATION = """\
translation:
  key_prefix: acme
  group_name: "dot_{{ operation }}"
  owners: [team:data]
  tags:
    dot/team: data
"""
OPERATIONS = {
    ("acme", "dot", "sync"): "dot_sync",
    ("acme", "dot", "external_assets"): "dot_catalogue",
    ("acme", "dot", "dashboards"): "dot_dashboard",
    ("acme", "dot", "exposures_snapshot"): "dot_exposures_snapshot",
    ("acme", "dot", "history"): "dot_history",
    ("acme", "dot", "notes"): "dot_notes",
}


def test_translation_reaches_every_asset_and_everything_follows_the_keys(
    project: DefsFolderSandbox,
    dot_env: EmulatorServer,
    confluence_env: ConfluenceEmulatorServer,
    instance: DagsterInstance,
    tmp_path: Path,
) -> None:
    defs_yaml = write_dot_yaml(project, every_section(tmp_path, date(2025, 3, 1)) + TRANSLATION)
    with DotClient(api_token=ADMIN_TOKEN, base_url=dot_env.url) as client:
        refresh_dot_exposures(client, defs_yaml.parent / "dot_exposures.json")

    with project.build_component_tree() as tree:
        defs = tree.build_defs()
        repo = defs.get_repository_def()
        graph = repo.asset_graph
        dot_keys = {key for key in graph.get_all_asset_keys() if "dot" in key.path[:2]}

        assert all(key.path[0] == "acme" for key in dot_keys), sorted(dot_keys)
        for key in dot_keys:
            node = graph.get(key)
            assert node.group_name == OPERATIONS[tuple(key.path[:3])], key
            assert "team:data" in node.owners and node.tags["dot/team"] == "data", key
        # Checks, jobs and schedules were built at the translated keys.
        catalogue, history = (
            AssetKey(["acme", "dot", "external_assets"]),
            AssetKey(["acme", "dot", "history"]),
        )
        checked = {check.asset_key for check in graph.asset_check_keys}
        assert {catalogue, history, AssetKey(["acme", "dot", "notes", "metrics"])} <= checked
        history_job = repo.get_job("dot_history_daily_job")
        assert history in history_job.asset_layer.executable_asset_keys
        sync_job = repo.get_job("dbt_build_then_dot_sync")
        assert AssetKey(["acme", "dot", "sync", "duckdb", "dot_demo"]) in (
            sync_job.asset_layer.executable_asset_keys
        )

        result = run_assets(defs, [catalogue], instance)

    assert result.success
    (evaluation,) = result.get_asset_check_evaluations()
    assert (evaluation.asset_key, evaluation.passed) == (catalogue, True)


LOOKER_DASHBOARD = """\
import dagster as dg

churn = dg.AssetSpec(["looker", "Churn_40"], kinds={"looker", "dashboard"})
"""
#: Two Looker connections whose translated keys are one: `dot/sync/looker`.
COLLIDING_SYNCS = (
    WORKSPACE
    + """\
upstream: [bi]
sync:
  connections:
    - {type: looker, id: main, asset_keys: [looker/Churn_40]}
    - {type: looker, id: eu, asset_keys: [looker/Churn_40]}
translation:
  key: "dot/sync/{{ connection.type }}"
"""
)


def test_two_syncs_translated_to_one_key_are_refused_at_the_sync_section(
    project: DefsFolderSandbox, dot_env: EmulatorServer
) -> None:
    """Duplicate detection reads the key from the translated spec (the one seam,
    `get_asset_spec`), so a collision only the translation makes is found, in the file."""
    (project.defs_folder_path / "bi").mkdir()
    (project.defs_folder_path / "bi" / "looker.py").write_text(LOOKER_DASHBOARD)
    defs_yaml = write_dot_yaml(project, COLLIDING_SYNCS)

    message = load_error(project)

    assert f"{defs_yaml}:" in message and "attributes.sync.connections" in message, message
    collision = "looker/eu is declared twice (or collides with looker/main as asset dot/sync/looker"
    assert collision in message, message
