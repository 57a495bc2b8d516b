"""Where the history tables live: a Dagster resource handing out `PartitionSession`s.

The export's IO manager and its checks use the same resource, so moving the tables from
DuckDB to Postgres, Snowflake, Redshift, BigQuery or Databricks is a change of this
resource (one field of `DotHistorySettings`) and nothing else. The SQL is the core's
(`dot_orchestration.warehouse`); this module only holds the configuration a step needs to
open a connection. Secrets are plain `str` fields meant for `EnvVar` (Dagster resolves them
at run time and shows only the reference); each is handed to the core as a `SecretStr`.
"""

from abc import ABC, abstractmethod
from contextlib import AbstractContextManager
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from dagster import ConfigurableResource
from pydantic import ConfigDict, Field, SecretStr, model_validator

from dot_orchestration.warehouse import PartitionSession

if TYPE_CHECKING:  # each needs its extra: imported where a resource turns into it
    from dot_orchestration.warehouse import (
        BigQueryLocation,
        DatabricksLocation,
        DuckDBLocation,
        PostgresLocation,
        RedshiftLocation,
        SnowflakeLocation,
    )

#: The resource keys the export's asset, IO manager and checks use.
WAREHOUSE_KEY = "dot_warehouse"
IO_MANAGER_KEY = "dot_history_io_manager"


class PartitionWarehouse(ConfigurableResource, ABC):
    """Where the history tables live; hands out `PartitionSession`s.

    Another warehouse implements `session` (open a connection and wrap it in a session
    keeping the contract of `dot_orchestration.warehouse`, e.g. a `StagedSession` with a
    `Dialect` of its own); the assets and checks stay as they are. `DotHistorySettings`
    names the six built in (`warehouse`: DuckDB, `postgres`, `snowflake`, `redshift`,
    `bigquery`, `databricks`); each turns its config into the core's location
    (`as_location`), whose sessions a test or a script can also open.
    """

    @abstractmethod
    def session(self, *, read_only: bool = False) -> AbstractContextManager[PartitionSession]:
        """One connection, used for a whole run's writes (or a check's reads)."""


class _Location(Protocol):
    """A core writer's configuration (`DuckDBLocation`, `SnowflakeLocation`, …)."""

    def session(self, *, read_only: bool = False) -> AbstractContextManager[PartitionSession]:
        """One connection wrapped in the writer's `PartitionSession`."""
        ...


class _BuiltIn(PartitionWarehouse, ABC):
    """A warehouse of the package: the resource only turns its config into the core's
    location (`as_location`), whose session does the work."""

    @abstractmethod
    def as_location(self) -> _Location:
        """The core writer's configuration, secrets as `SecretStr`."""

    def session(self, *, read_only: bool = False) -> AbstractContextManager[PartitionSession]:
        return self.as_location().session(read_only=read_only)


class DuckDBWarehouse(_BuiltIn):
    """The history tables in a DuckDB file, e.g. the one the example dbt project builds."""

    path: str = Field(description="The DuckDB database file; created on first write.")
    lock_timeout_s: float = Field(
        default=120.0,
        ge=0,
        description="How long to wait for another process (a dbt build) holding the file.",
    )

    def as_location(self) -> "DuckDBLocation":
        from dot_orchestration.warehouse import DuckDBLocation  # needs the [duckdb] extra

        return DuckDBLocation(path=Path(self.path), lock_timeout_s=self.lock_timeout_s)


class _ServerLogin(_BuiltIn, ABC):
    """A server reached with host, port, database, user and password: PostgreSQL and
    Redshift (which speaks its protocol). The password is for `EnvVar`; a literal one must
    not reach a validation error's input excerpt either."""

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

    def _login(self) -> dict[str, Any]:
        """The fields every such location takes, the password as a `SecretStr`."""
        return {
            "host": self.host,
            "port": self.port,
            "dbname": self.dbname,
            "user": self.user,
            "password": SecretStr(self.password),
            "sslmode": self.sslmode,
            "connect_timeout_s": self.connect_timeout_s,
        }


class PostgresWarehouse(_ServerLogin):
    """The history tables in a PostgreSQL database: the swap from DuckDB is this resource.

    Give `password` (and whatever else varies by deployment) as `EnvVar`, so the secret
    stays a reference in the definitions and the UI; it is also kept out of reprs and
    validation errors. Unlike DuckDB, PostgreSQL takes concurrent writers: no pool is
    needed, writers of one schema wait for each other (up to `lock_timeout_s`).
    """

    lock_timeout_s: float = Field(
        default=120.0,
        ge=0,
        description="How long to wait for another writer of the same schema (or any lock).",
    )

    def as_location(self) -> "PostgresLocation":
        from dot_orchestration.warehouse import PostgresLocation  # needs the [postgres] extra

        return PostgresLocation(**self._login(), lock_timeout_s=self.lock_timeout_s)


