"""`build_dot_catalogue_definitions`, the one wiring path: what it builds from the settings,
and that a `DotComponent`'s `catalogue` / `exposures` sections build the very same."""

import json
import shutil
import textwrap
from pathlib import Path

import pytest
from dagster import (
    AssetKey,
    AssetsDefinition,
    AssetSpec,
    DagsterInstance,
    DefaultScheduleStatus,
    Definitions,
    ResourceDefinition,
)
from dagster.components.testing import create_defs_folder_sandbox

from dot_orchestration.catalogue import (
    CATALOGUE_ASSET_KEY,
    EXPOSURES_SNAPSHOT_KEY,
    CatalogueSchedule,
    CatalogueSettings,
    ExposuresSettings,
    build_dot_catalogue_definitions,
    refresh_dot_exposures,
)
from dot_orchestration.emulator import ADMIN_TOKEN, EmulatorServer
from dot_orchestration.resources import DotResource

from ._shop import shop_dbt_assets, write_shop

EXAMPLE_CATALOGUE = Path(__file__).resolve().parents[2] / "examples" / "dot_catalogue.yaml"
REVENUE = AssetKey(["dot", "dashboards", "dot_revenue_overview"])
CATALOGUE = CatalogueSettings(
    files=("dot_catalogue.yaml",),
    owners=("team:data",),
    pool="dot_catalogue",
    schedule=CatalogueSchedule(cron_schedule="0 6 * * *", timezone="Europe/Berlin"),
)
EXPOSURES = ExposuresSettings(state_path="dot_exposures.json", pool="dot_snapshot")


@pytest.fixture
def folder(tmp_path: Path, dot_emulator: EmulatorServer) -> Path:
    """A folder with the example's catalogue and Dot's exposures, fetched once."""
    shutil.copy(EXAMPLE_CATALOGUE, tmp_path / "dot_catalogue.yaml")
    with DotResource(api_token=ADMIN_TOKEN, base_url=dot_emulator.url).get_client() as client:
        refresh_dot_exposures(client, tmp_path / "dot_exposures.json")
    return tmp_path


def python_definitions(folder: Path) -> Definitions:
    return build_dot_catalogue_definitions(
        CATALOGUE, exposures=EXPOSURES, upstream=[shop_dbt_assets()], base_dir=folder
    )


def shape(defs: Definitions) -> dict[str, object]:
    """What a reader of the graph sees of the catalogue operation: every Dot asset with its
    deps, group, owners, pool and metadata keys (but those Dagster adds to a component's
    assets), and the schedule with its target."""
    graph = defs.resolve_asset_graph()
    assets = {}
    for key in sorted(graph.get_all_asset_keys(), key=AssetKey.to_user_string):
        if key.path[0] != "dot":
            continue
        node = graph.get(key)
        pool = node.pools if node.is_materializable else None
        assets[key.to_user_string()] = (
            sorted(parent.to_user_string() for parent in node.parent_keys),
            node.group_name,
            sorted(node.owners),
            pool,
            sorted(name for name in node.metadata if not name.startswith("dagster/")),
        )
    schedules = {}
    for schedule in defs.schedules or ():
        resolved = defs.resolve_schedule_def(schedule.name)
        job = defs.resolve_job_def(resolved.job_name)
        targets = sorted(key.to_user_string() for key in job.asset_layer.selected_asset_keys)
        schedules[schedule.name] = (
            resolved.cron_schedule,
            resolved.execution_timezone,
            resolved.default_status,
            targets,
        )
    return {"assets": assets, "schedules": schedules}


def test_the_settings_build_the_reconcile_asset_the_dashboards_the_snapshot_and_the_schedule(
    folder: Path,
) -> None:
    seen = shape(
        Definitions.merge(
            python_definitions(folder),
            Definitions(resources={"dot": ResourceDefinition.none_resource()}),
        )
    )

    catalogue = seen["assets"]["dot/external_assets"]  # type: ignore[index]
    assert catalogue[2] == ["team:data"] and catalogue[3] == {"dot_catalogue"}
    assert seen["assets"]["dot/exposures_snapshot"][3] == {"dot_snapshot"}  # type: ignore[index]
    assert seen["assets"][REVENUE.to_user_string()][0] == ["daily_revenue", "orders"]  # type: ignore[index]
    assert seen["schedules"] == {
        "dot_catalogue_daily": (
            "0 6 * * *",
            "Europe/Berlin",
            DefaultScheduleStatus.STOPPED,
            ["dot/exposures_snapshot", "dot/external_assets"],
        )
    }


def test_the_daily_schedule_refreshes_the_exposures_and_reconciles_in_one_run(
    folder: Path, dot_emulator: EmulatorServer, instance: DagsterInstance
) -> None:
    (folder / "dot_exposures.json").unlink()
    defs = Definitions.merge(
        python_definitions(folder),
        Definitions(
            resources={"dot": DotResource(api_token=ADMIN_TOKEN, base_url=dot_emulator.url)}
        ),
    )
    job = defs.resolve_job_def(defs.resolve_schedule_def("dot_catalogue_daily").job_name)

    result = job.execute_in_process(instance=instance)

    assert result.success
    done = {event.asset_key for event in result.get_asset_materialization_events()}
    assert done == {CATALOGUE_ASSET_KEY, EXPOSURES_SNAPSHOT_KEY}
    assert json.loads((folder / "dot_exposures.json").read_text())["exposures"]
    assert "dagster:hex-order-funnel" in {a.asset.id for a in dot_emulator.state.space().assets()}


def test_python_needs_an_exposures_file_and_says_so() -> None:
    with pytest.raises(ValueError, match=r"exposures\.state_path: no exposures file given"):
        build_dot_catalogue_definitions(exposures=ExposuresSettings())


def test_the_component_builds_what_the_python_api_builds(
    folder: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The same settings in `defs.yaml` give the same assets, pools and schedule: the
    component's sections go through `build_dot_catalogue_definitions` too."""
    monkeypatch.setenv("DOT_API_KEY", ADMIN_TOKEN)
    with create_defs_folder_sandbox() as sandbox:
        write_shop(sandbox.defs_folder_path / "shop")
        dot = sandbox.defs_folder_path / "dot"
        dot.mkdir()
        for name in ("dot_catalogue.yaml", "dot_exposures.json"):
            shutil.copy(folder / name, dot / name)
        (dot / "defs.yaml").write_text(
            textwrap.dedent(
                """\
                type: dot_orchestration.DotComponent
                attributes:
                  workspace: {api_token: "{{ env.DOT_API_KEY }}", base_url: "http://127.0.0.1:9"}
                  upstream: [shop]
                  catalogue:
                    files: [dot_catalogue.yaml]
                    owners: ["team:data"]
                    pool: dot_catalogue
                    schedule: {cron_schedule: "0 6 * * *", timezone: Europe/Berlin}
                  exposures: {state_path: dot_exposures.json, pool: dot_snapshot}
                """
            )
        )
        with sandbox.build_component_tree() as tree:
            from_yaml = tree.build_defs()

    from_python = Definitions.merge(
        python_definitions(folder),
        Definitions(resources={"dot": ResourceDefinition.none_resource()}),
    )
    assert shape(from_yaml) == shape(from_python)
    assert {a.key for a in from_yaml.assets or () if isinstance(a, AssetSpec)} >= {REVENUE}
    assert all(isinstance(a, AssetsDefinition | AssetSpec) for a in from_yaml.assets or ())
