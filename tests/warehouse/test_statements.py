"""What the BigQuery and Databricks writers ask their warehouse to do.

Neither warehouse can run here: there is no BigQuery or Databricks to reach, and no emulator
runs their SQL. So the driver under each writer is a test double, `Model`: a warehouse in
memory that parses every statement it is sent in the warehouse's dialect (sqlglot, raising
on anything it cannot parse), logs what the statement does, and answers what the writer
reads back (the catalogue, ``COUNT(*)``, the script's check) from what the statements did.
The writers' own adapters run on it unchanged:

* BigQuery: `BigQueryLocation.session()` with a service account key made here, so a real
  `bigquery.Client` is built offline; its ``query`` and ``load_table_from_file`` are the
  model's, so the load job's JSON is what the library would upload.
* Databricks: `DatabricksLocation.session()` with ``databricks.sql.connect`` answering a
  DB-API connection whose cursor is the model's.

What this cannot show is that BigQuery and Databricks accept the statements and keep
their documented semantics (transactions, ``REPLACE WHERE``, limits): that part is by
construction.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import date, datetime
from typing import IO, Any
from zoneinfo import ZoneInfo

import databricks.sql
import pandas as pd
import pytest
import sqlglot
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from databricks.sql.exc import ServerOperationError
from databricks.sql.parameters import TimestampNTZParameter
from databricks.sql.parameters.native import DbsqlParameterBase
from google.api_core.exceptions import BadRequest, NotFound
from google.auth.credentials import AnonymousCredentials
from google.cloud import bigquery
from pydantic import SecretStr, ValidationError
from sqlglot import exp
from sqlglot.errors import ErrorLevel
from test_replace_partition import DAY_1, day_frame

from dot_orchestration.warehouse import PartitionWriteError, SchemaMismatchError, WriteResult
from dot_orchestration.warehouse._bigquery import (
    BigQueryConnection,
    BigQueryDialect,
    BigQueryLocation,
)
from dot_orchestration.warehouse._databricks import DatabricksLocation
from dot_orchestration.warehouse._staged import StagedSession

SCHEMA = "dot_history"
PROJECT = "dot-test-project"
#: The contract's kinds as each warehouse's DDL names them, in `day_frame`'s column order.
TYPES = {
    "bigquery": ["STRING", "DATE", "TIMESTAMP", "INT64", "FLOAT64", "BOOL"],
    "databricks": ["STRING", "DATE", "TIMESTAMP_NTZ", "BIGINT", "DOUBLE", "BOOLEAN"],
}
_STAGE = re.compile(r"^dot_stage_(.+)_[0-9a-f]{12}$")
_STAGE_IN_SQL = re.compile(r"dot_stage_(.+?)_[0-9a-f]{12}")

Log = list["str | list[str]"]


# --- the model ----------------------------------------------------------------------------


class Model:
    """A warehouse in memory: its schemas, its tables' column types, and how many rows each
    table holds in the partitions being written (the writes here are of one day).

    ``statements`` are the SQL received (a stage's random suffix dropped); ``log`` says what
    each statement did (a script's entries are a list of their own). ``fail`` is a log entry
    whose statement fails instead; ``lie`` is a count to answer for a table whatever it
    holds, as a warehouse that did not do what it was asked would.
    """

    def __init__(
        self,
        dialect: str,
        error: Callable[[str], Exception],
        *,
        reported: Mapping[str, str] | None = None,
        fold: bool = False,
    ) -> None:
        self.dialect = dialect
        self.error = error
        self.reported = reported or {}  # DDL type -> the catalogue's name for it
        self.fold = fold  # names stored in lower case, as Databricks does
        self.schemas: set[tuple[str, ...]] = set()
        self.tables: dict[tuple[str, ...], dict[str, str]] = {}
        self.rows: dict[tuple[str, ...], int] = {}
        self.statements: list[str] = []
        self.log: Log = []
        self.fail: str | None = None
        self.lie: dict[str, int] = {}
        self.loaded: dict[str, list[dict[str, Any]]] = {}  # BigQuery: each load's rows

    # --- what a driver calls

    def run(self, sql: str, params: Sequence[object] = ()) -> list[tuple[Any, ...]]:
        self.statements.append(_STAGE_IN_SQL.sub(r"dot_stage_\1", sql))
        statements = sqlglot.parse(sql, read=self.dialect, error_level=ErrorLevel.RAISE)
        if len(statements) == 1:
            assert statements[0] is not None
            return self._run(statements[0], params, self.log)
        script: list[str] = []
        self.log.append(script)
        saved = (set(self.schemas), {k: dict(v) for k, v in self.tables.items()}, dict(self.rows))
        try:
            for statement in statements:
                assert statement is not None
                self._run(statement, (), script)
        except Exception:
            self.schemas, self.tables, self.rows = saved  # the transaction rolls back
            raise
        return []

    def load(self, table: tuple[str, ...], rows: list[dict[str, Any]]) -> None:
        self._entry(self.log, f"load {len(rows)} rows into {self._name(table)}")
        assert self.rows.get(table) == 0, "loaded into a stage that is not empty (or missing)"
        self.rows[table] = len(rows)
        self.loaded[table[-1]] = rows

    # --- statements

    def _run(
        self, statement: exp.Expression, params: Sequence[object], log: Log
    ) -> list[tuple[Any, ...]]:
        if isinstance(statement, exp.Transaction):
            self._entry(log, "begin")
        elif isinstance(statement, exp.Commit):
            self._entry(log, "commit")
        elif isinstance(statement, exp.Create):
            self._create(statement, log)
        elif isinstance(statement, exp.Drop):
            (dropped,) = statement.args["tables"]
            table = self._key(dropped)
            self._entry(log, f"drop {self._name(table)}")
            self.tables.pop(table, None)
        elif isinstance(statement, exp.Delete):
            table = self._existing(statement.this)
            self._entry(log, f"delete from {self._name(table)}")
            self.rows[table] = 0
        elif isinstance(statement, exp.Insert):
            self._insert(statement, log)
        elif isinstance(statement, exp.Select):
            return self._select(statement, params, log)
        else:
            raise AssertionError(f"unexpected statement {statement.sql(self.dialect)}")
        return []

    def _create(self, statement: exp.Create, log: Log) -> None:
        if statement.args["kind"] == "SCHEMA":
            schema = self._key(statement.this)
            self._entry(log, f"create schema {self._name(schema)}")
            self.schemas.add(schema)
            return
        definition = statement.this
        table = self._key(definition.this)
        expiring = "expiring " if statement.find(exp.Properties) else ""
        self._entry(log, f"create {expiring}table {self._name(table)}")
        if table[:-1] not in self.schemas:
            raise self.error(f"schema {self._name(table[:-1])} does not exist")
        if table not in self.tables:
            self.tables[table] = {
                column.name: column.args["kind"].sql(self.dialect)
                for column in definition.expressions
            }
            self.rows[table] = 0

    def _insert(self, statement: exp.Insert, log: Log) -> None:
        table = self._existing(statement.this.this)
        source = statement.expression
        if isinstance(source, exp.Values):
            self._entry(log, f"insert {len(source.expressions)} rows into {self._name(table)}")
            self.rows[table] += len(source.expressions)
            return
        stage = self._existing(source.args["from_"].this)
        replacing = statement.args.get("where") is not None
        how = "replace where" if replacing else "insert"
        self._entry(log, f"{how} {self._name(table)} from {self._name(stage[-1:])}")
        self.rows[table] = self.rows[stage] + (0 if replacing else self.rows[table])

    def _select(
        self, statement: exp.Select, params: Sequence[object], log: Log
    ) -> list[tuple[Any, ...]]:
        check = statement.find(exp.If)
        if check is not None:  # SELECT IF((SELECT COUNT(*) …) = n, TRUE, ERROR('…'))
            condition = check.this
            table = self._existing(condition.this.find(exp.Table))
            expected = int(condition.expression.this)
            self._entry(log, f"check {self._name(table)} holds {expected}")
            if self._count(table) != expected:
                raise self.error(check.args["false"].expressions[0].this)
            return []
        source = statement.args["from_"].this
        if "information_schema" in source.sql(self.dialect).lower():
            return self._catalogue(source, params, log)
        assert statement.find(exp.Count), f"unexpected query {statement.sql(self.dialect)}"
        table = self._existing(source)
        self._entry(log, f"count {self._name(table)}")
        return [(self._count(table),)]

    def _catalogue(
        self, source: exp.Table, params: Sequence[object], log: Log
    ) -> list[tuple[Any, ...]]:
        """BigQuery: `dataset`.INFORMATION_SCHEMA.COLUMNS, the table a parameter; elsewhere
        [catalog.]information_schema.columns, the schema and the table parameters."""
        if len(params) == 1:
            table = (source.db, str(params[0]))
        else:
            catalog = self._fold([part.name for part in source.parts[:-2]])
            table = (*catalog, *map(str, params))  # compared as given, as SQL compares text
        self._entry(log, f"catalogue of {self._name(table)}")
        if len(params) == 1 and table[:-1] not in self.schemas:
            raise NotFound(f"Not found: Dataset {PROJECT}:{table[0]} was not found in location US")
        columns = self.tables.get(table, {})
        return [(column, self.reported.get(kind, kind)) for column, kind in columns.items()]

    # --- helpers

    def _entry(self, log: Log, entry: str) -> None:
        log.append(entry)
        if entry == self.fail:
            raise self.error(f"the test failed this statement: {entry}")

    def _key(self, table: exp.Expression) -> tuple[str, ...]:
        parts = table.parts if isinstance(table, exp.Table) else [table]
        return self._fold([part.name for part in parts])

    def _fold(self, names: Sequence[str]) -> tuple[str, ...]:
        return tuple(name.lower() if self.fold else name for name in names)

    def _existing(self, table: exp.Expression | None) -> tuple[str, ...]:
        assert table is not None
        key = self._key(table)
        if key not in self.tables:
            raise self.error(f"table {self._name(key)} does not exist")
        return key

    def _count(self, table: tuple[str, ...]) -> int:
        return self.lie.get(table[-1], self.rows[table])

    def _name(self, table: tuple[str, ...]) -> str:
        """Dotted, a stage named by the table it stages (its suffix is random)."""
        stage = _STAGE.match(table[-1])
        return ".".join([*table[:-1], f"stage:{stage.group(1)}" if stage else table[-1]])


# --- BigQuery -----------------------------------------------------------------------------


class _Done:
    """A finished job, as the writer waits for it."""

    def __init__(self, rows: list[bigquery.Row]) -> None:
        self.rows = rows

    def result(self) -> list[bigquery.Row]:
        return self.rows


def bigquery_model() -> Model:
    return Model("bigquery", BadRequest)


@pytest.fixture(scope="module")
def service_account_key() -> dict[str, str]:
    """A service account key of no account: enough for google-auth to build credentials."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    return {
        "type": "service_account",
        "project_id": PROJECT,
        "private_key_id": "0",
        "private_key": pem.decode(),
        "client_email": f"dot@{PROJECT}.iam.gserviceaccount.com",
        "token_uri": "https://oauth2.googleapis.com/token",
    }


@contextmanager
def bigquery_session(model: Model, key: Mapping[str, str]) -> Iterator[StagedSession]:
    """`BigQueryLocation.session()`, its client's jobs run by the model."""
    location = BigQueryLocation(project=PROJECT, service_account_json=SecretStr(json.dumps(key)))
    with location.session() as session:
        assert isinstance(session.connection, BigQueryConnection)
        client = session.connection.client

        def query(sql: str, *, job_config: bigquery.QueryJobConfig) -> _Done:
            resource = job_config.to_api_repr()["query"]
            parameters = resource.get("queryParameters", [])
            if parameters:
                assert resource["parameterMode"] == "POSITIONAL"
                assert sql.count("?") == len(parameters)
            values = [parameter["parameterValue"]["value"] for parameter in parameters]
            rows = model.run(sql, values)
            return _Done([bigquery.Row(row, {str(i): i for i in range(len(row))}) for row in rows])

        def load(
            file: IO[bytes],
            destination: bigquery.TableReference,
            *,
            job_config: bigquery.LoadJobConfig,
            **_: object,
        ) -> _Done:
            assert job_config.write_disposition == "WRITE_EMPTY"
            assert job_config.source_format == "NEWLINE_DELIMITED_JSON"
            stage = (destination.dataset_id, destination.table_id)
            types = [field.field_type for field in job_config.schema]
            assert types == list(model.tables[stage].values()), "the stage's own types"
            model.load(stage, [json.loads(line) for line in file.read().decode().splitlines()])
            return _Done([])

        client.query = query  # type: ignore[method-assign]
        client.load_table_from_file = load  # type: ignore[method-assign]
        yield session


# --- Databricks ---------------------------------------------------------------------------


class _Cursor:
    """A DB-API cursor of the model, checking how parameters are bound: within the
    connector's limit of 255, and a timestamp as ``TIMESTAMP_NTZ`` (a plain ``datetime``
    would be bound as a ``TIMESTAMP``, read in the session's time zone)."""

    def __init__(self, model: Model) -> None:
        self.model = model
        self.rows: list[tuple[Any, ...]] = []
        self.description: list[tuple[str]] | None = None

    def execute(self, sql: str, parameters: Sequence[object] | None = None) -> None:
        bound = list(parameters or [])
        assert sql.count("?") == len(bound) <= 255
        typed = [value for value in bound if isinstance(value, (datetime, DbsqlParameterBase))]
        assert all(isinstance(value, TimestampNTZParameter) for value in typed)
        values = [
            value.value if isinstance(value, DbsqlParameterBase) else value for value in bound
        ]
        self.rows = self.model.run(sql, values)
        self.description = [("result",)]

    def fetchall(self) -> list[tuple[Any, ...]]:
        return self.rows

    def close(self) -> None:
        self.description = None


def databricks_model() -> Model:
    return Model("databricks", ServerOperationError, reported={"BIGINT": "LONG"}, fold=True)


@contextmanager
def databricks_session(
    model: Model, monkeypatch: pytest.MonkeyPatch, catalog: str | None = "main"
) -> Iterator[StagedSession]:
    """`DatabricksLocation.session()`, its connection the model's."""
    connected: list[dict[str, object]] = []

    class Connection:
        def cursor(self) -> _Cursor:
            return _Cursor(model)

        def close(self) -> None:
            connected.append({"closed": True})

    def connect(**kwargs: object) -> Connection:
        connected.append(kwargs)
        return Connection()

    monkeypatch.setattr(databricks.sql, "connect", connect)
    location = DatabricksLocation(
        server_hostname="dbc-0.cloud.databricks.com",
        http_path="/sql/1.0/warehouses/0",
        access_token=SecretStr("dapi-test"),
        catalog=catalog,
    )
    with location.session() as session:
        assert connected[0]["access_token"] == "dapi-test"
        yield session
    assert connected[-1] == {"closed": True}


# --- frames -------------------------------------------------------------------------------


def messages_frame(day: date, count: int) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "conversation_id": pd.array(["a"] * count, dtype="string"),
            "message_index": pd.array(range(count), dtype="Int64"),
            "partition_date": pd.Series([day] * count, dtype=object),
            "content": pd.array([f"message {i}" for i in range(count)], dtype="string"),
        }
    )


