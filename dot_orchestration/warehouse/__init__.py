"""Write partitions of a table atomically; the core of a partition-aware IO manager.

The contract (`replace_partition`) is what any warehouse behind it must keep:

1. **Refuse before writing.** An empty frame does not empty a partition unless the caller
   says the source really returned nothing (``allow_empty``); rows outside the partitions
   being replaced, and frames whose columns or types differ from the table's, are refused.
2. **Replace in one transaction.** Delete the partitions' rows and insert the frame in one
   transaction (or one ``MERGE``), so a reader or a crash sees the old partition or the new
   one, never an empty or half-written one. Re-running a partition replaces it: no
   duplicates. Tables that belong together (`replace_partitions`: a day's conversations and
   their messages) share that one transaction.
3. **Stable types.** A table is created from the first frame with one type per kind
   (BIGINT, DOUBLE, VARCHAR, BOOLEAN, DATE, TIMESTAMP holding UTC) and never altered by a
   write.

`PartitionSession` is the seam: the four operations the Dagster layer needs (replace,
read, compare a table's schema with the contract, find duplicate keys) on one open
connection. Three writers implement it:

* **DuckDB** (the embedded default): `DuckDBLocation.session()` hands out a
  `DuckDBSession`. The file lock admits one writing process at a time.
* **Postgres**: `PostgresLocation.session()` hands out a `PostgresSession` (psycopg2):
  ``BEGIN; DELETE … WHERE partition = ANY(%s); COPY …; COMMIT`` on one connection, the
  tables created in the same transaction (PostgreSQL's DDL is transactional), types
  BIGINT, DOUBLE PRECISION, TEXT, BOOLEAN, DATE, TIMESTAMP. Writers of one schema take a
  transaction-scoped advisory lock, since PostgreSQL, unlike DuckDB, lets two runs replace
  the same day at once. Read-only sessions read one ``REPEATABLE READ READ ONLY`` snapshot.
* **Every other warehouse** (`_staged`): a `StagedSession` on a `Dialect` stages each
  frame into a table of its own, then deletes and inserts in one transaction and counts
  the result before ``COMMIT``: `SnowflakeLocation`, `RedshiftLocation`,
  `BigQueryLocation`, `DatabricksLocation` hand one out. A further warehouse is a
  `Dialect` subclass (and, if its driver is not DB-API, a `SqlConnection`).

The frame checks (`check_frames` in ``_contract``) and the one-type-per-kind mapping are
shared: only the SQL and the bulk load are a warehouse's own.
"""

import importlib
from typing import TYPE_CHECKING

from dot_orchestration.warehouse._contract import DuplicateKeys, PartitionSession, WriteResult
from dot_orchestration.warehouse._staged import Dialect, SqlConnection, StagedSession, Transaction
from dot_orchestration.warehouse.errors import (
    EmptyPartitionError,
    PartitionMismatchError,
    PartitionWriteError,
    SchemaMismatchError,
)

if TYPE_CHECKING:  # what type checkers see; at run time `__getattr__` imports on first use
    from dot_orchestration.warehouse._bigquery import BigQueryLocation
    from dot_orchestration.warehouse._databricks import DatabricksLocation
    from dot_orchestration.warehouse._duckdb import (
        AfterDelete,
        DuckDBLocation,
        DuckDBSession,
        DuckDBTarget,
        read_partition,
        replace_partition,
        replace_partitions,
    )
    from dot_orchestration.warehouse._postgres import PostgresLocation, PostgresSession
    from dot_orchestration.warehouse._redshift import RedshiftLocation
    from dot_orchestration.warehouse._snowflake import SnowflakeLocation

#: Each writer needs its driver (an extra: `[duckdb]`, `[postgres]`), so its names are
#: imported on first use: the package, and the other writer, work without it.
_LAZY = {
    **dict.fromkeys(
        (
            "AfterDelete",
            "DuckDBLocation",
            "DuckDBSession",
            "DuckDBTarget",
            "read_partition",
            "replace_partition",
            "replace_partitions",
        ),
        "dot_orchestration.warehouse._duckdb",
    ),
    **dict.fromkeys(
        ("PostgresLocation", "PostgresSession"), "dot_orchestration.warehouse._postgres"
    ),
    "BigQueryLocation": "dot_orchestration.warehouse._bigquery",
    "DatabricksLocation": "dot_orchestration.warehouse._databricks",
    "RedshiftLocation": "dot_orchestration.warehouse._redshift",
    "SnowflakeLocation": "dot_orchestration.warehouse._snowflake",
}


def __getattr__(name: str) -> object:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "AfterDelete",
    "BigQueryLocation",
    "DatabricksLocation",
    "Dialect",
    "DuckDBLocation",
    "DuckDBSession",
    "DuckDBTarget",
    "DuplicateKeys",
    "EmptyPartitionError",
    "PartitionMismatchError",
    "PartitionSession",
    "PartitionWriteError",
    "PostgresLocation",
    "PostgresSession",
    "RedshiftLocation",
    "SchemaMismatchError",
    "SnowflakeLocation",
    "SqlConnection",
    "StagedSession",
    "Transaction",
    "WriteResult",
    "read_partition",
    "replace_partition",
    "replace_partitions",
]
