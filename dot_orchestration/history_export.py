"""Dot's conversation history in the warehouse, one day per partition, exactly once.

One asset (default key `dot/history`) stands for two tables, `<schema>.conversations` and
`<schema>.messages`, partitioned by the day a conversation was created in the chosen time
zone. A run, whether the daily schedule's single day or a single-run backfill of a year,
is one step:

1. **Fetch.** One `GET /api/export_history` per day, on a bounded thread pool
   (`DotResource.max_concurrency`), each day normalised by `normalise_history` and spooled
   to local disk. Memory holds the days in flight, never the run's range.
2. **Land.** The asset returns the spooled `HistoryExport`; `DotHistoryIOManager` replaces
   each day's partition of both tables in one transaction, all days on one connection.

Why it is exactly once:

* **The request is the day.** Dot's `start_date`/`end_date` are UTC days, end exclusive
  (the emulator behaves so; Dot's default end "tomorrow" implies it). A UTC partition asks
  for exactly its day. A partition in another time zone asks for the two UTC days its
  window overlaps and keeps the conversations created inside the window; the others belong
  to the neighbouring partition, which fetches them itself.
* **Anything outside the request fails the run.** `normalise_history` refuses a
  conversation created outside the requested days, so a Dot that filtered differently
  (say, an inclusive end) fails loudly on the first day instead of doubling rows.
* **Nothing is written unless every day of the run was fetched and normalised**, so a
  failure at Dot leaves the warehouse as it was. (A failure of the warehouse itself stops
  the writes at that day: the days before it are replaced whole, the rest untouched.) The
  first failure stops the run; re-running it is safe, because:
* **A write replaces, atomically.** Each day's rows of both tables are deleted and inserted
  in one transaction: a crash leaves the old day or the new day, and a re-run never
  duplicates rows.
* **An empty day is written only when Dot said so.** A `SpooledDay` exists only for an
  answer Dot sent and that parsed whole; an error, a malformed body or an unknown shape
  fails the run, so the only way to an empty partition is Dot's empty list.

One export covers the whole Dot org: Dot's chat history is shared across environments,
each conversation tagged with its environment (kept in the `environment` column), so the
export never sends `X-Dot-Environment` and there is nothing to export per environment. What
is exported (`include_all_workspaces`) is part of the definition, not of a run's config: two
scopes written into the same tables would replace each other's days.

The warehouse is a resource (`PartitionWarehouse`: `DuckDBWarehouse`, `PostgresWarehouse`),
used by the IO manager and the checks alike. Moving the tables from DuckDB to Postgres is a
change of that resource; Snowflake or BigQuery is another `PartitionWarehouse` (see
`dot_orchestration.warehouse` for the contract) passed to `dot_history_resources`.
"""

import pickle
import tempfile
from abc import ABC, abstractmethod
from collections.abc import Iterator, Mapping, Sequence
from concurrent.futures import FIRST_EXCEPTION, ThreadPoolExecutor, wait
from contextlib import AbstractContextManager
from dataclasses import dataclass, replace
from datetime import date, datetime, time, timedelta, timezone
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import pandas as pd
from dagster import (
    AssetCheckExecutionContext,
    AssetCheckResult,
    AssetChecksDefinition,
    AssetCheckSeverity,
    AssetCheckSpec,
    AssetExecutionContext,
    AssetKey,
    AssetsDefinition,
    AssetSelection,
    BackfillPolicy,
    ConfigurableIOManager,
    ConfigurableResource,
    DagsterInstance,
    DailyPartitionsDefinition,
    DefaultScheduleStatus,
    DefaultSensorStatus,
    Definitions,
    Failure,
    InputContext,
    MetadataValue,
    OutputContext,
    ResourceDependency,
    RunRequest,
    ScheduleDefinition,
    ScheduleEvaluationContext,
    SensorDefinition,
    SkipReason,
    TimeWindowPartitionsDefinition,
    asset,
    build_sensor_for_freshness_checks,
    build_time_partition_freshness_checks,
    define_asset_job,
    multi_asset_check,
    schedule,
)
from dagster_dbt import DagsterDbtTranslator, DagsterDbtTranslatorSettings
from pydantic import BaseModel, ConfigDict, Field, field_validator

