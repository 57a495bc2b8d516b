"""A small code location as a user's project writes one, loaded by the release-set test
with `dagster definitions validate` in a venv holding only the core install (no extras)."""

from datetime import date

from dagster import AssetSelection, Definitions, EnvVar, asset

from dot_orchestration.history import (
    DotHistorySettings,
    HistorySchedule,
    PostgresWarehouse,
    build_dot_history_definitions,
)
from dot_orchestration.resources import DotResource
from dot_orchestration.syncs import DotConnection, SyncSettings, build_dot_sync_definitions


@asset(key_prefix="warehouse")
def orders() -> None:
    """Stands for the user's own table (a dbt model, an extract...)."""


#: Settings, not definitions: `dagster definitions validate` refuses a module holding two
#: `Definitions` objects at module scope.
SYNCS = SyncSettings(
    connections=[DotConnection(type="snowflake", id="prod", asset_keys=("warehouse/orders",))]
)
# The warehouse driver (psycopg2, the [postgres] extra) is needed only when a run writes.
warehouse = PostgresWarehouse(
    host="db.internal", dbname="analytics", user="dot", password=EnvVar("DOT_HISTORY_PGPASSWORD")
)
defs = Definitions.merge(
    build_dot_sync_definitions(SYNCS, upstream=[orders]),
    Definitions(
        assets=[orders],
        resources={
            "dot": DotResource(api_token=EnvVar("DOT_API_KEY"), region="eu"),
        },
    ),
    build_dot_history_definitions(
        DotHistorySettings(
            start_date=date(2025, 1, 1), postgres=warehouse, schedule=HistorySchedule()
        ),
        downstream=AssetSelection.keys(),
    ),
)
