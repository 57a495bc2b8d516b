"""What one history export is: its days, its scope in Dot, its tables, where they live and
when they are exported. One class for Python and for a `DotComponent`'s `history:` section.

Definition-level on purpose: changing the scope or the time zone of existing tables is a
new definition writing new tables (two scopes written into the same tables would replace
each other's days).
"""

from datetime import date
from typing import ClassVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from dagster import AssetKey, DailyPartitionsDefinition, DefaultScheduleStatus
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from dot_orchestration.history.warehouses import (
    BigQueryWarehouse,
    DatabricksWarehouse,
    DuckDBWarehouse,
    PartitionWarehouse,
    PostgresWarehouse,
    RedshiftWarehouse,
    SnowflakeWarehouse,
)


class _Frozen(BaseModel):
    """Frozen and strict: a misspelt field is an error, in Python as in YAML."""

    model_config = ConfigDict(frozen=True, extra="forbid")


class DotHistoryTables(_Frozen):
    """Where the export's tables are and the key of the asset standing for them.

    All a dbt project needs to know to put its sources reading the tables downstream of the
    export (`DotHistoryDbtTranslator`, the dbt component's `dot_history:`).
    """

    schema_name: str = Field(default="dot_history", min_length=1, description="The schema.")
    conversations_table: str = Field(
        default="conversations", min_length=1, description="The conversations table."
    )
    messages_table: str = Field(default="messages", min_length=1, description="The messages table.")
    key: tuple[str, ...] = Field(
        default=("dot", "history"), min_length=1, description="The history asset's key."
    )

    @property
    def asset_key(self) -> AssetKey:
        return AssetKey(list(self.key))

    @property
    def tables(self) -> tuple[str, str]:
        """The conversations table and the messages table, in that order."""
        return self.conversations_table, self.messages_table


class HistorySchedule(_Frozen):
    """The daily run exporting the days that just closed."""

    hour_of_day: int = Field(default=1, ge=0, le=23, description="Hour, in the export's zone.")
    minute_of_hour: int = Field(default=0, ge=0, le=59)
    refresh_days: int = Field(
        default=1, ge=1, description="Re-export the last N closed days (late reviews, labels)."
    )
    default_status: DefaultScheduleStatus = DefaultScheduleStatus.STOPPED
    name: str | None = Field(
        default=None, description="The schedule's name; default `<key joined by _>_daily`."
    )
    downstream_dbt_select: str | None = Field(
        default=None,
        description="YAML only (Python passes `downstream=` to build_dot_history_definitions): "
        "dbt models to build after the export in the same run, e.g. `tag:dot_usage`, "
        "resolved by the dbt component's translator.",
    )


class HistoryFreshness(_Frozen):
    """A check that the latest closed day is exported by a deadline, and its sensor."""

    deadline_cron: str = Field(
        default="0 6 * * *", description="Deadline, in the export's zone; default 06:00 daily."
    )
    sensor_name: str | None = Field(
        default=None, description="The sensor's name; default `<key joined by _>_freshness`."
    )


#: How the load error for a missing or doubled warehouse names each built-in field.
_WAREHOUSE_HINTS = {
    "warehouse": "`warehouse` (a DuckDB file: `path`)",
    "postgres": "`postgres` (host, dbname, user, password)",
    "snowflake": "`snowflake` (account, user, database, password or private_key_file)",
    "redshift": "`redshift` (host, dbname, user, password)",
    "bigquery": "`bigquery` (project)",
    "databricks": "`databricks` (server_hostname, http_path, access_token)",
}