from dot_orchestration._compat import (
    PARTITION_RANGE_END_TAG,
    PARTITION_RANGE_START_TAG,
    NamespacedMetadataSet,
)
from dot_orchestration.client import DotClient, DotError
from dot_orchestration.resources import DotResource
from dot_orchestration.transforms.history import (
    CONVERSATION_DTYPES,
    MESSAGE_DTYPES,
    HistoryShapeError,
    NormalisedHistory,
    normalise_history,
)
from dot_orchestration.warehouse import PartitionSession

WAREHOUSE_KEY = "dot_warehouse"
IO_MANAGER_KEY = "dot_history_io_manager"
PARTITION_COLUMN = "partition_date"


class DotHistorySettings(BaseModel):
    """What one history export is: its days, its scope in Dot and its tables.

    Definition-level on purpose (see the module docstring): changing the scope or the
    time zone of existing tables is a new definition writing new tables.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

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
    schema_name: str = Field(default="dot_history", min_length=1)
    conversations_table: str = Field(default="conversations", min_length=1)
    messages_table: str = Field(default="messages", min_length=1)
    key: tuple[str, ...] = Field(default=("dot", "history"), min_length=1)
    group_name: str = "dot"
    owners: tuple[str, ...] = ()
    pool: str | None = Field(
        default=None,
        description="Dagster pool of the export and its checks. DuckDB takes one writer "
        "process at a time: put dbt runs on the same file in the same pool (limit 1).",
    )

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

    @property
    def asset_key(self) -> AssetKey:
        return AssetKey(list(self.key))

    @property
    def name(self) -> str:
        """Prefix of the names of its checks, schedule and sensor: `dot_history` by default."""
        return "_".join(self.key)

    @property
    def tables(self) -> tuple[str, str]:
        """The conversations table and the messages table, in that order."""
        return self.conversations_table, self.messages_table

    def partitions_def(self) -> DailyPartitionsDefinition:
        """One partition per closed day; today's appears once it has ended."""
        return DailyPartitionsDefinition(
            start_date=self.start_date.isoformat(), timezone=self.timezone
        )


class DotHistoryMetadata(NamespacedMetadataSet):
    """Carried in the asset's spec, read back by the IO manager: where the tables are."""

    schema_name: str | None = None
    conversations_table: str | None = None
    messages_table: str | None = None
    include_all_workspaces: bool | None = None

    @classmethod
    def namespace(cls) -> str:
        return "dot_history"

    @classmethod
    def of(cls, settings: DotHistorySettings) -> "DotHistoryMetadata":
        return cls(
            schema_name=settings.schema_name,
            conversations_table=settings.conversations_table,
            messages_table=settings.messages_table,
            include_all_workspaces=settings.include_all_workspaces,
        )


# --- the warehouse seam -------------------------------------------------------------------


class PartitionWarehouse(ConfigurableResource, ABC):
    """Where the history tables live; hands out `PartitionSession`s.

    Implement `session` for another warehouse (open a connection and wrap it in a session
    keeping the contract of `dot_orchestration.warehouse`, as `PostgresWarehouse` does) and
    pass it to `dot_history_resources`: the assets and checks stay as they are.
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
            password=self.password,  # a SecretStr from here on
            sslmode=self.sslmode,
            connect_timeout_s=self.connect_timeout_s,
            lock_timeout_s=self.lock_timeout_s,
        )
        return location.session(read_only=read_only)


def dot_history_resources(warehouse: PartitionWarehouse) -> dict[str, Any]:
    """The resources the history assets and checks need, sharing one warehouse."""
    return {WAREHOUSE_KEY: warehouse, IO_MANAGER_KEY: DotHistoryIOManager(warehouse=warehouse)}


# --- one day ------------------------------------------------------------------------------


@dataclass(frozen=True)
class DayRequest:
    """One partition and the `export_history` call that covers it."""

    partition_key: str
    day: date  # the partition's day in its time zone
    start_date: date  # Dot's UTC start day
    end_date: date  # Dot's UTC end day, exclusive

    @property
    def window(self) -> tuple[datetime, datetime]:
        """The instants Dot's answer must fall in: the requested UTC days."""
        return _utc_midnight(self.start_date), _utc_midnight(self.end_date)

    def describe(self) -> str:
        return f"start_date={self.start_date}, end_date={self.end_date}"


