"""Dot connection syncs after dbt builds, in Dagster: one asset per Dot connection.

A Dot connection (a warehouse, Looker, dbt) must be re-synced right after the models it
reads were rebuilt — never before, never after a failed build. Start with
`build_dot_sync_definitions(SyncSettings(connections=[DotConnection(...)]), upstream=...)`;
the modules hold one concern each: `settings` (what to sync and when), `translator` (the
asset spec of a connection), `upstream` (which assets a connection reads), `condition`
(automation), `assets` (the multi-asset and its step), `results` (what a run records),
`automation` (sensor and nightly schedule), `definitions` (the wiring). The calls
themselves and what their failures mean are Dagster-free, in `dot_orchestration.syncing`.
"""

from dot_orchestration.syncing import NON_WAREHOUSE_TYPES, DotConnection
from dot_orchestration.syncs.assets import (
    build_dot_sync_assets,
    connections_by_key,
    tables_read_by_dot,
)
from dot_orchestration.syncs.automation import (
    build_dbt_then_sync_schedule,
    build_sync_automation_sensor,
)
from dot_orchestration.syncs.condition import sync_after_upstream_condition
from dot_orchestration.syncs.definitions import build_dot_sync_definitions, sync_assets_of
from dot_orchestration.syncs.results import DotSyncMetadata, sync_accepted_check_spec
from dot_orchestration.syncs.settings import SyncSchedule, SyncSettings
from dot_orchestration.syncs.translator import (
    SYNC_ACCEPTED_CHECK,
    DotConnectionMetadata,
    DotSyncProps,
    DotSyncTranslator,
)
from dot_orchestration.syncs.upstream import (
    UpstreamError,
    UpstreamResolver,
    dbt_assets_of,
    is_dbt_assets,
)

__all__ = [
    "NON_WAREHOUSE_TYPES",
    "SYNC_ACCEPTED_CHECK",
    "DotConnection",
    "DotConnectionMetadata",
    "DotSyncMetadata",
    "DotSyncProps",
    "DotSyncTranslator",
    "SyncSchedule",
    "SyncSettings",
    "UpstreamError",
    "UpstreamResolver",
    "build_dbt_then_sync_schedule",
    "build_dot_sync_assets",
    "build_dot_sync_definitions",
    "build_sync_automation_sensor",
    "connections_by_key",
    "dbt_assets_of",
    "is_dbt_assets",
    "sync_accepted_check_spec",
    "sync_after_upstream_condition",
    "sync_assets_of",
    "tables_read_by_dot",
]