def write(
    session: StagedSession, tables: Mapping[str, pd.DataFrame], schema: str = SCHEMA
) -> dict[str, WriteResult]:
    return session.replace_partitions(
        schema=schema,
        tables=tables,
        partition_column="partition_date",
        partition_values=[DAY_1],
        allow_empty=False,
    )


def both_tables() -> dict[str, pd.DataFrame]:
    return {"conversations": day_frame(DAY_1, ["a", "b"]), "messages": messages_frame(DAY_1, 3)}


def refused(attempt: Callable[[], object]) -> PartitionWriteError:
    with pytest.raises(PartitionWriteError) as raised:
        attempt()
    return raised.value


# --- BigQuery: the write ------------------------------------------------------------------


def test_bigquery_creates_the_dataset_and_tables_then_writes_in_one_checked_script(
    service_account_key: dict[str, str],
) -> None:
    model = bigquery_model()
    with bigquery_session(model, service_account_key) as session:
        assert write(session, both_tables()) == {
            "conversations": WriteResult(0, 2),
            "messages": WriteResult(0, 3),
        }
    assert model.tables[(SCHEMA, "conversations")] == dict(
        zip(day_frame(DAY_1, []).columns, TYPES["bigquery"], strict=True)
    )
    assert model.log == [
        "catalogue of dot_history.conversations",  # NotFound: no dataset yet, so no table
        "create schema dot_history",
        "create table dot_history.conversations",
        "catalogue of dot_history.conversations",
        "catalogue of dot_history.messages",
        "create schema dot_history",
        "create table dot_history.messages",
        "catalogue of dot_history.messages",
        "create expiring table dot_history.stage:conversations",
        "load 2 rows into dot_history.stage:conversations",
        "create expiring table dot_history.stage:messages",
        "load 3 rows into dot_history.stage:messages",
        "count dot_history.conversations",
        "count dot_history.messages",
        [
            "begin",
            "delete from dot_history.conversations",
            "insert dot_history.conversations from stage:conversations",
            "check dot_history.conversations holds 2",
            "delete from dot_history.messages",
            "insert dot_history.messages from stage:messages",
            "check dot_history.messages holds 3",
            "commit",
        ],
        "drop dot_history.stage:conversations",
        "drop dot_history.stage:messages",
    ]
    assert sorted(model.tables) == [(SCHEMA, "conversations"), (SCHEMA, "messages")]
    (script,) = [sql for sql in model.statements if "TRANSACTION" in sql]
    columns = {
        table: ", ".join(f"`{column}`" for column in frame)
        for table, frame in both_tables().items()
    }
    day = "`partition_date` IN (DATE '2024-03-01')"
    assert script.split(";\n") == [
        "BEGIN TRANSACTION",
        *[
            statement
            for table, rows in (("conversations", 2), ("messages", 3))
            for statement in (
                f"DELETE FROM `dot_history`.`{table}` WHERE {day}",
                f"INSERT INTO `dot_history`.`{table}` ({columns[table]}) "
                f"SELECT {columns[table]} FROM `dot_history`.`dot_stage_{table}`",
                f"SELECT IF((SELECT COUNT(*) FROM `dot_history`.`{table}` WHERE {day}) = {rows}, "
                "TRUE, ERROR('writing dot_history.conversations, dot_history.messages: "
                f"a table does not hold the {rows} rows written'))",
            )
        ],
        "COMMIT TRANSACTION;",
    ]