def day_requests(
    partitions_def: TimeWindowPartitionsDefinition, partition_keys: Sequence[str]
) -> list[DayRequest]:
    """The smallest call Dot's date-granular API allows for each partition."""
    requests = []
    for key in partition_keys:
        window = partitions_def.time_window_for_partition_key(key)
        start = window.start.astimezone(timezone.utc)
        end = window.end.astimezone(timezone.utc)
        end_date = end.date() if end.time() == time() else end.date() + timedelta(days=1)
        requests.append(DayRequest(key, window.start.date(), start.date(), end_date))
    return requests


@dataclass(frozen=True)
class SpooledDay:
    """One partition's normalised rows, on local disk until the IO manager lands them."""

    request: DayRequest
    conversations: int
    messages: int
    path: Path

    def load(self) -> NormalisedHistory:
        with self.path.open("rb") as spooled:
            history: NormalisedHistory = pickle.load(spooled)
        return history

    def metadata(self) -> dict[str, MetadataValue]:
        """Per-partition metadata: the counts are numbers, so the UI plots them by day."""
        return {
            "conversations": MetadataValue.int(self.conversations),
            "messages": MetadataValue.int(self.messages),
            "dot_request": MetadataValue.text(self.request.describe()),
        }


class HistoryExport:
    """What a run fetched: one spooled day per partition, in partition order.

    The history asset's output. The spool is a temporary directory removed by `close`
    (the IO manager calls it) or, failing that, when the object is garbage collected.
    """

    def __init__(self, days: Sequence[SpooledDay], spool: tempfile.TemporaryDirectory[str]):
        self.days = list(days)
        self._spool = spool

    def __iter__(self) -> Iterator[tuple[SpooledDay, NormalisedHistory]]:
        """Each day with its rows, loaded one at a time."""
        for day in self.days:
            yield day, day.load()

    def close(self) -> None:
        self._spool.cleanup()


def export_day(
    client: DotClient, request: DayRequest, *, settings: DotHistorySettings, spool: Path
) -> SpooledDay:
    """Fetch, normalise and spool one partition (runs on the pool's threads)."""
    history = _fetch_day(client, request, settings)
    path = spool / f"{request.partition_key}.pickle"
    with path.open("wb") as out:
        pickle.dump(history, out, protocol=pickle.HIGHEST_PROTOCOL)
    return SpooledDay(
        request=request,
        conversations=len(history.conversations),
        messages=len(history.messages),
        path=path,
    )


def _fetch_day(
    client: DotClient, request: DayRequest, settings: DotHistorySettings
) -> NormalisedHistory:
    """The partition's rows (Dot's raw answer, several times their size, is dropped on
    return, before the rows are spooled)."""
    payload = client.export_history(
        request.start_date,
        request.end_date,
        include_all_workspaces=settings.include_all_workspaces,
    )
    start, end = request.window
    history = normalise_history(payload, window_start=start, window_end=end, tz=settings.timezone)
    return _rows_of_day(history, request.day)


def _rows_of_day(history: NormalisedHistory, day: date) -> NormalisedHistory:
    """The partition's rows; a two-day request also returned the neighbour's."""
    conversations, messages = history.conversations, history.messages
    if (conversations[PARTITION_COLUMN] == day).all():
        return history
    return NormalisedHistory(
        conversations=conversations[conversations[PARTITION_COLUMN] == day].reset_index(drop=True),
        messages=messages[messages[PARTITION_COLUMN] == day].reset_index(drop=True),
    )


def _utc_midnight(day: date) -> datetime:
    return datetime.combine(day, time(), tzinfo=timezone.utc)


# --- many days ----------------------------------------------------------------------------


def export_history(
    dot: DotResource, requests: Sequence[DayRequest], settings: DotHistorySettings
) -> HistoryExport:
    """Every requested day, fetched `max_concurrency` at a time; all of them or a `Failure`.

    The first day that fails stops the run (queued days are cancelled): with nothing
    written yet, the warehouse and Dagster's record stay in agreement, and the re-run
    replaces whatever an earlier run wrote.
    """
    spool = tempfile.TemporaryDirectory(prefix="dot-history-")
    try:
        days = _fetch_all(dot, requests, settings, Path(spool.name))
    except BaseException:
        spool.cleanup()
        raise
    return HistoryExport(days, spool)


