"""Where the history tables live: a Dagster resource handing out `PartitionSession`s.

The export's IO manager and its checks use the same resource, so moving the tables from
DuckDB to Postgres is a change of this resource (`DotHistorySettings.warehouse` or
`.postgres`) and nothing else. The SQL is the core's (`dot_orchestration.warehouse`); this
module only holds the configuration a step needs to open a connection.
"""

from abc import ABC, abstractmethod
from contextlib import AbstractContextManager
from pathlib import Path

from dagster import ConfigurableResource
from pydantic import ConfigDict, Field, SecretStr

from dot_orchestration.warehouse import PartitionSession

#: The resource keys the export's asset, IO manager and checks use.
WAREHOUSE_KEY = "dot_warehouse"
IO_MANAGER_KEY = "dot_history_io_manager"


class PartitionWarehouse(ConfigurableResource, ABC):
    """Where the history tables live; hands out `PartitionSession`s.

    Another warehouse implements `session` (open a connection and wrap it in a session
    keeping the contract of `dot_orchestration.warehouse`, as `PostgresWarehouse` does);
    the assets and checks stay as they are. `DotHistorySettings` names the two built in
    (`warehouse`: DuckDB, `postgres`).
    """

    @abstractmethod
    def session(self, *, read_only: bool = False) -> AbstractContextManager[PartitionSession]:
        """One connection, used for a whole run's writes (or a check's reads)."""


class DuckDBWarehouse(PartitionWarehouse):
    """The history tables in a DuckDB file, e.g. the one the example dbt project builds."""

    path: str = Field(description="The DuckDB database file; created on first write.")
    lock_timeout_s: float = Field(
        default=120.0,
        ge=0,
        description="How long to wait for another process (a dbt build) holding the file.",
    )

    def session(self, *, read_only: bool = False) -> AbstractContextManager[PartitionSession]:
        from dot_orchestration.warehouse import DuckDBLocation  # needs the [duckdb] extra

        location = DuckDBLocation(path=Path(self.path), lock_timeout_s=self.lock_timeout_s)
        return location.session(read_only=read_only)


class PostgresWarehouse(PartitionWarehouse):
    """The history tables in a PostgreSQL database: the swap from DuckDB is this resource.

    Give `password` (and whatever else varies by deployment) as `EnvVar`, so the secret
    stays a reference in the definitions and the UI; it is also kept out of reprs and
    validation errors. Unlike DuckDB, PostgreSQL takes concurrent writers: no pool is
    needed, writers of one schema wait for each other (up to `lock_timeout_s`).
    """

    # A password given literally must not reach a validation error's input excerpt.
    model_config = ConfigDict(hide_input_in_errors=True)

    host: str = Field(description="Server host name or address.")
    port: int = Field(default=5432, description="Server port.")
    dbname: str = Field(description="The database holding the history schema.")
    user: str = Field(description="A role that may create the schema, or write its tables.")
    password: str = Field(repr=False, description="The role's password. Use EnvVar.")
    sslmode: str | None = Field(
        default=None, description="libpq sslmode, e.g. `require`; None: libpq's default."
    )
    connect_timeout_s: int = Field(default=10, gt=0, description="Connection timeout.")
    lock_timeout_s: float = Field(
        default=120.0,
        ge=0,
        description="How long to wait for another writer of the same schema (or any lock).",
    )

    def session(self, *, read_only: bool = False) -> AbstractContextManager[PartitionSession]:
        from dot_orchestration.warehouse import PostgresLocation  # needs the [postgres] extra

        location = PostgresLocation(
            host=self.host,
            port=self.port,
            dbname=self.dbname,
            user=self.user,
            password=SecretStr(self.password),
            sslmode=self.sslmode,
            connect_timeout_s=self.connect_timeout_s,
            lock_timeout_s=self.lock_timeout_s,
        )
        return location.session(read_only=read_only)


__all__ = [
    "IO_MANAGER_KEY",
    "WAREHOUSE_KEY",
    "DuckDBWarehouse",
    "PartitionWarehouse",
    "PostgresWarehouse",
]
