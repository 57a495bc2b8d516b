"""Airflow operators for Dot's operations, each one call of the core with its guarantees.

How a failure reaches Airflow is the one thing every operator decides the same way: when
the call may have done its work in Dot although it failed (a sync whose outcome is
unknown, a question Dot may be answering), the task fails with `AirflowFailException`, so
Airflow's own retries do not send it again; every other failure is a plain
`AirflowException`, retried as the task's `retries` say (a refused token stays refused,
but a retry never does harm there). Messages name what failed and what to do; none holds
a token.

* `DotSyncOperator`: one connection's sync; its outlet is an Airflow `Asset` per connection.
* `DotHistoryExportOperator`: one day of conversation history per logical date, replaced
  in the warehouse exactly once, so `airflow backfill` and re-runs never duplicate rows.
* `DotCatalogueOperator`: Dot's external assets reconciled with a catalogue file.
* `DotConfluenceNotesOperator`: Confluence pages into Dot's notes.
* `DotDbtRunResultsOperator`: dbt's `run_results.json` and `manifest.json` to Dot.
* `DotQualityIncidentsOperator`: check results as Dot quality incidents and resolutions.
* `DotQuestionOperator`: ask Dot; deferrable, `DotAnswerTrigger` polls the conversation.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterable, Mapping, Sequence
from contextlib import AbstractContextManager
from datetime import date, datetime, timedelta
from datetime import time as midnight
from pathlib import Path
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from pydantic import SecretStr

from dot_orchestration._extras import extra_required
from dot_orchestration.airflow.hooks import ConfluenceHook, DotHook
from dot_orchestration.airflow.triggers import DotAnswerTrigger
from dot_orchestration.catalogue_runs import CatalogueFile, reconcile_dot_catalogue
from dot_orchestration.client import (
    AgenticMode,
    Answer,
    DotClient,
    DotError,
    DotOutcomeUnknownError,
    DotServerError,
    DotTimeoutError,
    DotTransportError,
    connection_type_problem,
)
from dot_orchestration.client._answers import answer_to_last_question, message_text
from dot_orchestration.notify.incidents import (
    TableNameCase,
    check_table_name_case,
    incident_item,
    report_incident_changes,
)
from dot_orchestration.syncing import describe_failures, outcome_of
from dot_orchestration.transforms.catalogue import (
    DEFAULT_ID_PREFIX,
    CatalogueError,
    RemovalPolicy,
    UnreadableListingError,
    check_reconcile_settings,
)
from dot_orchestration.transforms.history_days import DayExportError, DayRequest, fetch_days
from dot_orchestration.transforms.note_sync import (
    ConfluenceNoteSync,
    NoteRun,
    NoteSyncError,
    run_note_sync,
)
from dot_orchestration.transforms.org_notes import record_from_json, record_to_json
from dot_orchestration.warehouse import PartitionSession

with extra_required("airflow", feature="the Dot Airflow provider"):
    from airflow.sdk import Asset, BaseHook, BaseOperator, BaseOperatorLink, Variable
    from airflow.sdk.exceptions import (
        AirflowException,
        AirflowFailException,
        AirflowSkipException,
    )

if TYPE_CHECKING:
    from airflow.sdk import Context
    from airflow.sdk.types import TaskInstanceKey

#: How a failed task's message tells the person on call to run it again.
_RERUN = "clear this task in Airflow"
_UI_COLOR = "#e8f0fe"


def sync_asset(connection_type: str, connection_id: str) -> Asset:
    """The Airflow asset a sync of `type/id` updates; schedule downstream DAGs on it."""
    return Asset(f"dot://sync/{connection_type}/{connection_id}")


def _failed(message: str, error: Exception, *, may_have_happened: bool) -> AirflowException:
    """The task's failure: not retried by Airflow when the call may have done its work."""
    text = f"{message} ({type(error).__name__})"
    return AirflowFailException(text) if may_have_happened else AirflowException(text)


