"""`upstream` beyond dbt: a BI dashboard modelled in another defs module.

A Looker dashboard spec (as dagster-looker would make it) lives in `defs/bi/looker.py`. The
Dot component lists `bi` in `upstream`: a Looker connection syncs after it (`asset_keys`),
and the catalogue imports it into Dot as an external asset.
"""

import textwrap

from dagster import AssetKey, DagsterInstance
from dagster.components.testing import DefsFolderSandbox

from dot_orchestration.emulator import EmulatorServer

from ._support import WORKSPACE, run_assets, spec_of, write_dot_yaml

LOOKER_DASHBOARD = """\
import dagster as dg

churn = dg.AssetSpec(
    ["looker", "Churn_40"],
    kinds={"looker", "dashboard"},
    deps=[dg.AssetKey("customers")],
    metadata={"dagster-looker/web_url": dg.MetadataValue.url("https://looker.example.com/40")},
)
"""
ATTRIBUTES = (
    WORKSPACE
    + """\
upstream: [dbt, bi]
sync:
  connections:
    - type: looker
      id: main
      asset_keys: [looker/Churn_40]
catalogue:
  dagster_assets: true
"""
)


def test_a_bi_component_feeds_asset_keys_and_the_catalogue(
    project: DefsFolderSandbox, dot_env: EmulatorServer, instance: DagsterInstance
) -> None:
    (project.defs_folder_path / "bi").mkdir()
    (project.defs_folder_path / "bi" / "looker.py").write_text(textwrap.dedent(LOOKER_DASHBOARD))
    write_dot_yaml(project, ATTRIBUTES)
    catalogue = AssetKey(["dot", "external_assets"])

    with project.build_all_defs() as defs:
        looker = AssetKey(["looker", "Churn_40"])
        assert set(spec_of(defs, AssetKey(["dot", "sync", "looker", "main"])).parent_keys) == {
            looker
        }
        assert looker in spec_of(defs, catalogue).parent_keys
        result = run_assets(defs, [catalogue], instance)

    assert result.success
    held = {stored.asset.id: stored.asset for stored in dot_env.state.space().assets()}
    dashboard = held["dagster:looker/Churn_40"]
    assert (dashboard.subtype, dashboard.url) == (
        "looker_dashboard",
        "https://looker.example.com/40",
    )
    assert "customers" in (dashboard.dot_description or "")
