"""Atomic partition replacement in Databricks (Delta tables): the staged writer (`_staged`) in
Databricks SQL, over the Databricks SQL Connector.

What Databricks does differently, and what this module does about it:

* **No multi-table transaction, no temporary table.** Each frame is staged into a regular
  Delta table of the export's schema (``CREATE TABLE``, then multi-row ``INSERT … VALUES``
  with native parameters), then each table's partitions are replaced by one ``INSERT INTO …
  REPLACE WHERE … SELECT`` from its stage, atomic for that table, and counted right after.
  Two tables are two commits: a failure between them leaves the first table's days new
  beside the second's old ones until the days are written again (the error says so).
* **Names**: backticks, a backtick in a name doubled; with ``catalog``, three-part names
  (``catalog.schema.table``), else the connection's current catalog. The catalogue is
  ``information_schema.columns`` (Unity Catalog), which holds schema and table names in
  lower case (Databricks folds them), so they are looked up in lower case.
* **Types**: ``BIGINT`` (the catalogue says ``LONG``), ``DOUBLE``, ``STRING``, ``BOOLEAN``,
  ``DATE``, ``TIMESTAMP_NTZ`` holding UTC, bound as ``TIMESTAMP_NTZ`` parameters: the
  connector would bind a ``datetime`` as a ``TIMESTAMP``, read in the session's time zone.

The tests check what this writer asks Databricks to do (``tests/warehouse/test_statements.py``:
every statement parsed as Databricks SQL and run against a model of the warehouse);
Databricks itself cannot run there.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from contextlib import closing, contextmanager
from datetime import datetime
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field, SecretStr

from dot_orchestration._extras import extra_required
from dot_orchestration.warehouse._staged import (
    AfterDelete,
    DbApiConnection,
    Dialect,
    StagedSession,
    Transaction,
)

with extra_required("databricks", feature="The Databricks warehouse writer"):
    import databricks.sql
    from databricks.sql.client import Connection
    from databricks.sql.exc import Error as DatabricksError
    from databricks.sql.parameters import TimestampNTZParameter

__all__ = ["DatabricksConnection", "DatabricksDialect", "DatabricksLocation"]


class DatabricksDialect(Dialect):
    name = "Databricks"
    types: ClassVar = {
        "BIGINT": "BIGINT",
        "DOUBLE": "DOUBLE",
        "VARCHAR": "STRING",
        "BOOLEAN": "BOOLEAN",
        "DATE": "DATE",
        "TIMESTAMP": "TIMESTAMP_NTZ",
    }
    catalogued: ClassVar = {"LONG": "BIGINT"}
    transaction = Transaction.REPLACE_WHERE
    placeholder = "?"
    # The connector's documented limits of native parameters: 255 markers in a statement,
    # 1 MB of values. Text is counted in characters, up to 4 bytes each in UTF-8.
    max_parameters = 255
    max_statement_bytes = 256 << 10

    def __init__(self, catalog: str | None = None) -> None:
        self.catalog = catalog

    def quote(self, name: str) -> str:
        return "`" + name.replace("`", "``") + "`"

    def qualified(self, *names: str) -> str:
        """A name inside the catalog, if one is set."""
        parts = [self.catalog, *names] if self.catalog else list(names)
        return ".".join(self.quote(part) for part in parts)

    def table(self, schema: str, table: str) -> str:
        return self.qualified(schema, table)

    def stage_table(self, schema: str, name: str) -> str:
        """A Delta table of the export's schema: Databricks has no temporary tables."""
        return self.table(schema, name)

    def catalogue(self, schema: str, table: str) -> tuple[str, list[object]]:
        return (
            "SELECT column_name, data_type "
            f"FROM {self.qualified('information_schema')}.columns "
            "WHERE table_schema = ? AND table_name = ? ORDER BY ordinal_position",
            [schema.lower(), table.lower()],
        )

    def create_schema(self, schema: str) -> str:
        return f"CREATE SCHEMA IF NOT EXISTS {self.qualified(schema)}"

    def create_stage(self, schema: str, stage: str, columns: Mapping[str, str]) -> list[str]:
        return [self.create_table(stage, columns)]


class DatabricksConnection(DbApiConnection):
    """`DbApiConnection` binding ``datetime`` values as ``TIMESTAMP_NTZ``: the stored naive
    UTC value then never passes through the session's time zone."""

    def query(self, sql: str, params: Sequence[object] = ()) -> list[tuple[Any, ...]]:
        bound = [
            TimestampNTZParameter(value) if isinstance(value, datetime) else value
            for value in params
        ]
        return super().query(sql, bound)


class DatabricksLocation(BaseModel):
    """Which Databricks SQL warehouse (or cluster) to write through, and the token to use.

    ``server_hostname`` and ``http_path`` are the connection details Databricks shows for a
    SQL warehouse; ``access_token`` (a personal access token or a service principal's) is
    kept out of reprs and validation errors. ``catalog`` is the Unity Catalog catalog of
    the export's schema; without it, the connection's default catalog.
    """

    model_config = ConfigDict(frozen=True, hide_input_in_errors=True)

    server_hostname: str = Field(min_length=1)
    http_path: str = Field(min_length=1)
    access_token: SecretStr
    catalog: str | None = Field(default=None, min_length=1)

    def connect(self) -> Connection:
        return databricks.sql.connect(
            server_hostname=self.server_hostname,
            http_path=self.http_path,
            access_token=self.access_token.get_secret_value(),
            user_agent_entry="dot_orchestration",
        )

    @contextmanager
    def session(
        self, *, read_only: bool = False, after_delete: AfterDelete | None = None
    ) -> Iterator[StagedSession]:
        """One connection for a run's writes (or a check's reads). ``after_delete`` is never
        called: ``REPLACE WHERE`` deletes and inserts in one statement."""
        with closing(self.connect()) as connection:
            yield StagedSession(
                DatabricksConnection(connection, errors=(DatabricksError,)),
                DatabricksDialect(self.catalog),
                read_only=read_only,
                after_delete=after_delete,
            )