class DotLink(BaseOperatorLink):
    """The task's button to Dot's web app (the region's, or the connection's base URL)."""

    name = "Dot"

    def get_link(self, operator: BaseOperator, *, ti_key: TaskInstanceKey) -> str:
        return DotHook(getattr(operator, "dot_conn_id", DotHook.default_conn_name)).web_url()


class _DotOperator(BaseOperator):
    """What every Dot operator shares: the connection, the link, the colour."""

    operator_extra_links = (DotLink(),)
    ui_color = _UI_COLOR

    def __init__(self, *, dot_conn_id: str = DotHook.default_conn_name, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.dot_conn_id = dot_conn_id

    def hook(self) -> DotHook:
        return DotHook(self.dot_conn_id)


class DotSyncOperator(_DotOperator):
    """Ask Dot to re-read one connection's schema (`POST /api/sync/{type}/{id}`).

    Dot does not report completion: success means Dot accepted the sync. The connection is
    fixed when the DAG is parsed, since it names the task's outlet asset
    (`dot://sync/<type>/<id>`, `sync_asset`). Failures:

    * **Outcome unknown** (a read timeout, a dropped connection, a 5xx after sending): Dot
      may be syncing, so the sync is not sent again, neither by the client nor by Airflow's
      retries (`AirflowFailException`); look at the connection in Dot, then clear the task
      if it did not sync.
    * **Refused** (Dot's 4xx, a failed connect, an unknown environment): Dot certainly did
      not sync. A plain failure, retried as the task's `retries` say.
    """

    def __init__(
        self,
        *,
        connection_type: str,
        connection_id: str,
        outlets: Iterable[Asset] = (),
        **kwargs: Any,
    ) -> None:
        problem = connection_type_problem(connection_type)
        if problem is not None or not connection_id:
            raise ValueError(f"DotSyncOperator: {problem or 'connection_id is empty'}")
        kwargs.setdefault(
            "doc_md",
            f"Dot re-reads the schema of connection `{connection_type}/{connection_id}`. "
            "Failed with the outcome unknown: check the connection in Dot before clearing.",
        )
        super().__init__(outlets=[*outlets, sync_asset(connection_type, connection_id)], **kwargs)
        self.connection_type = connection_type
        self.connection_id = connection_id

    def execute(self, context: Context) -> dict[str, Any]:
        label = f"{self.connection_type}/{self.connection_id}"
        try:
            with self.hook().get_client() as client:
                accepted = client.sync_connection(self.connection_type, self.connection_id)
        except DotError as error:
            raise _failed(
                describe_failures({label: error}, 1, rerun=_RERUN),
                error,
                may_have_happened=outcome_of(error) == "unknown",
            ) from error
        self.log.info("Dot accepted the sync of %s (%d attempt(s))", label, accepted.attempts)
        return {
            "connection": label,
            "attempts": accepted.attempts,
            "duration_s": round(accepted.duration_s, 3),
        }


class DotHistoryExportOperator(_DotOperator):
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


class DotCatalogueOperator(_DotOperator):
    """Make Dot's external assets match a YAML catalogue (`catalogue_path`).

    The file is checked when the DAG is parsed (a bad entry is a DAG import error naming
    the file, the entry and the field) and read again by each run. Ids starting with
    `id_prefix` are this operator's; those the file no longer lists are `on_removed`
    (`deactivate`, `delete`, `keep`). Every write is verified against Dot's list read
    afterwards; a failed write never stops the others, and the task then fails naming each
    failed id (re-running is cheap: unchanged assets are skipped). A source or listing
    problem fails before anything is written.
    """

    def __init__(
        self,
        *,
        catalogue_path: str | Path,
        id_prefix: str = DEFAULT_ID_PREFIX,
        on_removed: RemovalPolicy = "deactivate",
        **kwargs: Any,
    ) -> None:
        check_reconcile_settings(id_prefix, on_removed)
        catalogue = CatalogueFile(catalogue_path)
        kwargs.setdefault(
            "doc_md", f"Dot's external assets `{id_prefix}*` reconciled with {catalogue.name}."
        )
        super().__init__(**kwargs)
        self.catalogue = catalogue
        self.id_prefix = id_prefix
        self.on_removed = on_removed

    def execute(self, context: Context) -> dict[str, Any]:
        try:
            with self.hook().get_client() as client:
                run = reconcile_dot_catalogue(
                    client, [self.catalogue], id_prefix=self.id_prefix, on_removed=self.on_removed
                )
        except CatalogueError as error:
            raise AirflowFailException(f"{error}; nothing was written to Dot") from error
        except (UnreadableListingError, DotError) as error:
            raise _failed(
                f"{error}; nothing was written to Dot", error, may_have_happened=False
            ) from error
        counts: dict[str, int] = {}
        for change in run.plan.changes:
            if change.asset_id not in run.failures:
                counts[change.action] = counts.get(change.action, 0) + 1
        self.log.info("Dot catalogue: %s", counts or "nothing to do")
        if run.failures:
            for asset_id, write_error in sorted(run.failures.items()):
                self.log.error("Dot external asset %s: %s", asset_id, write_error)
            failed = sorted(run.failures)
            raise AirflowException(
                f"{len(failed)} of {len(run.plan.writes)} Dot external asset writes failed: "
                f"{', '.join(failed)}; the others were applied ({_RERUN} to write them again)"
            ) from run.failures[failed[0]]
        return {"counts": counts, "writes": len(run.plan.writes)}


class DotConfluenceNotesOperator(_DotOperator):
    """Sync Confluence pages into Dot's notes (`sync`: the pages, the note dialect, what
    happens to the notes of removed pages; the same `ConfluenceNoteSync` the Dagster asset
    takes).

    `page_ids` (templated) limits a run to those selected pages; `refresh` re-renders pages
    whose notes already hold their version. A page that fails keeps its notes as they were
    and every other page is still written; the task then fails naming each failed page.
    Only a transient failure (Dot or Confluence unavailable, a note create whose answer was
    lost) is retried: `retries` default to the sync's `step_retries`, and the retry adopts
    a note a lost create did make. The notes this sync owns are kept in the Airflow
    Variable `dot_notes_ownership.<name>` after every run, failed ones included, for when
    Dot drops the ownership marker. Run one note sync per name at a time
    (`max_active_tis_per_dag=1`, the default here): notes are read-modify-written.
    """

    template_fields: Sequence[str] = ("page_ids",)

    def __init__(
        self,
        *,
        sync: ConfluenceNoteSync,
        confluence_conn_id: str = ConfluenceHook.default_conn_name,
        page_ids: Sequence[str] | None = None,
        refresh: bool = False,
        max_concurrency: int = 4,
        **kwargs: Any,
    ) -> None:
        kwargs.setdefault("retries", sync.step_retries)
        kwargs.setdefault("retry_delay", timedelta(seconds=sync.step_retry_delay_s))
        kwargs.setdefault("retry_exponential_backoff", 2.0)
        kwargs.setdefault("max_active_tis_per_dag", 1)
        kwargs.setdefault(
            "doc_md",
            sync.description
            or f"Confluence pages ({sync.selection.describe()}) as Dot notes ({sync.dialect}).",
        )
        super().__init__(**kwargs)
        self.sync = sync
        self.confluence_conn_id = confluence_conn_id
        self.page_ids = page_ids
        self.refresh = refresh
        self.max_concurrency = max_concurrency

    @property
    def record_variable(self) -> str:
        """The Airflow Variable holding the notes this sync owns."""
        return f"dot_notes_ownership.{self.sync.name}"

    def execute(self, context: Context) -> dict[str, Any]:
        stored = Variable.get(self.record_variable, default={}, deserialize_json=True)
        record = record_from_json(stored)
        page_ids = [str(page) for page in self.page_ids] if self.page_ids else None
        try:
            with (
                ConfluenceHook(self.confluence_conn_id).get_client() as wiki,
                self.hook().get_client() as client,
            ):
                run = run_note_sync(
                    self.sync,
                    wiki,
                    client,
                    record,
                    _Warnings(self.log),
                    page_ids=page_ids,
                    refresh=self.refresh,
                    max_concurrency=self.max_concurrency,
                )
        except NoteSyncError as error:
            if error.run is not None:
                self._keep_record(error.run)
            failure = AirflowException if error.retryable else AirflowFailException
            raise failure(error.message) from (error.cause or error)
        self._keep_record(run)
        outcomes: dict[str, int] = {}
        for outcome in run.report.outcomes.values():
            outcomes[outcome] = outcomes.get(outcome, 0) + 1
        self.log.info("Confluence note sync %r: %s", self.sync.name, outcomes)
        return {"pages": outcomes, "left_in_dot": sorted(run.report.left)}

    def _keep_record(self, run: NoteRun) -> None:
        if run.report.record is not None:
            Variable.set(
                self.record_variable, record_to_json(run.report.record), serialize_json=True
            )


class _Warnings:
    """The task's log as the core's note sync writes to it: warnings, as text."""

    def __init__(self, log: Any) -> None:
        self._log = log

    def warning(self, msg: str) -> None:
        self._log.warning(msg)


class DotDbtRunResultsOperator(_DotOperator):
    """Send dbt's `run_results.json` and `manifest.json` (in `target_path`, templated) to
    Dot, which opens and clears data incidents for models, tests and sources.

    Runs after the dbt task whatever its outcome (`trigger_rule="all_done"` by default): a
    failed build is exactly when Dot must hear of it. As with the Dagster integration, a
    failure to reach Dot never changes the dbt task's outcome: this task fails (and is
    retried as its `retries` say; Dot takes the same artifacts again), the build stays as
    it ended. No `run_results.json` (dbt stopped before running anything) skips the task.
    """

    template_fields: Sequence[str] = ("target_path",)

    def __init__(self, *, target_path: str | Path, **kwargs: Any) -> None:
        kwargs.setdefault("trigger_rule", "all_done")
        kwargs.setdefault("doc_md", "dbt's results of this run, sent to Dot's incidents.")
        super().__init__(**kwargs)
        self.target_path = str(target_path)

    def execute(self, context: Context) -> dict[str, Any]:
        target = Path(self.target_path)
        try:
            run_results = json.loads((target / "run_results.json").read_text())
            manifest = json.loads((target / "manifest.json").read_text())
        except FileNotFoundError as error:
            raise AirflowSkipException(
                f"dbt wrote no {Path(str(error.filename)).name} in {target}; nothing to push"
            ) from error
        try:
            with self.hook().get_client() as client:
                client.push_dbt_run_results(run_results=run_results, manifest=manifest)
        except DotError as error:
            raise _failed(
                f"Could not push dbt run results to Dot: {error}", error, may_have_happened=False
            ) from error
        results = len(run_results.get("results", []))
        self.log.info("Pushed dbt's run_results.json (%d results) and manifest.json", results)
        return {"results": results}


class DotQualityIncidentsOperator(_DotOperator):
    """Report check results on the tables Dot reads as Dot quality incidents.

    `results` (templated, or an upstream task's output) is a list of mappings: `table` (as
    Dot knows it, e.g. `analytics.public.orders`), `check`, `passed`, and optionally
    `severity` (`error`, `warning`) and `details`. A failed check opens an incident, a
    passing one resolves it; resolutions go in their own request after the new incidents
    (Dot documents only new ones). A refused new incident fails the task; a resolution Dot
    refuses is logged and not sent again; one lost to an outage fails the task after the
    new incidents went through, so a retry sends it again.
    """

    template_fields: Sequence[str] = ("results",)

    def __init__(
        self,
        *,
        results: Sequence[Mapping[str, Any]] | str,
        source: str = "airflow",
        table_name_case: TableNameCase = "as_is",
        **kwargs: Any,
    ) -> None:
        check_table_name_case(table_name_case)
        super().__init__(**kwargs)
        self.results = results
        self.source = source
        self.table_name_case = table_name_case

    def execute(self, context: Context) -> dict[str, Any]:
        if isinstance(self.results, str):
            raise AirflowFailException(
                "DotQualityIncidentsOperator: `results` rendered to text, not a list; pass "
                "an upstream task's output or render the DAG's templates as native objects"
            )
        link = context["ti"].log_url
        changes = [
            (
                index,
                incident_item(
                    table=str(result["table"]),
                    check=str(result["check"]),
                    passed=bool(result["passed"]),
                    severity=result.get("severity", "error"),
                    details=result.get("details"),
                    link=link,
                    table_name_case=self.table_name_case,
                ),
            )
            for index, result in enumerate(self.results)
        ]
        try:
            with self.hook().get_client() as client:
                report = report_incident_changes(client, self.source, changes, self.log)
        except DotError as error:
            raise _failed(
                f"Dot did not take the new incidents: {error}", error, may_have_happened=False
            ) from error
        self.log.info("Dot quality incidents: %s", report.summary())
        if report.unsent:
            raise AirflowException(f"Dot quality incidents: {report.summary()}")
        return {
            "opened": report.opened,
            "resolved": report.resolved,
            "resolutions_refused": report.resolutions_refused,
        }


class DotQuestionOperator(_DotOperator):
    """Ask Dot `question` (templated) in a new conversation; the task's result is the
    answer (`answer`, `chat_id`, `url`, `outcome`, `queries`).

    Deferrable (the default): the question is posted with a short wait (`submit_timeout_s`);
    if Dot has not answered by then, the task defers to `DotAnswerTrigger`, which reads the
    conversation (`GET /api/c2/{chat_id}`) every `poll_interval_s` in Airflow's triggerer,
    holding no worker slot, until the answer or `timeout_s` after asking. With
    `deferrable=False` the worker waits itself.

    An answer that is a question back (Dot needs more to go on) succeeds with a warning and
    `outcome` `clarifying_question`. Failures name the conversation. A question is sent at
    most once: no answer within `timeout_s`, or a Dot failure after it was posted (5xx, a
    dropped connection), fails the task without Airflow's retries (Dot may still answer:
    read the conversation); a question that certainly never reached Dot (a 4xx) is a plain
    failure.
    """

    template_fields: Sequence[str] = ("question",)

    def __init__(
        self,
        *,
        question: str,
        mode: AgenticMode = "balanced",
        labels: Sequence[str] = ("airflow",),
        timeout_s: float = 900.0,
        poll_interval_s: float = 10.0,
        submit_timeout_s: float = 30.0,
        deferrable: bool = True,
        **kwargs: Any,
    ) -> None:
        if not 0 < poll_interval_s <= timeout_s or submit_timeout_s <= 0:
            raise ValueError(
                "DotQuestionOperator: need 0 < poll_interval_s <= timeout_s and "
                "submit_timeout_s > 0"
            )
        super().__init__(**kwargs)
        self.question = question
        self.mode = mode
        self.labels = tuple(labels)
        self.timeout_s = timeout_s
        self.poll_interval_s = poll_interval_s
        self.submit_timeout_s = submit_timeout_s
        self.deferrable = deferrable

    def execute(self, context: Context) -> dict[str, Any]:
        chat_id = str(uuid.uuid4())  # made here, so every failure can name the conversation
        deadline = time.time() + self.timeout_s
        first_wait = min(self.submit_timeout_s, self.timeout_s)
        with self._client(first_wait if self.deferrable else self.timeout_s) as client:
            try:
                chat = client.agentic(self.question, chat_id=chat_id, mode=self.mode)
                message = answer_to_last_question(chat.messages)
            except DotTimeoutError:  # outlasted the wait: Dot may still be answering
                message = None
            except DotError as error:
                raise self._failure(error, chat_id) from error
            if message is not None:
                text = message_text(message)
                answer = Answer(chat_id=chat_id, text=text, parts=message.parts, message=message)
                return self._answered(client, answer)
            if not self.deferrable:
                return self._answered(client, self._wait(client, chat_id, deadline))
        self.log.info("Dot is still answering (chat %s); waiting in the triggerer", chat_id)
        return self.defer(  # raises: the task resumes in `execute_complete`
            trigger=DotAnswerTrigger(
                dot_conn_id=self.dot_conn_id,
                chat_id=chat_id,
                deadline=deadline,
                poll_interval_s=self.poll_interval_s,
            ),
            method_name="execute_complete",
            timeout=timedelta(seconds=self.timeout_s + 60),
        )

    def execute_complete(self, context: Context, event: Mapping[str, Any]) -> dict[str, Any]:
        """The trigger fired: Dot answered, the budget is spent, or a poll failed."""
        chat_id = str(event["chat_id"])
        if event["status"] == "timeout":
            raise AirflowFailException(self._timeout_message(chat_id))
        if event["status"] == "error":
            raise AirflowException(
                f"Reading Dot's answer to {self.task_id!r} failed (chat {chat_id}): "
                f"{event['error']}; the question was asked once, read the conversation in Dot"
            )
        with self._client(self.timeout_s) as client:
            return self._answered(client, self._wait(client, chat_id, time.time()))

    def _client(self, agentic_timeout_s: float) -> AbstractContextManager[DotClient]:
        return self.hook().get_client(agentic_timeout_s=agentic_timeout_s)

    def _wait(self, client: DotClient, chat_id: str, deadline: float) -> Answer:
        """The conversation's answer, polled until `deadline` (one read when it is past)."""
        try:
            return client.wait_for_answer(
                chat_id,
                timeout_s=max(0.0, deadline - time.time()),
                poll_interval_s=self.poll_interval_s,
            )
        except DotTimeoutError as error:
            raise AirflowFailException(self._timeout_message(chat_id)) from error
        except DotError as error:
            raise self._failure(error, chat_id) from error

    def _answered(self, client: DotClient, answer: Answer) -> dict[str, Any]:
        """Label the conversation (a failed label fails nothing) and give the answer."""
        if self.labels:
            try:
                client.add_label_to_chat(answer.chat_id, self.labels)
            except DotError as error:
                self.log.warning("Could not label chat %s: %s", answer.chat_id, error)
        clarifying = not any(part.type == "text" and part.data for part in answer.parts)
        if clarifying:
            self.log.warning("Dot asked back instead of answering: %s", answer.text)
        frames = [answer.asset(part) for part in answer.parts if part.type == "dataframe"]
        return {
            "chat_id": answer.chat_id,
            "outcome": "clarifying_question" if clarifying else "answered",
            "answer": answer.text,
            "url": answer.dot_url,
            "queries": [
                frame["sql_query"]
                for frame in frames
                if isinstance(frame, dict) and isinstance(frame.get("sql_query"), str)
            ],
        }

    def _timeout_message(self, chat_id: str) -> str:
        return (
            f"Dot did not answer {self.task_id!r} within {self.timeout_s:g} s (chat {chat_id}). "
            "Dot may still answer: read the conversation in Dot, or raise `timeout_s`."
        )

    def _failure(self, error: DotError, chat_id: str) -> AirflowException:
        """Not retried when the question may have reached Dot: a second one would be a
        second conversation."""
        reached = isinstance(error, DotTransportError | DotServerError | DotOutcomeUnknownError)
        return _failed(
            f"Asking Dot {self.task_id!r} failed (chat {chat_id}): {error}"
            + ("; the question may have reached Dot: look at the conversation" if reached else ""),
            error,
            may_have_happened=reached,
        )


__all__ = [
    "DotCatalogueOperator",
    "DotConfluenceNotesOperator",
    "DotDbtRunResultsOperator",
    "DotHistoryExportOperator",
    "DotLink",
    "DotQualityIncidentsOperator",
    "DotQuestionOperator",
    "DotSyncOperator",
    "day_request",
    "sync_asset",
]