def test_bigquery_loads_timestamps_as_the_utc_times_of_the_frame(
    service_account_key: dict[str, str],
) -> None:
    frame = day_frame(DAY_1, ["a", "b"])
    frame["created_at"] = frame["created_at"].dt.tz_convert("America/New_York")
    frame.loc[1, "auto_review_score"] = None
    model = bigquery_model()
    with bigquery_session(model, service_account_key) as session:
        write(session, {"conversations": frame})
    (loaded,) = model.loaded.values()
    assert loaded[1] == {
        "conversation_id": "b",
        "partition_date": "2024-03-01",
        "created_at": "2024-03-01 09:01:00",
        "message_count": 1,
        "auto_review_score": None,
        "archived": False,
    }


def test_bigquery_a_failed_check_rolls_the_script_back_and_the_stages_are_dropped(
    service_account_key: dict[str, str],
) -> None:
    model = bigquery_model()
    with bigquery_session(model, service_account_key) as session:
        write(session, {"conversations": day_frame(DAY_1, ["a"])})
        model.log.clear()
        model.lie["messages"] = 99
        error = refused(lambda: write(session, both_tables()))
    assert "writing dot_history.conversations, dot_history.messages: a table does not hold" in str(
        error
    )
    assert "the script's transaction was rolled back" in str(error)
    assert model.rows[(SCHEMA, "conversations")] == 1  # the first table's DELETE undone too
    assert model.log[-2:] == [
        "drop dot_history.stage:conversations",
        "drop dot_history.stage:messages",
    ]
    assert sorted(model.tables) == [(SCHEMA, "conversations"), (SCHEMA, "messages")]