def _fetch_all(
    dot: DotResource, requests: Sequence[DayRequest], settings: DotHistorySettings, spool: Path
) -> list[SpooledDay]:
    workers = max(1, min(dot.max_concurrency, len(requests)))
    with (
        dot.get_client() as client,
        ThreadPoolExecutor(max_workers=workers, thread_name_prefix="dot-history") as pool,
    ):
        futures = {
            pool.submit(export_day, client, request, settings=settings, spool=spool): request
            for request in requests
        }
        done, pending = wait(futures, return_when=FIRST_EXCEPTION)
        for future in pending:
            future.cancel()
        for future, request in futures.items():  # the earliest failed day, if any
            error = future.exception() if future in done else None
            if error is not None:
                raise _failure(request, error, len(requests))
    return [future.result() for future in futures]


def _failure(request: DayRequest, error: BaseException, days: int) -> BaseException:
    """Dot's errors and unusable answers as a Failure saying which day and why."""
    if not isinstance(error, DotError | HistoryShapeError):
        return error  # a bug, not Dot: keep its traceback
    what = "" if isinstance(error, DotError) else "Dot's answer does not fit the tables: "
    return Failure(
        description=(
            f"Dot history export of {request.partition_key} ({request.describe()}) failed: "
            f"{what}{error}. None of the run's {days} day(s) was written; the previous rows "
            "are intact."
        ),
        metadata={
            "partition": request.partition_key,
            "dot_request": request.describe(),
            "error": MetadataValue.text(str(error)),
        },
    )


# --- the asset ----------------------------------------------------------------------------


def build_dot_history_assets(settings: DotHistorySettings) -> AssetsDefinition:
    """The daily-partitioned history asset; backfills of any range run as one step."""
    partitions_def = settings.partitions_def()
    tables = ", ".join(f"{settings.schema_name}.{table}" for table in settings.tables)

    @asset(
        key=settings.asset_key,
        partitions_def=partitions_def,
        backfill_policy=BackfillPolicy.single_run(),
        io_manager_key=IO_MANAGER_KEY,
        group_name=settings.group_name,
        owners=list(settings.owners),
        kinds={"dot"},
        tags={"dot/operation": "history_export"},
        pool=settings.pool,
        metadata={**DotHistoryMetadata.of(settings)},
        description=(
            f"Dot's conversation history in {tables}, one partition per day of "
            f"{settings.timezone} (a conversation's creation day). Each run fetches its days "
            "from Dot's export and replaces them atomically; re-running a day or backfilling "
            "a range is safe. On failure the run log names the day and Dot's answer and "
            "nothing of the run was written: 401/403 means DOT_API_KEY needs renewing, 5xx or "
            "a timeout that Dot is down, a shape error quotes what Dot sent; fix it and "
            "re-execute the same partitions."
        ),
    )
    def _dot_history(context: AssetExecutionContext, dot: DotResource) -> HistoryExport:
        export = export_history(dot, day_requests(partitions_def, context.partition_keys), settings)
        for day in export.days:
            context.add_asset_metadata(day.metadata(), partition_key=day.request.partition_key)
        context.log.info(
            f"Fetched {len(export.days)} day(s) from Dot: "
            f"{sum(day.conversations for day in export.days)} conversations, "
            f"{sum(day.messages for day in export.days)} messages"
        )
        return export

    return _dot_history


# --- the IO manager -----------------------------------------------------------------------


