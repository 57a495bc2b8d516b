"""The one wiring path of the syncs: what `SyncSettings` asks for, as `Definitions`.

The `sync:` section of a `DotComponent` and a Python code location both call
`build_dot_sync_definitions`, so they build the same assets, sensor and schedule.
"""

from collections.abc import Sequence

from dagster import AssetsDefinition, Definitions

from dot_orchestration.environments.settings import DotEnvironmentSettings
from dot_orchestration.syncs.assets import build_dot_sync_assets, connections_by_key
from dot_orchestration.syncs.automation import (
    build_dbt_then_sync_schedule,
    build_sync_automation_sensor,
)
from dot_orchestration.syncs.settings import SyncSettings
from dot_orchestration.syncs.translator import DotSyncTranslator
from dot_orchestration.syncs.upstream import dbt_assets_of


def build_dot_sync_definitions(
    settings: SyncSettings,
    *,
    upstream: Sequence[AssetsDefinition],
    translator: DotSyncTranslator | None = None,
    environment: DotEnvironmentSettings | None = None,
) -> Definitions:
    """The sync multi-asset, and as `settings` say the automation sensor (running) and the
    nightly `dbt build → Dot syncs` schedule over the dbt assets among `upstream`.

    `upstream` holds every definition the connections read (`@dbt_assets` for
    `dbt_select`, any assets for `asset_keys`); the `dot` resource is the caller's to
    provide. Configuration mistakes raise `ValueError` here, naming the connection.
    `environment` (the settings given to `build_dot_environment_definitions`) makes the
    syncs refresh the deployment's Dot environment from its dev target instead of syncing
    production's connections; in production it changes nothing.
    """
    syncs = build_dot_sync_assets(
        settings, upstream=upstream, translator=translator, environment=environment
    )
    sensors = (
        [build_sync_automation_sensor(syncs, settings.automation_sensor_name)]
        if settings.automation
        else []
    )
    schedules = []
    if settings.schedule is not None:
        dbt = dbt_assets_of(upstream)
        if not dbt:
            raise ValueError(
                "the sync schedule builds dbt, but no @dbt_assets definition is among the "
                "upstream assets: pass it in `upstream`, or leave `schedule` unset"
            )
        schedules.append(build_dbt_then_sync_schedule(dbt, syncs, settings.schedule))
    return Definitions(assets=[syncs], sensors=sensors, schedules=schedules)


def sync_assets_of(defs: Definitions) -> AssetsDefinition:
    """The sync multi-asset of what `build_dot_sync_definitions` returned: for what reads
    it as a whole (the catalogue's asset graph, `tables_read_by_dot`)."""
    found = [a for a in defs.assets or () if isinstance(a, AssetsDefinition) and _syncs(a)]
    if len(found) != 1:
        raise ValueError(
            f"expected the one sync multi-asset of build_dot_sync_definitions, found {len(found)}"
        )
    return found[0]


def _syncs(assets_def: AssetsDefinition) -> bool:
    return bool(connections_by_key(assets_def))


__all__ = ["build_dot_sync_definitions", "sync_assets_of"]
