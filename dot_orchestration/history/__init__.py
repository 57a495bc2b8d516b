"""Dot's conversation history in the warehouse, one day per partition, exactly once.

`build_dot_history_definitions(DotHistorySettings(...))` gives the daily-partitioned
asset (two tables: conversations and messages), its checks, and, when the settings enable
them, its daily schedule and freshness sensor, with the warehouse resources. The fetch and
spool of days is Dagster-free (`dot_orchestration.transforms.history_days`), the writes
are the core's (`dot_orchestration.warehouse`); this package is the Dagster layer:

* `settings`: `DotHistorySettings`, the one settings class of Python and YAML;
* `warehouses`: the `PartitionWarehouse` resources (DuckDB, PostgreSQL);
* `asset`: the asset, its translator and metadata, and the IO manager landing it;
* `checks`: contract, uniqueness and completeness checks;
* `schedule`: the daily schedule and the freshness check;
* `dbt`: `DotHistoryDbtTranslator`, putting the dbt models reading the tables downstream;
* `definitions`: `build_dot_history_definitions`, the one way to wire it.

`DotHistoryDbtTranslator` is imported on first use: its module subclasses dagster-dbt's
translator, and `import dagster_dbt` imports dbt-core (seconds of CPU), which a code
location exporting history without dbt, and every run worker of one, never needs.
"""

from typing import TYPE_CHECKING

from dot_orchestration.history.asset import (
    DotHistoryIOManager,
    DotHistoryMetadata,
    DotHistoryTranslator,
)
from dot_orchestration.history.definitions import build_dot_history_definitions
from dot_orchestration.history.settings import (
    DotHistorySettings,
    DotHistoryTables,
    HistoryFreshness,
    HistorySchedule,
)
from dot_orchestration.history.warehouses import (
    IO_MANAGER_KEY,
    WAREHOUSE_KEY,
    BigQueryWarehouse,
    DatabricksWarehouse,
    DuckDBWarehouse,
    PartitionWarehouse,
    PostgresWarehouse,
    RedshiftWarehouse,
    SnowflakeWarehouse,
)

if TYPE_CHECKING:  # what type checkers see; at run time `__getattr__` imports it
    from dot_orchestration.history.dbt import DotHistoryDbtTranslator as DotHistoryDbtTranslator


def __getattr__(name: str) -> object:
    if name == "DotHistoryDbtTranslator":
        from dot_orchestration.history.dbt import DotHistoryDbtTranslator

        return DotHistoryDbtTranslator
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "IO_MANAGER_KEY",
    "WAREHOUSE_KEY",
    "BigQueryWarehouse",
    "DatabricksWarehouse",
    "DotHistoryDbtTranslator",
    "DotHistoryIOManager",
    "DotHistoryMetadata",
    "DotHistorySettings",
    "DotHistoryTables",
    "DotHistoryTranslator",
    "DuckDBWarehouse",
    "HistoryFreshness",
    "HistorySchedule",
    "PartitionWarehouse",
    "PostgresWarehouse",
    "RedshiftWarehouse",
    "SnowflakeWarehouse",
    "build_dot_history_definitions",
]