class DotHistoryIOManager(ConfigurableIOManager):
    """Lands a `HistoryExport`: each day's rows of both tables in one transaction.

    Unlike a generic DataFrame IO manager it never deletes outside the transaction that
    inserts, it writes empty partitions only for days Dot answered with nothing (see the
    module docstring), and it writes a whole run on one connection. Loading gives the
    stored `NormalisedHistory` of the requested partitions (all of them for an
    unpartitioned consumer: mind the size).
    """

    warehouse: ResourceDependency[PartitionWarehouse]

    def handle_output(self, context: OutputContext, obj: HistoryExport) -> None:
        if not isinstance(obj, HistoryExport):
            raise TypeError(
                f"{IO_MANAGER_KEY} lands HistoryExport values, got {type(obj).__name__}"
            )
        schema, tables = _tables(context.definition_metadata)
        inserted = deleted = 0
        try:
            with self.warehouse.session() as session:
                for day, history in obj:
                    results = session.replace_partitions(
                        schema=schema,
                        tables={tables[0]: history.conversations, tables[1]: history.messages},
                        partition_column=PARTITION_COLUMN,
                        partition_values=[day.request.day],
                        # a SpooledDay exists only for an answer Dot sent that parsed whole:
                        # no conversation in it means Dot has none for this day
                        allow_empty=day.conversations == 0,
                    )
                    inserted += sum(result.rows_inserted for result in results.values())
                    deleted += sum(result.rows_deleted for result in results.values())
        finally:
            obj.close()
        context.log.info(
            f"Replaced {len(obj.days)} day(s) of {schema}.{{{','.join(tables)}}}: "
            f"{inserted} rows written, {deleted} previous rows replaced"
        )

    def load_input(self, context: InputContext) -> NormalisedHistory:
        schema, (conversations, messages) = _tables(context.upstream_output.definition_metadata)
        # DailyPartitionsDefinition's keys are ISO dates (the history asset sets no format)
        days = [date.fromisoformat(key) for key in context.asset_partition_keys]
        with self.warehouse.session(read_only=True) as session:
            frames = [
                session.read_partitions(
                    schema=schema,
                    table=table,
                    partition_column=PARTITION_COLUMN,
                    partition_values=days,
                )
                for table in (conversations, messages)
            ]
        return NormalisedHistory(conversations=frames[0], messages=frames[1])


def _tables(metadata: Mapping[str, Any]) -> tuple[str, tuple[str, str]]:
    """The schema and tables named in the asset's spec (`DotHistoryMetadata`)."""
    tables = DotHistoryMetadata.extract(metadata)
    if not (tables.schema_name and tables.conversations_table and tables.messages_table):
        raise ValueError(
            f"{IO_MANAGER_KEY} only lands assets built by build_dot_history_assets "
            "(their spec names the tables)"
        )
    return tables.schema_name, (tables.conversations_table, tables.messages_table)


# --- checks -------------------------------------------------------------------------------


def build_dot_history_checks(settings: DotHistorySettings) -> AssetChecksDefinition:
    """The tables match the contract and hold no conversation twice (both blocking: a dbt
    model downstream in the same run is not built on tables that fail them), and no closed
    day is missing (a warning). One step, one read-only connection, after every export.
    """
    key = settings.asset_key
    specs = [
        AssetCheckSpec(
            "tables_match_contract",
            asset=key,
            blocking=True,
            description="Both tables have exactly the contract's columns and types.",
        ),
        AssetCheckSpec(
            "unique_conversation_ids",
            asset=key,
            blocking=True,
            description="No conversation in two rows (or two partitions), no message twice.",
        ),
        AssetCheckSpec(
            "every_closed_day_exported",
            asset=key,
            description="Every day from the start date to the last closed one has been "
            "exported; a warning lists the missing ones (backfill them).",
        ),
    ]

    @multi_asset_check(
        specs=specs,
        name=f"{settings.name}_table_checks",
        required_resource_keys={WAREHOUSE_KEY},
        pool=settings.pool,
    )
    def _table_checks(context: AssetCheckExecutionContext) -> Iterator[AssetCheckResult]:
        warehouse: PartitionWarehouse = getattr(context.resources, WAREHOUSE_KEY)
        with warehouse.session(read_only=True) as session:
            yield _contract_result(session, settings)
            yield _unique_result(session, settings)
        yield _complete_result(context.instance, settings)

    return _table_checks


def _complete_result(instance: DagsterInstance, settings: DotHistorySettings) -> AssetCheckResult:
    """Gaps in the history: closed days Dagster has no materialization of. A warning, not an
    error: a new deployment starts with today's days and backfills the past when it likes."""
    closed = settings.partitions_def().get_partition_keys()
    done = instance.get_materialized_partitions(settings.asset_key)
    missing = [day for day in closed if day not in done]
    metadata: dict[str, Any] = {
        "closed_days": MetadataValue.int(len(closed)),
        "missing_days": MetadataValue.int(len(missing)),
    }
    if not missing:
        return AssetCheckResult(
            check_name="every_closed_day_exported", passed=True, metadata=metadata
        )
    shown = ", ".join(missing[:5]) + (f" and {len(missing) - 5} more" if len(missing) > 5 else "")
    return AssetCheckResult(
        check_name="every_closed_day_exported",
        passed=False,
        severity=AssetCheckSeverity.WARN,
        metadata=metadata,
        description=f"{len(missing)} closed day(s) not exported: {shown}. Backfill them "
        "(Materialize → a partition range); one run fetches the range concurrently.",
    )