class SnowflakeWarehouse(_BuiltIn):
    """The history tables in Snowflake: `account` and one secret (`password`, or a key
    pair's `private_key_file`) as `EnvVar`s, and no code.

    Lower-case names (the default `dot_history.conversations`) are stored in upper case,
    as Snowflake stores unquoted names, so `select * from dot_history.conversations` and
    dbt sources find them.
    """

    model_config = ConfigDict(hide_input_in_errors=True)

    account: str = Field(description="Account identifier, e.g. `myorg-myaccount`. Use EnvVar.")
    user: str = Field(description="A user whose role may create the schema, or write its tables.")
    database: str = Field(description="The database holding the history schema.")
    warehouse: str | None = Field(default=None, description="Virtual warehouse to run on.")
    role: str | None = Field(default=None, description="Role; default: the user's default.")
    password: str | None = Field(default=None, repr=False, description="Password. Use EnvVar.")
    private_key_file: str | None = Field(
        default=None, description="Key-pair authentication: the private key's PEM file."
    )
    private_key_file_pwd: str | None = Field(
        default=None, repr=False, description="The private key's passphrase. Use EnvVar."
    )
    authenticator: str | None = Field(
        default=None, description="Another authenticator, e.g. `oauth` or `externalbrowser`."
    )
    lock_timeout_s: int = Field(
        default=120, ge=0, description="How long a writer waits for another writer's lock."
    )

    @model_validator(mode="after")
    def _one_way_to_log_in(self) -> "SnowflakeWarehouse":
        """At load, where the secrets are still `EnvVar` references: which are set is known."""
        from dot_orchestration.warehouse._snowflake import check_login  # the [snowflake] extra

        check_login(
            password=self.password is not None,
            private_key_file=self.private_key_file is not None,
            authenticator=self.authenticator,
        )
        return self

    def as_location(self) -> "SnowflakeLocation":
        from dot_orchestration.warehouse import SnowflakeLocation  # the [snowflake] extra

        return SnowflakeLocation(
            account=self.account,
            user=self.user,
            database=self.database,
            warehouse=self.warehouse,
            role=self.role,
            password=_secret(self.password),
            private_key_file=Path(self.private_key_file) if self.private_key_file else None,
            private_key_file_pwd=_secret(self.private_key_file_pwd),
            authenticator=self.authenticator,
            lock_timeout_s=self.lock_timeout_s,
        )


class RedshiftWarehouse(_ServerLogin):
    """The history tables in Amazon Redshift (provisioned or Serverless), over psycopg2.

    A second writer of the same tables waits for the first (a `LOCK` on them), as long as
    Redshift lets a lock wait.
    """

    port: int = Field(default=5439, description="The endpoint's port.")
    sslmode: str | None = Field(default="require", description="libpq sslmode.")

    def as_location(self) -> "RedshiftLocation":
        from dot_orchestration.warehouse import RedshiftLocation  # the [redshift] extra

        return RedshiftLocation(**self._login())


class BigQueryWarehouse(_BuiltIn):
    """The history tables in BigQuery: the export's `schema_name` is the dataset.

    Without `service_account_json`, the client uses Application Default Credentials (the
    workload's identity on GCP, or `GOOGLE_APPLICATION_CREDENTIALS`).
    """

    model_config = ConfigDict(hide_input_in_errors=True)

    project: str = Field(description="The Google Cloud project holding the dataset.")
    location: str | None = Field(
        default=None, description="The dataset's location (e.g. `EU`); None: BigQuery's default."
    )
    service_account_json: str | None = Field(
        default=None, repr=False, description="A service account's JSON key. Use EnvVar."
    )

    def as_location(self) -> "BigQueryLocation":
        from dot_orchestration.warehouse import BigQueryLocation  # the [bigquery] extra

        return BigQueryLocation(
            project=self.project,
            location=self.location,
            service_account_json=_secret(self.service_account_json),
        )


class DatabricksWarehouse(_BuiltIn):
    """The history tables in Databricks (Unity Catalog), through a SQL warehouse.

    Each table's day is replaced atomically, but the two tables are two commits: a crash
    between them leaves the conversations of the day new beside its old messages until the
    day is exported again (Databricks has no transaction across tables).
    """

    model_config = ConfigDict(hide_input_in_errors=True)

    server_hostname: str = Field(
        description="The workspace host, e.g. `dbc-….cloud.databricks.com`."
    )
    http_path: str = Field(description="The SQL warehouse's HTTP path.")
    access_token: str = Field(
        repr=False, description="A personal or service access token. Use EnvVar."
    )
    catalog: str | None = Field(default=None, description="The catalog; None: the default one.")

    def as_location(self) -> "DatabricksLocation":
        from dot_orchestration.warehouse import DatabricksLocation  # the [databricks] extra

        return DatabricksLocation(
            server_hostname=self.server_hostname,
            http_path=self.http_path,
            access_token=SecretStr(self.access_token),
            catalog=self.catalog,
        )


def _secret(value: str | None) -> SecretStr | None:
    return None if value is None else SecretStr(value)


__all__ = [
    "IO_MANAGER_KEY",
    "WAREHOUSE_KEY",
    "BigQueryWarehouse",
    "DatabricksWarehouse",
    "DuckDBWarehouse",
    "PartitionWarehouse",
    "PostgresWarehouse",
    "RedshiftWarehouse",
    "SnowflakeWarehouse",
]