def test_bigquery_a_failed_stage_writes_nothing_and_every_stage_is_dropped(
    service_account_key: dict[str, str],
) -> None:
    model = bigquery_model()
    model.fail = "create expiring table dot_history.stage:messages"
    with bigquery_session(model, service_account_key) as session:
        error = refused(lambda: write(session, both_tables()))
    assert "nothing was written" in str(error)
    assert not [entry for entry in model.log if isinstance(entry, list)]
    assert model.log[-2:] == [
        "drop dot_history.stage:conversations",
        "drop dot_history.stage:messages",
    ]


def test_bigquery_a_second_write_finds_the_table_the_first_created(
    service_account_key: dict[str, str],
) -> None:
    model = bigquery_model()
    with bigquery_session(model, service_account_key) as session:
        write(session, both_tables())
        model.log.clear()
        assert write(session, both_tables())["messages"] == WriteResult(3, 3)
    assert not [entry for entry in model.log if "create table" in entry]


# --- BigQuery: names and messages ---------------------------------------------------------


def test_bigquery_refuses_a_name_it_would_have_to_escape_before_creating_a_table(
    service_account_key: dict[str, str],
) -> None:
    model = bigquery_model()
    frame = day_frame(DAY_1, ["a"]).rename(columns={"title": "x"})
    with bigquery_session(model, service_account_key) as session:
        for odd in ("a`b", "a\\b", "a\nb"):
            with pytest.raises(SchemaMismatchError, match="no backtick, backslash or control"):
                write(session, {"conversations": frame.rename(columns={"archived": odd})})
            with pytest.raises(SchemaMismatchError, match="no backtick"):
                write(session, {odd: frame})
    assert model.tables == {}
    assert not [entry for entry in model.log if entry.startswith(("create table", "load"))]