def build_dot_history_freshness(
    settings: DotHistorySettings, *, deadline_cron: str = "0 6 * * *"
) -> tuple[list[AssetChecksDefinition], SensorDefinition]:
    """A check that the latest closed day is exported by `deadline_cron` (in the export's
    time zone), and the sensor that evaluates it.

    Based on Dagster's partition records, so a day Dot had nothing for counts once its
    (empty) partition is materialized. Dagster marks these checks superseded by
    `FreshnessPolicy`, but that policy looks at an asset's latest materialization of any
    partition (a backfill of last March would count as fresh); this check asks for the
    latest closed day, which is the promise here.
    """
    checks = list(
        build_time_partition_freshness_checks(
            assets=[settings.asset_key], deadline_cron=deadline_cron, timezone=settings.timezone
        )
    )
    sensor = build_sensor_for_freshness_checks(
        freshness_checks=checks,
        name=f"{settings.name}_freshness",
        default_status=DefaultSensorStatus.RUNNING,
    )
    return checks, sensor


def _contract_result(session: PartitionSession, settings: DotHistorySettings) -> AssetCheckResult:
    conversations, messages = settings.tables
    contracts = ((conversations, CONVERSATION_DTYPES), (messages, MESSAGE_DTYPES))
    problems = {
        table: session.schema_problems(
            schema=settings.schema_name,
            table=table,
            frame=_empty_frame(dtypes),
            partition_column=PARTITION_COLUMN,
        )
        for table, dtypes in contracts
    }
    problems = {table: found for table, found in problems.items() if found}
    if not problems:
        return AssetCheckResult(check_name="tables_match_contract", passed=True)
    return AssetCheckResult(
        check_name="tables_match_contract",
        passed=False,
        metadata={"problems": MetadataValue.json(problems)},
        description="; ".join(f"{table}: {', '.join(found)}" for table, found in problems.items()),
    )


def _unique_result(session: PartitionSession, settings: DotHistorySettings) -> AssetCheckResult:
    conversations, messages = settings.tables
    duplicated = {
        table: session.duplicate_keys(schema=settings.schema_name, table=table, columns=columns)
        for table, columns in (
            (conversations, ["conversation_id"]),
            (messages, ["conversation_id", "message_index"]),
        )
    }
    metadata: dict[str, Any] = {
        f"duplicated_{table}": MetadataValue.int(found.count) for table, found in duplicated.items()
    }
    examples = {
        table: [{"key": list(map(str, key)), "rows": rows} for key, rows in found.examples]
        for table, found in duplicated.items()
        if found.count
    }
    if examples:
        metadata["examples"] = MetadataValue.json(examples)
    return AssetCheckResult(
        check_name="unique_conversation_ids",
        passed=not examples,
        metadata=metadata,
    )


def _empty_frame(dtypes: Mapping[str, str]) -> pd.DataFrame:
    return pd.DataFrame({column: pd.Series(dtype=dtype) for column, dtype in dtypes.items()})


# --- schedule -----------------------------------------------------------------------------


