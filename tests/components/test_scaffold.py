"""`dg scaffold defs dot_orchestration.DotComponent dot`, then load it and sync: YAML only.

Scaffolding goes through `scaffold_object`, the function `dg scaffold defs` calls, into a
temporary dg project whose `defs/dbt` is the example dbt project.
"""

import json
import re

import yaml
from dagster import AssetKey, DagsterInstance, EnvVar
from dagster.components.component_scaffolding import scaffold_object
from dagster.components.testing import DefsFolderSandbox

from dot_orchestration.emulator import ADMIN_TOKEN, EmulatorServer

from ._support import DOT_TYPE, journal, run_assets, spec_of

SYNC_ROUTE = "/api/sync/{connection_type}/{connection_id}"


def scaffold_dot(sandbox: DefsFolderSandbox, **params: str) -> str:
    path = sandbox.defs_folder_path / "dot"
    scaffold_object(
        path=path,
        typename=DOT_TYPE,
        json_params=json.dumps(params) if params else None,
        scaffold_format="yaml",
        project_root=sandbox.project_root,
    )
    return (path / "defs.yaml").read_text(encoding="utf-8")


def test_scaffold_finds_the_dbt_component_and_writes_only_env_references(
    project: DefsFolderSandbox,
) -> None:
    text = scaffold_dot(project, connection_type="duckdb", connection_id="dot_demo")

    document = yaml.safe_load(text)
    attributes = document["attributes"]
    assert attributes["workspace"]["api_token"] == "{{ env.DOT_API_KEY }}"
    assert document["requirements"] == {"env": ["DOT_API_KEY"]}  # what `dg list env` shows
    assert attributes["upstream"] == ["dbt"]
    assert attributes["sync"]["connections"] == [
        {"type": "duckdb", "id": "dot_demo", "dbt_select": "fqn:*"}
    ]
    assert ADMIN_TOKEN not in text and not re.search(r"dot-[0-9a-f]{8,}", text)
    commented = (
        "catalogue:",
        "exposures:",
        "history:",
        "confluence:",
        "questions:",
        "monitoring:",
    )
    for section in (*commented, "translation:"):
        assert f"# {section}" in text, f"{section} is not shown, commented out"


def test_scaffold_without_dbt_starts_with_the_catalogue() -> None:
    from dagster.components.testing import create_defs_folder_sandbox

    with create_defs_folder_sandbox() as sandbox:
        attributes = yaml.safe_load(scaffold_dot(sandbox))["attributes"]
    assert attributes["upstream"] == []
    assert "sync" not in attributes
    assert attributes["catalogue"] == {"dagster_assets": True}


def test_scaffolded_component_syncs_after_the_dbt_models_from_yaml_alone(
    project: DefsFolderSandbox, dot_env: EmulatorServer, instance: DagsterInstance
) -> None:
    scaffold_dot(project, connection_type="duckdb", connection_id="dot_demo")
    defs_yaml = project.defs_folder_path / "dot" / "defs.yaml"
    # The one edit a user of the local emulator makes: its URL instead of a region.
    defs_yaml.write_text(
        re.sub(
            r"^    region: app.*$",
            '    base_url: "{{ env.DOT_BASE_URL }}"',
            defs_yaml.read_text(encoding="utf-8"),
            flags=re.M,
        ),
        encoding="utf-8",
    )
    sync_key = AssetKey(["dot", "sync", "duckdb", "dot_demo"])

    with project.build_component_tree() as tree:
        defs = tree.build_defs()
        dbt_keys = {key for a in tree.build_defs("dbt").assets or () for key in a.keys}
        assert set(spec_of(defs, sync_key).parent_keys) == dbt_keys
        dot = defs.resources["dot"]
        assert dot.api_token == EnvVar("DOT_API_KEY"), "the secret must stay a reference"

        result = run_assets(defs, [sync_key], instance)

    assert result.success
    (call,) = journal(dot_env, SYNC_ROUTE)
    assert (call["path"], call["status"]) == ("/api/sync/duckdb/dot_demo", 200)
    (event,) = result.get_asset_materialization_events()
    assert event.materialization.metadata["dot/connection"].value == "duckdb/dot_demo"