def test_bigquery_the_check_message_is_a_literal_whatever_the_names_hold(
    service_account_key: dict[str, str],
) -> None:
    """A name with a quote and non-ASCII letters: the message survives the escaping."""
    model = bigquery_model()
    table = "o'brien \u00e9t\u00e9 \U0001f600"
    model.lie[table] = 5
    with bigquery_session(model, service_account_key) as session:
        error = refused(lambda: write(session, {table: day_frame(DAY_1, ["a", "b"])}))
    assert f"writing dot_history.{table}: a table does not hold the 2 rows written" in str(error)


def test_bigquery_the_adapter_runs_offline_on_a_real_client() -> None:
    """Anonymous credentials: no request until a job runs; TIMESTAMP values come back as
    the naive UTC values the session reads."""
    client = bigquery.Client(project=PROJECT, credentials=AnonymousCredentials())
    connection = BigQueryConnection(client)
    paris = datetime(2024, 3, 1, 11, 0, tzinfo=ZoneInfo("Europe/Paris"))

    def query(sql: str, *, job_config: bigquery.QueryJobConfig) -> _Done:
        return _Done([bigquery.Row((paris, DAY_1, 1), {"t": 0, "d": 1, "n": 2})])

    client.query = query  # type: ignore[method-assign]
    assert connection.query("SELECT 1") == [(datetime(2024, 3, 1, 10, 0), DAY_1, 1)]
    with pytest.raises(TypeError, match="binds text only"):
        connection.query("SELECT ?", [1])
    assert BigQueryDialect().stage_table("d", "s") == "`d`.`s`"