def build_dot_history_schedule(
    history: AssetsDefinition,
    *,
    downstream: AssetSelection | None = None,
    hour_of_day: int = 1,
    minute_of_hour: int = 0,
    refresh_days: int = 1,
    default_status: DefaultScheduleStatus = DefaultScheduleStatus.STOPPED,
    name: str = "dot_history_daily",
) -> ScheduleDefinition:
    """Every day at `hour_of_day:minute_of_hour` in the partitions' time zone, after the
    day closed: export the last `refresh_days` closed days in one run, then `downstream`.

    `refresh_days > 1` re-exports recent days too, picking up what Dot adds to a
    conversation later (its auto-review score, labels). `downstream` is typically the dbt
    models reading the tables, e.g. `build_dbt_asset_selection([dbt], "tag:dot_usage")`.
    """
    partitions_def = history.partitions_def
    if not isinstance(partitions_def, TimeWindowPartitionsDefinition):
        raise ValueError("build_dot_history_schedule needs the daily-partitioned history asset")
    if refresh_days < 1:
        raise ValueError(f"refresh_days must be at least 1, got {refresh_days}")
    selection = AssetSelection.assets(history)
    job = define_asset_job(
        f"{name}_job",
        selection=selection | downstream if downstream is not None else selection,
        description="Export the days of Dot history that just closed, then what reads them.",
    )

    @schedule(
        name=name,
        job=job,
        cron_schedule=f"{minute_of_hour} {hour_of_day} * * *",
        execution_timezone=partitions_def.timezone,
        default_status=default_status,
    )
    def _daily(context: ScheduleEvaluationContext) -> RunRequest | SkipReason:
        # Set by the daemon for every tick; a hand-built context must pass it too.
        now = context.scheduled_execution_time
        keys = partitions_def.get_partition_keys(current_time=now)[-refresh_days:]
        if not keys:
            return SkipReason(f"no day has closed since {partitions_def.start:%Y-%m-%d}")
        return RunRequest(
            run_key=f"{keys[0]}..{keys[-1]}",
            tags={
                PARTITION_RANGE_START_TAG: keys[0],
                PARTITION_RANGE_END_TAG: keys[-1],
            },
        )

    return _daily


# --- all of it -----------------------------------------------------------------------------


def build_dot_history_definitions(
    settings: DotHistorySettings,
    *,
    downstream: AssetSelection | None = None,
    refresh_days: int = 1,
    freshness_deadline_cron: str = "0 6 * * *",
) -> Definitions:
    """Asset, checks, schedule and freshness sensor of one export, without resources:
    merge it with definitions that provide `dot` (`DotResource`) and
    `dot_history_resources(warehouse)`. `downstream` joins the daily run (see
    `build_dot_history_schedule`)."""
    history = build_dot_history_assets(settings)
    freshness, freshness_sensor = build_dot_history_freshness(
        settings, deadline_cron=freshness_deadline_cron
    )
    return Definitions(
        assets=[history],
        asset_checks=[build_dot_history_checks(settings), *freshness],
        schedules=[
            build_dot_history_schedule(
                history,
                downstream=downstream,
                refresh_days=refresh_days,
                name=f"{settings.name}_daily",
            )
        ],
        sensors=[freshness_sensor],
    )


# --- dbt ----------------------------------------------------------------------------------


class DotHistoryDbtTranslator(DagsterDbtTranslator):
    """dagster-dbt's translator, plus: dbt sources reading the export's tables are the
    history asset, so the dbt models selecting from them are downstream of it.

    Sources are matched by the relation they read (schema and table), not by their dbt
    name. Both tables map to the one asset, which dagster-dbt allows only with
    `enable_duplicate_source_asset_keys`; this translator turns it on.
    """

    def __init__(
        self,
        history: DotHistorySettings,
        settings: DagsterDbtTranslatorSettings | None = None,
    ) -> None:
        super().__init__(
            settings=replace(
                settings or DagsterDbtTranslatorSettings(), enable_duplicate_source_asset_keys=True
            )
        )
        self._history_key = history.asset_key
        self._relations = {(history.schema_name.lower(), table.lower()) for table in history.tables}

    def get_asset_key(self, dbt_resource_props: Mapping[str, Any]) -> AssetKey:
        if dbt_resource_props.get("resource_type") == "source":
            table = dbt_resource_props.get("identifier") or dbt_resource_props.get("name", "")
            relation = (str(dbt_resource_props.get("schema", "")).lower(), str(table).lower())
            if relation in self._relations:
                return self._history_key
        return super().get_asset_key(dbt_resource_props)


__all__ = [
    "IO_MANAGER_KEY",
    "PARTITION_COLUMN",
    "WAREHOUSE_KEY",
    "DayRequest",
    "DotHistoryDbtTranslator",
    "DotHistoryIOManager",
    "DotHistoryMetadata",
    "DotHistorySettings",
    "DuckDBWarehouse",
    "HistoryExport",
    "PartitionWarehouse",
    "PostgresWarehouse",
    "SpooledDay",
    "build_dot_history_assets",
    "build_dot_history_checks",
    "build_dot_history_definitions",
    "build_dot_history_freshness",
    "build_dot_history_schedule",
    "day_requests",
    "dot_history_resources",
    "export_day",
    "export_history",
]
