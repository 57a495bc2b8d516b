"""`DotHistoryExportOperator`: one day of Dot's conversation history per logical date,
replaced in the warehouse (DuckDB or PostgreSQL) in one transaction, so `airflow
backfill` and re-runs never duplicate rows; `day_request`, the export call for a closed
day of a time zone.
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import AbstractContextManager
from datetime import date, datetime, timedelta
from datetime import time as midnight
from pathlib import Path
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from pydantic import SecretStr

from dot_orchestration.airflow import airflow_required
from dot_orchestration.airflow.operators._base import DotOperatorBase
from dot_orchestration.transforms.history_days import DayExportError, DayRequest, fetch_days
from dot_orchestration.warehouse import PartitionSession

with airflow_required():
    from airflow.sdk import BaseHook
    from airflow.sdk.exceptions import AirflowException, AirflowFailException

if TYPE_CHECKING:
    from airflow.sdk import Context


class DotHistoryExportOperator(DotOperatorBase):
    """Export one day of Dot's conversation history and replace it in the warehouse.

    `day` (templated; the logical date, `{{ ds }}`, by default) is a day of `timezone`.
    Give the DAG a timetable with data intervals (`CronDataIntervalTimetable("0 1 * * *",
    timezone="UTC")`) so each run's logical date is the day that just closed and
    `airflow backfill create --from-date … --to-date …` runs one task per day. A day that
    has not closed yet is refused: its export would miss the rest of the day.

    The tables are `schema_name`.`conversations_table` and `.messages_table`, partitioned
    by `partition_date` as the Dagster export writes them, so both can share them. The
    warehouse is a DuckDB file (`duckdb_path`, templated; the `duckdb` extra) or PostgreSQL
    (`postgres_conn_id`: host, port, schema as the database, login, password, `sslmode` in
    extra; the `postgres` extra). Nothing is written unless Dot's whole answer for the day
    was fetched and normalised; then the day's rows of both tables are replaced in one
    transaction (an empty day only when Dot answered with none). The export only reads
    Dot, so every failure is retried as the task's `retries` say.
    """

    template_fields: Sequence[str] = ("day", "duckdb_path")

    def __init__(
        self,
        *,
        day: str = "{{ ds }}",
        duckdb_path: str | None = None,
        postgres_conn_id: str | None = None,
        schema_name: str = "dot_history",
        conversations_table: str = "conversations",
        messages_table: str = "messages",
        timezone: str = "UTC",
        include_all_workspaces: bool = False,
        lock_timeout_s: float = 120.0,
        **kwargs: Any,
    ) -> None:
        if (duckdb_path is None) == (postgres_conn_id is None):
            raise ValueError(
                "DotHistoryExportOperator: set exactly one of duckdb_path or postgres_conn_id"
            )
        ZoneInfo(timezone)  # an unknown zone fails when the DAG is parsed, not at run time
        kwargs.setdefault(
            "doc_md",
            f"Dot's conversations and messages of one day of {timezone} replace that day in "
            f"`{schema_name}.{conversations_table}` and `.{messages_table}`; re-running a "
            "day or backfilling a range never duplicates rows.",
        )
        super().__init__(**kwargs)
        self.day = day
        self.duckdb_path = duckdb_path
        self.postgres_conn_id = postgres_conn_id
        self.schema_name = schema_name
        self.tables = (conversations_table, messages_table)
        self.timezone = timezone
        self.include_all_workspaces = include_all_workspaces
        self.lock_timeout_s = lock_timeout_s

    def execute(self, context: Context) -> dict[str, Any]:
        request = day_request(date.fromisoformat(self.day), self.timezone)
        try:
            with self.hook().get_client(org_wide=True) as client:
                export = fetch_days(
                    client,
                    [request],
                    tz=self.timezone,
                    include_all_workspaces=self.include_all_workspaces,
                    max_concurrency=1,  # one day is one call
                )
        except DayExportError as error:
            raise AirflowException(str(error)) from error
        try:
            with self._session() as session:
                inserted, deleted = export.replace(
                    session, schema=self.schema_name, tables=self.tables
                )
        finally:
            export.close()
        [day] = export.days
        self.log.info(
            "Replaced %s of %s.{%s}: %d conversations, %d messages (%d previous rows)",
            request.partition_key,
            self.schema_name,
            ",".join(self.tables),
            day.conversations,
            day.messages,
            deleted,
        )
        return {
            "day": request.partition_key,
            "conversations": day.conversations,
            "messages": day.messages,
            "rows_inserted": inserted,
            "rows_deleted": deleted,
        }

    def _session(self) -> AbstractContextManager[PartitionSession]:
        """One connection to the configured warehouse, for the day's writes."""
        if self.duckdb_path is not None:
            from dot_orchestration.warehouse import DuckDBLocation  # the [duckdb] extra

            return DuckDBLocation(
                path=Path(self.duckdb_path), lock_timeout_s=self.lock_timeout_s
            ).session()
        from dot_orchestration.warehouse import PostgresLocation  # the [postgres] extra

        assert self.postgres_conn_id is not None  # one of the two, checked in __init__
        connection = BaseHook.get_connection(self.postgres_conn_id)
        return PostgresLocation(
            host=connection.host or "localhost",
            port=connection.port or 5432,
            dbname=connection.schema or "postgres",
            user=connection.login or "",
            password=SecretStr(connection.password or ""),
            sslmode=connection.extra_dejson.get("sslmode"),
            lock_timeout_s=self.lock_timeout_s,
        ).session()


def day_request(day: date, tz: str) -> DayRequest:
    """The export call covering `day` of the time zone `tz` (midnight to midnight there);
    `AirflowFailException` for a day that has not closed yet."""
    zone = ZoneInfo(tz)
    start = datetime.combine(day, midnight(), zone)
    end = datetime.combine(day + timedelta(days=1), midnight(), zone)
    if end > datetime.now(zone):
        raise AirflowFailException(
            f"{day} has not closed yet in {tz}: its export would miss the rest of the day. "
            "Export closed days: a data-interval timetable makes the logical date the day "
            "that just closed (or pass day='{{ macros.ds_add(ds, -1) }}')."
        )
    return DayRequest.for_window(day.isoformat(), start, end)


__all__ = ["DotHistoryExportOperator", "day_request"]