# --- Databricks ---------------------------------------------------------------------------


def test_databricks_stages_then_replaces_where_each_table_and_counts_after_each(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    model = databricks_model()
    with databricks_session(model, monkeypatch) as session:
        assert write(session, both_tables()) == {
            "conversations": WriteResult(0, 2),
            "messages": WriteResult(0, 3),
        }
    assert model.tables[("main", SCHEMA, "conversations")] == dict(
        zip(day_frame(DAY_1, []).columns, TYPES["databricks"], strict=True)
    )
    assert model.log == [
        "catalogue of main.dot_history.conversations",
        "create schema main.dot_history",
        "create table main.dot_history.conversations",
        "catalogue of main.dot_history.conversations",
        "catalogue of main.dot_history.messages",
        "create schema main.dot_history",
        "create table main.dot_history.messages",
        "catalogue of main.dot_history.messages",
        "create table main.dot_history.stage:conversations",
        "insert 2 rows into main.dot_history.stage:conversations",
        "create table main.dot_history.stage:messages",
        "insert 3 rows into main.dot_history.stage:messages",
        "count main.dot_history.conversations",
        "count main.dot_history.messages",
        "replace where main.dot_history.conversations from stage:conversations",
        "count main.dot_history.conversations",
        "replace where main.dot_history.messages from stage:messages",
        "count main.dot_history.messages",
        "drop main.dot_history.stage:conversations",
        "drop main.dot_history.stage:messages",
    ]
    columns = ", ".join(f"`{column}`" for column in day_frame(DAY_1, []))
    assert (
        "INSERT INTO `main`.`dot_history`.`conversations` "
        f"({columns}) REPLACE WHERE `partition_date` IN (DATE '2024-03-01') "
        f"SELECT {columns} FROM `main`.`dot_history`.`dot_stage_conversations`"
    ) in model.statements


def test_databricks_stages_within_the_connectors_parameter_limit(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """255 markers a statement: 42 rows of 6 columns (`_Cursor` checks the binding)."""
    model = databricks_model()
    ids = [f"c{i}" for i in range(50)]
    with databricks_session(model, monkeypatch, catalog=None) as session:
        write(session, {"conversations": day_frame(DAY_1, ids)})
    staged = [entry for entry in model.log if isinstance(entry, str) and "rows into" in entry]
    assert staged == [
        f"insert {rows} rows into dot_history.stage:conversations" for rows in (42, 8)
    ]


def test_databricks_a_count_mismatch_says_the_tables_written_before_hold_new_rows(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    model = databricks_model()
    with databricks_session(model, monkeypatch) as session:
        model.lie["messages"] = 7
        error = refused(lambda: write(session, both_tables()))
    assert "left 7 rows in the partitions of `main`.`dot_history`.`messages`" in str(error)
    assert "tables written before the failure hold the new rows" in str(error)
    assert model.rows[("main", SCHEMA, "conversations")] == 2
    assert model.log[-2:] == [
        "drop main.dot_history.stage:conversations",
        "drop main.dot_history.stage:messages",
    ]


def test_databricks_a_failed_replace_drops_the_stages(monkeypatch: pytest.MonkeyPatch) -> None:
    model = databricks_model()
    model.fail = "replace where main.dot_history.messages from stage:messages"
    with databricks_session(model, monkeypatch) as session:
        error = refused(lambda: write(session, both_tables()))
    assert "the test failed this statement" in str(error)
    assert "tables written before the failure hold the new rows" in str(error)
    assert model.log[-2:] == [
        "drop main.dot_history.stage:conversations",
        "drop main.dot_history.stage:messages",
    ]


def test_databricks_a_second_write_finds_the_table_as_the_catalogue_reports_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The catalogue says LONG for BIGINT, and holds names in lower case."""
    model = databricks_model()
    with databricks_session(model, monkeypatch) as session:
        write(session, both_tables(), schema="Dot_History")
        model.log.clear()
        assert write(session, both_tables(), schema="Dot_History")["messages"] == WriteResult(3, 3)
    created = [entry for entry in model.log if "create table" in entry]
    assert created == [f"create table main.dot_history.stage:{table}" for table in both_tables()]


def test_databricks_escapes_a_backtick_in_any_name(monkeypatch: pytest.MonkeyPatch) -> None:
    model = databricks_model()
    frame = day_frame(DAY_1, ["a"]).rename(columns={"title": "x", "archived": "it`s"})
    with databricks_session(model, monkeypatch, catalog="we`ird") as session:
        write(session, {"odd`table": frame}, schema="odd`schema")
    assert "it`s" in model.tables[("we`ird", "odd`schema", "odd`table")]
    assert "replace where we`ird.odd`schema.odd`table from stage:odd`table" in model.log


# --- secrets ------------------------------------------------------------------------------


def test_the_bigquery_key_shows_in_no_repr_or_error(service_account_key: dict[str, str]) -> None:
    canary = "canary-0123456789"
    key = {**service_account_key, "private_key_id": canary}
    location = BigQueryLocation(project=PROJECT, service_account_json=SecretStr(json.dumps(key)))
    shown = [repr(location), str(location), str(location.credentials())]
    unreadable_keys = (
        f"not json {canary}",
        json.dumps([canary]),
        json.dumps({"private_key": canary}),
        json.dumps({**service_account_key, "private_key": canary}),
    )
    for text in unreadable_keys:
        unreadable = BigQueryLocation(project=PROJECT, service_account_json=SecretStr(text))
        with pytest.raises(ValueError, match="not a service account key") as raised:
            unreadable.connect()
        assert raised.value.__cause__ is None and raised.value.__context__ is None
        shown.append(str(raised.value))
    with pytest.raises(ValidationError) as invalid:
        BigQueryLocation(project="", service_account_json=canary)  # type: ignore[arg-type]
    shown.append(str(invalid.value))
    assert not [text for text in shown if canary in text]
    assert location.connect().project == PROJECT  # a real client, offline


def test_the_databricks_token_shows_in_no_repr_or_error() -> None:
    canary = "dapi-canary-0123456789"
    location = DatabricksLocation(
        server_hostname="dbc-0.cloud.databricks.com", http_path="/sql", access_token=canary
    )
    with pytest.raises(ValidationError) as invalid:
        DatabricksLocation(server_hostname="", http_path="/sql", access_token=canary)
    shown = [repr(location), str(location), str(invalid.value)]
    assert not [text for text in shown if canary in text]