class DotHistorySettings(DotHistoryTables):
    """One history export: `build_dot_history_definitions(settings)` builds all of it.

    Set exactly one warehouse: `warehouse` (a DuckDB file), `postgres`, `snowflake`,
    `redshift`, `bigquery` or `databricks`. `schedule` and
    `freshness` are off until set (`HistorySchedule()`, `HistoryFreshness()` for the
    defaults).
    """

    start_date: date = Field(description="First day to export (in `timezone`).")
    timezone: str = Field(
        default="UTC", description="IANA time zone of the partitions' days, e.g. Europe/Berlin."
    )
    include_all_workspaces: bool = Field(
        default=False,
        description="Not part of Dot's documented API (an earlier guess of this package): "
        "when true, sends `include_all_workspaces=true`, which a Dot that does not know it "
        "ignores. Dot documents only start_date and end_date.",
    )
    environment: str | None = Field(
        default=None,
        description="Not settable: Dot's history is shared across environments, so one export "
        "holds every environment's conversations, tagged in the `environment` column.",
    )
    group_name: str = "dot"
    owners: tuple[str, ...] = ()
    pool: str | None = Field(
        default=None,
        description="Dagster pool of the export and its checks. DuckDB takes one writer "
        "process at a time: put dbt runs on the same file in the same pool (limit 1).",
    )
    warehouse: DuckDBWarehouse | None = Field(
        default=None, description="The DuckDB file holding the tables (or set `postgres`)."
    )
    postgres: PostgresWarehouse | None = Field(
        default=None,
        description="A PostgreSQL database holding the tables, instead of `warehouse`; its "
        "password as an EnvVar (in YAML only as `{{ env.NAME }}`).",
    )
    snowflake: SnowflakeWarehouse | None = Field(
        default=None,
        description="A Snowflake database holding the tables, instead of `warehouse`; its "
        "account and password (or key) as EnvVars (in YAML as `{{ env.NAME }}`).",
    )
    redshift: RedshiftWarehouse | None = Field(
        default=None,
        description="An Amazon Redshift database holding the tables, instead of `warehouse`; "
        "its password as an EnvVar (in YAML only as `{{ env.NAME }}`).",
    )
    bigquery: BigQueryWarehouse | None = Field(
        default=None,
        description="A BigQuery dataset (`schema_name`) holding the tables, instead of "
        "`warehouse`; a service account key, if any, as an EnvVar.",
    )
    databricks: DatabricksWarehouse | None = Field(
        default=None,
        description="A Databricks schema holding the tables, instead of `warehouse`; the "
        "access token as an EnvVar (in YAML only as `{{ env.NAME }}`).",
    )
    schedule: HistorySchedule | None = Field(default=None, description="Set it to enable.")
    freshness: HistoryFreshness | None = Field(default=None, description="Set it to enable.")

    @field_validator("environment", mode="before")
    @classmethod
    def _one_export_per_org(cls, environment: object) -> None:
        if environment is not None:
            raise ValueError(
                f"environment={environment!r}: Dot's chat history is shared across "
                "environments, each conversation tagged with its environment, so one export "
                "holds them all; remove `environment` and filter on the `environment` column "
                "(null: production)"
            )
        return None

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, name: str) -> str:
        try:
            ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {name!r}; use an IANA name like 'UTC'") from None
        return name

    #: The fields that can hold the warehouse; exactly one must be set. A warehouse of your
    #: own (a `PartitionWarehouse` subclass) is a subclass of these settings with a field
    #: holding it, its name added here.
    warehouse_fields: ClassVar[tuple[str, ...]] = (
        "warehouse",
        "postgres",
        "snowflake",
        "redshift",
        "bigquery",
        "databricks",
    )

    @model_validator(mode="after")
    def _one_warehouse(self) -> "DotHistorySettings":
        chosen = [name for name in self.warehouse_fields if getattr(self, name) is not None]
        if len(chosen) != 1:
            fields = [_WAREHOUSE_HINTS.get(name, f"`{name}`") for name in self.warehouse_fields]
            raise ValueError(
                f"set exactly one of {', '.join(fields[:-1])} and {fields[-1]}"
                + (f"; {len(chosen)} are set: {', '.join(chosen)}" if chosen else "")
            )
        return self

    @property
    def name(self) -> str:
        """Prefix of the names of its checks, schedule and sensor: `dot_history` by default."""
        return "_".join(self.key)

    def partition_warehouse(self) -> PartitionWarehouse:
        """The resource the export and its checks write and read through."""
        (chosen,) = [getattr(self, name) for name in self.warehouse_fields if getattr(self, name)]
        if not isinstance(chosen, PartitionWarehouse):
            raise TypeError(
                f"{type(chosen).__name__} is not a PartitionWarehouse: a field named in "
                "`warehouse_fields` must hold one"
            )
        return chosen

    def partitions_def(self) -> DailyPartitionsDefinition:
        """One partition per closed day; today's appears once it has ended."""
        return DailyPartitionsDefinition(
            start_date=self.start_date.isoformat(), timezone=self.timezone
        )


__all__ = [
    "DotHistorySettings",
    "DotHistoryTables",
    "HistoryFreshness",
    "HistorySchedule",
]
