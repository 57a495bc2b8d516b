"""The warehouse contract on every warehouse that runs here, then Postgres and a Dagster run.

One throwaway PostgreSQL cluster serves the module (`reliability._postgres`: loopback only,
removed afterwards); every test writes a schema of its own. The contract cases run through
the `PartitionSession` the Dagster layer uses, on four backends, so "same semantics" is
tested, not assumed:

* ``duckdb`` and ``postgres``: the two bulk-loading writers, on a real file and server;
* ``redshift``: the staged writer in Redshift's SQL, run on the PostgreSQL server (every
  statement it sends is valid PostgreSQL; Redshift itself is by construction);
* ``snowflake``: the staged writer in Snowflake's SQL, run on fakesnow (Snowflake's SQL
  translated onto an in-process DuckDB file).

The Postgres-only cases are the ones DuckDB's file lock makes moot: readers during a write,
a writer killed mid-transaction, two writers of one day.
"""

from __future__ import annotations

import os
import secrets
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import AbstractContextManager, contextmanager
from datetime import date, timedelta
from pathlib import Path
from uuid import uuid4

import fakesnow
import numpy as np
import pandas as pd
import psycopg2
import psycopg2.errors
import pytest
from components._support import WORKSPACE, write_dot_yaml
from dagster import (
    DagsterInstance,
    Definitions,
    EnvVar,
    ExecuteInProcessResult,
    serialize_value,
)
from dagster.components.testing import create_defs_folder_sandbox
from pydantic import SecretStr
from reliability._postgres import (
    DATABASE,
    SUPERUSER,
    PostgresCluster,
    running_cluster,
)
from test_history_tables import EXPORT, START
from test_replace_partition import DAY_1, DAY_2, DAY_3, day_frame, frames_equal, refused
from test_replace_partitions import day as history_day
from test_replace_partitions import killed

from dot_orchestration.emulator import ADMIN_TOKEN, EmulatorConfig, EmulatorServer
from dot_orchestration.history import (
    DotHistorySettings,
    HistorySchedule,
    PostgresWarehouse,
    SnowflakeWarehouse,
    build_dot_history_definitions,
)
from dot_orchestration.resources import DotResource
from dot_orchestration.transforms.history import normalise_history
from dot_orchestration.warehouse import (
    DuckDBLocation,
    DuckDBSession,
    DuplicateKeys,
    EmptyPartitionError,
    PartitionSession,
    PartitionWriteError,
    PostgresLocation,
    PostgresSession,
    RedshiftLocation,
    SchemaMismatchError,
    SnowflakeLocation,
    StagedSession,
    WriteResult,
)

PARTITION = "partition_date"
BACKENDS = ("duckdb", "postgres", "redshift", "snowflake")
#: The backends whose reads keep no write order within a day (the staged writer's).
UNORDERED = ("redshift", "snowflake")
#: The contract's kinds as each warehouse's DDL names them.
TYPES = {
    "duckdb": {"text": "VARCHAR", "double": "DOUBLE", "bigint": "BIGINT"},
    "postgres": {"text": "TEXT", "double": "DOUBLE PRECISION", "bigint": "BIGINT"},
    "redshift": {"text": "VARCHAR(65535)", "double": "DOUBLE PRECISION", "bigint": "BIGINT"},
    "snowflake": {"text": "TEXT", "double": "FLOAT", "bigint": "NUMBER"},
}
#: ... and as each one's catalogue reports them (`column_types`), where that differs.
CATALOGUED = {
    "duckdb": {"timestamp": "TIMESTAMP"},
    "postgres": {"timestamp": "TIMESTAMP WITHOUT TIME ZONE"},
    "redshift": {"timestamp": "TIMESTAMP WITHOUT TIME ZONE", "text": "CHARACTER VARYING"},
    "snowflake": {"timestamp": "TIMESTAMP_NTZ"},
}
WAIT_S = 30


# --- the server ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def cluster() -> Iterator[PostgresCluster]:
    with running_cluster() as started:
        yield started


@pytest.fixture(scope="module")
def location(cluster: PostgresCluster) -> PostgresLocation:
    return PostgresLocation(
        host="127.0.0.1",
        port=cluster.port,
        dbname=DATABASE,
        user=SUPERUSER,
        password=cluster.password,
        lock_timeout_s=WAIT_S,
    )


@pytest.fixture
def schema() -> str:
    """A schema of this test's own (in DuckDB too: the name is part of what is compared)."""
    return f"t_{uuid4().hex[:12]}"


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def warehouse(
    backend: str, tmp_path: Path, request: pytest.FixtureRequest
) -> Iterator[Callable[..., AbstractContextManager[PartitionSession]]]:
    """``warehouse(read_only=False)``: a session on this test's backend."""
    if backend == "duckdb":
        yield DuckDBLocation(path=tmp_path / "dot.duckdb").session
        return
    if backend == "snowflake":
        (tmp_path / "fakesnow").mkdir()
        with fakesnow.patch(db_path=tmp_path / "fakesnow"):
            yield SNOWFLAKE.session
        return
    location: PostgresLocation = request.getfixturevalue("location")
    if backend == "redshift":
        yield redshift(location).session
        return
    yield location.session


#: Any account: fakesnow answers every `snowflake.connector.connect`.
SNOWFLAKE = SnowflakeLocation(account="test", user="test", password="test", database="dot")


def redshift(location: PostgresLocation) -> RedshiftLocation:
    """The Redshift writer pointed at the PostgreSQL server, which runs its statements."""
    return RedshiftLocation(
        host=location.host,
        port=location.port,
        dbname=location.dbname,
        user=location.user,
        password=location.password,
        sslmode=None,
    )


@pytest.fixture
def session(
    warehouse: Callable[..., AbstractContextManager[PartitionSession]],
) -> Iterator[PartitionSession]:
    with warehouse() as opened:
        yield opened


# --- helpers ------------------------------------------------------------------------------


def write(
    session: PartitionSession,
    schema: str,
    tables: pd.DataFrame | dict[str, pd.DataFrame],
    days: list[date],
    *,
    allow_empty: bool = False,
) -> dict[str, WriteResult]:
    """Replace ``days``; a lone frame is the conversations table."""
    if isinstance(tables, pd.DataFrame):
        tables = {"conversations": tables}
    return session.replace_partitions(
        schema=schema,
        tables=tables,
        partition_column=PARTITION,
        partition_values=days,
        allow_empty=allow_empty,
    )


def read(
    session: PartitionSession,
    schema: str,
    days: list[date] | None = None,
    table: str = "conversations",
) -> pd.DataFrame:
    return in_order(
        session.read_partitions(
            schema=schema, table=table, partition_column=PARTITION, partition_values=days
        ),
        session,
    )


def in_order(frame: pd.DataFrame, session: PartitionSession) -> pd.DataFrame:
    """Rows as `read` orders them: the staged writer's reads keep no write order within a
    day, so theirs (and what they are compared with) are sorted by day and key."""
    if not isinstance(session, StagedSession):
        return frame
    keys = [column for column in (PARTITION, "conversation_id", "message_index") if column in frame]
    return frame.sort_values(keys, kind="stable").reset_index(drop=True)


def ids(session: PartitionSession, schema: str, table: str = "conversations") -> list[str]:
    return read(session, schema, table=table)["conversation_id"].tolist()


def column_types(session: PartitionSession, schema: str, table: str) -> list[tuple[str, str]]:
    """The table's columns and types as the warehouse's catalogue names them."""
    sql = (
        "SELECT column_name, upper(data_type) FROM information_schema.columns "
        "WHERE table_schema = {0} AND table_name = {0} ORDER BY ordinal_position"
    )
    if isinstance(session, DuckDBSession):
        return session.connection.execute(sql.format("?"), [schema, table]).fetchall()
    if isinstance(session, StagedSession):
        dialect = session.dialect
        rows = session.connection.query(
            sql.format(dialect.placeholder), [dialect.identifier(schema), dialect.identifier(table)]
        )
        return [(dialect.column_name(column), kind) for column, kind in rows]
    assert isinstance(session, PostgresSession)
    with session.connection.cursor() as cursor:
        cursor.execute(sql.format("%s"), [schema, table])
        return cursor.fetchall()


def execute(session: PartitionSession, statement: str) -> None:
    """One statement of the test's own, on the session's connection."""
    if isinstance(session, DuckDBSession):
        session.connection.execute(statement)
    elif isinstance(session, StagedSession):
        session.connection.query(statement)
    else:
        assert isinstance(session, PostgresSession)
        with session.connection.cursor() as cursor:
            cursor.execute(statement)


def quoted(session: PartitionSession) -> Callable[[str], str]:
    """How the session's warehouse quotes (and, on Snowflake, folds) a name."""
    if isinstance(session, StagedSession):
        return session.dialect.quote
    return lambda name: f'"{name}"'


# --- the contract, on both warehouses ------------------------------------------------------


def test_the_first_write_creates_the_table_with_one_type_per_kind(
    session: PartitionSession, schema: str, backend: str
) -> None:
    frame = day_frame(DAY_1, ["a", "b"])
    assert write(session, schema, frame, [DAY_1]) == {"conversations": WriteResult(0, 2)}
    catalogued = {**TYPES[backend], **CATALOGUED[backend]}
    assert column_types(session, schema, "conversations") == [
        ("conversation_id", catalogued["text"]),
        ("partition_date", "DATE"),
        ("created_at", catalogued["timestamp"]),
        ("message_count", catalogued["bigint"]),
        ("auto_review_score", catalogued["double"]),
        ("archived", "BOOLEAN"),
    ]
    frames_equal(read(session, schema), frame)


def test_rewriting_a_day_replaces_it_and_leaves_other_days(
    session: PartitionSession, schema: str
) -> None:
    write(session, schema, day_frame(DAY_1, ["a", "b", "c"]), [DAY_1])
    write(session, schema, day_frame(DAY_2, ["x"]), [DAY_2])
    second = day_frame(DAY_1, ["a", "b", "d", "e"], version=2)
    assert write(session, schema, second, [DAY_1]) == {"conversations": WriteResult(3, 4)}
    assert write(session, schema, second, [DAY_1]) == {"conversations": WriteResult(4, 4)}
    frames_equal(read(session, schema, [DAY_1]), in_order(second, session))
    assert ids(session, schema) == ["a", "b", "d", "e", "x"]


def test_an_empty_frame_is_refused_unless_allowed(session: PartitionSession, schema: str) -> None:
    with pytest.raises(EmptyPartitionError):
        write(session, schema, day_frame(DAY_1, []), [DAY_1])
    contract = day_frame(DAY_1, [])
    problems = session.schema_problems(
        schema=schema, table="conversations", frame=contract, partition_column=PARTITION
    )
    assert problems == [f"table {schema}.conversations does not exist"]  # nothing created

    write(session, schema, day_frame(DAY_1, ["a"]), [DAY_1])
    with pytest.raises(EmptyPartitionError):
        write(session, schema, day_frame(DAY_1, []), [DAY_1])
    assert ids(session, schema) == ["a"]
    result = write(session, schema, day_frame(DAY_1, []), [DAY_1], allow_empty=True)
    assert result == {"conversations": WriteResult(1, 0)}
    assert ids(session, schema) == []


@pytest.mark.parametrize(
    ("change", "differences"),
    [
        (lambda f: f.assign(extra=1), "missing columns [], extra columns ['extra']"),
        (lambda f: f.drop(columns=["archived"]), "missing columns ['archived'], extra columns []"),
        (
            lambda f: f.assign(message_count=[1.5]),
            "missing columns [], extra columns [], different types "
            "['message_count: table {bigint}, frame {double}']",
        ),
    ],
    ids=["extra-column", "missing-column", "float-for-integer"],
)
def test_a_frame_unlike_the_table_is_refused(
    session: PartitionSession, schema: str, backend: str, change: Callable, differences: str
) -> None:
    written = day_frame(DAY_1, ["a", "b"])
    write(session, schema, written, [DAY_1])
    with pytest.raises(SchemaMismatchError) as caught:
        write(session, schema, change(day_frame(DAY_1, ["z"])), [DAY_1])
    if "different types" not in differences:
        differences += ", different types []"
    expected = differences.format(**TYPES[backend])
    assert str(caught.value).startswith(f"frame does not match {schema}.conversations: {expected}")
    frames_equal(read(session, schema), written)


def test_a_table_older_than_a_contract_column_is_refused_with_the_statement_that_adds_it(
    session: PartitionSession, schema: str, backend: str
) -> None:
    """Tables written before `auto_review_label` existed: the error gives the fix, which works."""
    history = normalise_history(EXPORT, window_start=START, window_end=START + timedelta(days=1))
    day = history.conversations["partition_date"].iloc[0]
    older = history.conversations.drop(columns=["auto_review_label"])
    write(session, schema, older, [day])
    with pytest.raises(SchemaMismatchError) as caught:
        write(session, schema, history.conversations, [day])
    quote = quoted(session)
    statement = (
        f"ALTER TABLE {quote(schema)}.{quote('conversations')} ADD COLUMN "
        f"{quote('auto_review_label')} {TYPES[backend]['text']}"
    )
    assert f"add them with {statement}; then re-run" in str(caught.value)
    execute(session, statement)
    write(session, schema, history.conversations, [day])
    stored = read(session, schema)  # the added column comes last; writes go by name
    frames_equal(
        stored[list(history.conversations.columns)], in_order(history.conversations, session)
    )


@pytest.mark.parametrize(
    ("column", "values"),
    [
        # uint64 maps to BIGINT like every integer; the second value does not fit
        ("message_count", np.array([1, 2**64 - 1], dtype="uint64")),
        # a lone surrogate (JSON "\ud83d" cut from an emoji) is not UTF-8
        ("conversation_id", pd.array(["ok", "broken \ud83d"], dtype="string")),
    ],
    ids=["integer-overflow", "invalid-text"],
)
def test_a_frame_that_cannot_be_stored_leaves_the_previous_rows(
    session: PartitionSession, schema: str, column: str, values: object
) -> None:
    written = day_frame(DAY_1, ["a", "b", "c"])
    write(session, schema, written, [DAY_1])
    bad = day_frame(DAY_1, ["a", "b"])
    bad[column] = values
    refused(lambda: write(session, schema, bad, [DAY_1]))
    frames_equal(read(session, schema), written)
    write(session, schema, day_frame(DAY_1, ["after"]), [DAY_1])  # the session still works
    assert ids(session, schema) == ["after"]


def test_a_failure_in_the_second_table_rolls_back_the_first(
    session: PartitionSession, schema: str
) -> None:
    write(session, schema, history_day(DAY_1, ["a", "b"]), [DAY_1])
    broken = history_day(DAY_1, ["z"])
    broken["messages"]["message_index"] = np.array([0, 2**64 - 1], dtype="uint64")
    with pytest.raises(PartitionWriteError, match=r"rolled back|nothing was written"):
        write(session, schema, broken, [DAY_1])
    assert ids(session, schema) == ["a", "b"]
    assert ids(session, schema, "messages") == ["a", "a", "b", "b"]


def test_both_tables_are_replaced_and_counted(session: PartitionSession, schema: str) -> None:
    write(session, schema, history_day(DAY_1, ["a", "b"]), [DAY_1])
    results = write(session, schema, history_day(DAY_1, ["a", "c", "d"], 3), [DAY_1])
    assert results == {"conversations": WriteResult(2, 3), "messages": WriteResult(4, 9)}
    assert ids(session, schema, "messages") == [i for i in "acd" for _ in range(3)]


def test_text_survives_the_round_trip(session: PartitionSession, schema: str) -> None:
    awkward = ["tab\there", "new\nline", "cr\rlf\r\n", "back\\slash", "\\N", "", "'\"", "😀 ü"]
    frame = day_frame(DAY_1, [*awkward, "null-title"])
    frame["title"] = pd.array([*awkward, None], dtype="string")
    write(session, schema, frame, [DAY_1])
    frames_equal(read(session, schema), in_order(frame, session))


def test_the_normalised_history_round_trips(session: PartitionSession, schema: str) -> None:
    history = normalise_history(EXPORT, window_start=START, window_end=START + timedelta(days=1))
    tables = {"conversations": history.conversations, "messages": history.messages}
    write(session, schema, tables, [DAY_1])
    for table, frame in tables.items():
        pd.testing.assert_frame_equal(read(session, schema, table=table), in_order(frame, session))


def test_reads_filter_by_day_in_write_order_and_name_a_missing_table(
    session: PartitionSession, schema: str, backend: str
) -> None:
    write(session, schema, day_frame(DAY_2, ["z", "y"]), [DAY_2])
    write(session, schema, day_frame(DAY_1, ["b", "a"]), [DAY_1])
    ordered = backend not in UNORDERED  # by day always; within a day, as written or by key
    assert ids(session, schema) == (["b", "a", "z", "y"] if ordered else ["a", "b", "y", "z"])
    day_2 = read(session, schema, [DAY_2])["conversation_id"].tolist()
    assert day_2 == (["z", "y"] if ordered else ["y", "z"])
    assert read(session, schema, [DAY_3]).empty
    with pytest.raises(Exception, match=rf"{schema}\.messages does not exist"):
        read(session, schema, table="messages")


def test_schema_problems_and_duplicate_keys(
    warehouse: Callable[..., AbstractContextManager[PartitionSession]], schema: str
) -> None:
    with warehouse() as session:
        write(session, schema, history_day(DAY_1, ["a", "b"]), [DAY_1])
        write(session, schema, history_day(DAY_2, ["a", "c"]), [DAY_2])  # "a" on two days
    contract = history_day(DAY_1, [])["conversations"]
    with warehouse(read_only=True) as session:
        same = session.schema_problems(
            schema=schema, table="conversations", frame=contract, partition_column=PARTITION
        )
        changed = session.schema_problems(
            schema=schema,
            table="conversations",
            frame=contract.drop(columns=[PARTITION]).assign(extra=pd.Series(dtype="Int64")),
            partition_column=PARTITION,
        )
        found = session.duplicate_keys(
            schema=schema, table="conversations", columns=["conversation_id"], examples=1
        )
        messages = session.duplicate_keys(
            schema=schema, table="messages", columns=["conversation_id", "message_index"]
        )
    assert same == []
    assert changed == ["missing columns ['extra']", "unexpected columns ['partition_date']"]
    assert found == DuplicateKeys(count=1, examples=((("a",), 2),))
    assert messages == DuplicateKeys(count=2, examples=((("a", 0), 2), (("a", 1), 2)))


# --- what only a server with concurrent sessions can show --------------------------------


@contextmanager
def connection(location: PostgresLocation) -> Iterator[psycopg2.extensions.connection]:
    """A plain autocommit connection, for what the test itself does to the server."""
    conn = location.connect()
    try:
        yield conn
    finally:
        conn.close()


def sql(conn: psycopg2.extensions.connection, statement: str, *params: object) -> list[tuple]:
    with conn.cursor() as cursor:
        cursor.execute(statement, params or None)
        return cursor.fetchall() if cursor.description else []


@contextmanager
def table_locked(location: PostgresLocation, schema: str, table: str) -> Iterator[None]:
    """Hold an exclusive lock on the table: a writer reaching it waits there, mid-write."""
    with connection(location) as blocker:
        sql(blocker, "BEGIN")
        sql(blocker, f'LOCK TABLE {schema}."{table}" IN ACCESS EXCLUSIVE MODE')
        try:
            yield
        finally:
            sql(blocker, "ROLLBACK")


def wait_until_waiting(
    location: PostgresLocation, pid: int, locktype: str, future: Future[object]
) -> None:
    """Until backend ``pid`` waits for a lock of ``locktype`` (failing early if it ended)."""
    deadline = time.monotonic() + WAIT_S
    with connection(location) as admin:
        while not sql(
            admin,
            "SELECT 1 FROM pg_locks WHERE pid = %s AND locktype = %s AND NOT granted",
            pid,
            locktype,
        ):
            if future.done():
                future.result()
                pytest.fail("the writer finished instead of waiting")
            assert time.monotonic() < deadline, f"backend {pid} never waited for a {locktype}"
            time.sleep(0.02)


def background_write(
    pool: ThreadPoolExecutor, session: PostgresSession, schema: str, tables: dict, on: date
) -> Future[dict[str, WriteResult]]:
    return pool.submit(write, session, schema, tables, [on])


def test_readers_see_the_old_day_and_a_killed_writer_changes_nothing(
    location: PostgresLocation, schema: str
) -> None:
    with location.session() as session:
        write(session, schema, history_day(DAY_1, ["a", "b"]), [DAY_1])
    with (
        location.session() as writer,
        ThreadPoolExecutor(1) as pool,
        table_locked(location, schema, "messages"),
    ):
        pid = writer.connection.get_backend_pid()
        pending = background_write(pool, writer, schema, history_day(DAY_1, ["new"]), DAY_1)
        # conversations replaced, messages' old rows about to be deleted: not committed
        wait_until_waiting(location, pid, "relation", pending)
        with location.session(read_only=True) as reader:
            assert ids(reader, schema) == ["a", "b"]
        with connection(location) as admin:
            assert sql(admin, "SELECT pg_terminate_backend(%s)", pid) == [(True,)]
        with pytest.raises(PartitionWriteError, match="rolled back"):
            pending.result(timeout=WAIT_S)
    with location.session(read_only=True) as reader:
        assert ids(reader, schema) == ["a", "b"]
        assert ids(reader, schema, "messages") == ["a", "a", "b", "b"]


def test_two_writers_of_one_day_leave_one_write_not_both(
    location: PostgresLocation, schema: str
) -> None:
    with location.session() as session:
        write(session, schema, history_day(DAY_1, ["old"]), [DAY_1])
    with (
        location.session() as first,
        location.session() as second,
        ThreadPoolExecutor(2) as pool,
    ):
        with table_locked(location, schema, "conversations"):
            one = background_write(pool, first, schema, history_day(DAY_1, ["1a", "1b"]), DAY_1)
            wait_until_waiting(location, first.connection.get_backend_pid(), "relation", one)
            two = background_write(pool, second, schema, history_day(DAY_1, ["2a"]), DAY_1)
            wait_until_waiting(location, second.connection.get_backend_pid(), "advisory", two)
        assert one.result(timeout=WAIT_S)["conversations"] == WriteResult(1, 2)
        # the second writer waited for the first to commit, then replaced its rows
        assert two.result(timeout=WAIT_S)["conversations"] == WriteResult(2, 1)
        assert ids(second, schema) == ["2a"]
        assert ids(second, schema, "messages") == ["2a", "2a"]


def test_a_read_only_session_is_one_read_only_snapshot(
    location: PostgresLocation, schema: str
) -> None:
    with location.session() as session:
        write(session, schema, day_frame(DAY_1, ["a"]), [DAY_1])
    with location.session(read_only=True) as reader, location.session() as writer:
        assert ids(reader, schema) == ["a"]
        write(writer, schema, day_frame(DAY_2, ["b"]), [DAY_2])
        assert ids(reader, schema) == ["a"]  # the snapshot of its first read
        assert ids(writer, schema) == ["a", "b"]
        with pytest.raises(PartitionWriteError, match="the session is read-only"):
            write(reader, schema, day_frame(DAY_1, ["z"]), [DAY_1])
        with pytest.raises(psycopg2.errors.ReadOnlySqlTransaction):
            sql(reader.connection, f"DELETE FROM {schema}.conversations")


def test_timestamps_are_stored_as_utc_whatever_the_session_time_zone(
    location: PostgresLocation, schema: str
) -> None:
    frame = day_frame(DAY_1, ["a"])
    frame["created_at"] = pd.to_datetime(["2024-03-01T10:00:00+01:00"]).tz_convert("Europe/Paris")
    with location.session() as session:
        sql(session.connection, "SET TimeZone = 'America/New_York'")
        write(session, schema, frame, [DAY_1])
        stored = sql(session.connection, f"SELECT created_at::text FROM {schema}.conversations")
        assert stored == [("2024-03-01 09:00:00",)]
        assert read(session, schema)["created_at"].tolist() == [
            pd.Timestamp("2024-03-01T09:00:00Z")
        ]


def test_the_password_shows_in_no_repr_error_or_dsn(
    location: PostgresLocation, cluster: PostgresCluster
) -> None:
    canary = f"canary-{secrets.token_hex(8)}"
    wrong = location.model_copy(update={"password": SecretStr(canary)})
    resource = PostgresWarehouse(
        host="127.0.0.1", port=cluster.port, dbname=DATABASE, user=SUPERUSER, password=canary
    )
    with pytest.raises(psycopg2.OperationalError) as refused:
        wrong.connect()
    with location.session() as session:
        dsn = session.connection.dsn
    shown = [repr(wrong), str(wrong), repr(resource), str(refused.value)]
    assert "password authentication failed" in str(refused.value)
    assert not [text for text in shown if canary in text]
    assert cluster.password not in dsn


# --- a Dagster run -----------------------------------------------------------------------

RUN_DAYS = [date(2025, 3, 1), date(2025, 3, 2), date(2025, 3, 3)]
PASSWORD_VAR = "DOT_TEST_HISTORY_PG_PASSWORD"


@pytest.fixture(scope="module")
def dot() -> Iterator[EmulatorServer]:
    """A Dot with three days of history, every answer at once."""
    config = EmulatorConfig(
        seed=7,
        history_days=len(RUN_DAYS),
        history_end=RUN_DAYS[-1] + timedelta(days=1),
        history_conversations_per_day=6,
        answer_delay_s=0,
    )
    with EmulatorServer(config, port=0) as server:
        yield server


def event_log(instance: DagsterInstance) -> str:
    """Every run record and event, serialized as Dagster stores them."""
    texts = []
    for run in instance.get_runs():
        texts.append(serialize_value(run))
        texts.extend(serialize_value(entry) for entry in instance.all_logs(run.run_id))
    return "\n".join(texts)


def run_days(defs: Definitions, instance: DagsterInstance) -> ExecuteInProcessResult:
    """The daily job over every day of `RUN_DAYS`, as one single-run backfill."""
    job = defs.resolve_job_def("dot_history_daily_job")
    return job.execute_in_process(
        instance=instance,
        tags={
            "dagster/asset_partition_range_start": str(RUN_DAYS[0]),
            "dagster/asset_partition_range_end": str(RUN_DAYS[-1]),
        },
        raise_on_error=False,
    )


def test_a_dagster_run_exports_days_into_postgres_by_swapping_the_resource(
    dot: EmulatorServer,
    location: PostgresLocation,
    cluster: PostgresCluster,
    schema: str,
    instance: DagsterInstance,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    warehouse = PostgresWarehouse(
        host="127.0.0.1",
        port=cluster.port,
        dbname=DATABASE,
        user=SUPERUSER,
        password=EnvVar(PASSWORD_VAR),
    )
    settings = DotHistorySettings(
        start_date=RUN_DAYS[0], schema_name=schema, postgres=warehouse, schedule=HistorySchedule()
    )
    defs = Definitions.merge(
        build_dot_history_definitions(settings),
        Definitions(resources={"dot": DotResource(api_token=ADMIN_TOKEN, base_url=dot.url)}),
    )
    monkeypatch.setenv(PASSWORD_VAR, cluster.password)
    assert run_days(defs, instance).success
    rerun = run_days(defs, instance)  # a re-run replaces: no duplicates
    assert rerun.success

    truth = {day: dot.state.history_truth(day, day + timedelta(days=1)) for day in RUN_DAYS}
    with location.session(read_only=True) as session:
        stored = {table: read(session, schema, table=table) for table in settings.tables}
    counts = {table: frame.groupby(PARTITION).size().to_dict() for table, frame in stored.items()}
    assert counts["conversations"] == {day: t.conversations for day, t in truth.items()}
    assert counts["messages"] == {day: t.messages for day, t in truth.items()}
    assert stored["conversations"]["conversation_id"].tolist() == [
        chat for t in truth.values() for chat in t.chat_ids
    ]
    checks = {e.check_name: e.passed for e in rerun.get_asset_check_evaluations()}
    assert checks["tables_match_contract"] and checks["unique_conversation_ids"]

    canary = f"canary-{secrets.token_hex(8)}"  # a wrong password must not leak either
    monkeypatch.setenv(PASSWORD_VAR, canary)
    assert not run_days(defs, instance).success
    log = event_log(instance)
    assert "password authentication failed" in log
    assert cluster.password not in log
    assert canary not in log


def test_a_dagster_run_exports_days_into_snowflake_with_a_resource_and_two_env_vars(
    dot: EmulatorServer,
    schema: str,
    instance: DagsterInstance,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Issue 20's Snowflake user: `SnowflakeWarehouse`, the account and password as
    `EnvVar`s, no subclass. fakesnow answers the connector in this process."""
    warehouse = SnowflakeWarehouse(
        account=EnvVar("DOT_TEST_SNOWFLAKE_ACCOUNT"),
        user="dot_export",
        database="analytics",
        password=EnvVar("DOT_TEST_SNOWFLAKE_PASSWORD"),
    )
    settings = DotHistorySettings(
        start_date=RUN_DAYS[0], schema_name=schema, snowflake=warehouse, schedule=HistorySchedule()
    )
    defs = Definitions.merge(
        build_dot_history_definitions(settings),
        Definitions(resources={"dot": DotResource(api_token=ADMIN_TOKEN, base_url=dot.url)}),
    )
    canary = f"canary-{secrets.token_hex(8)}"
    monkeypatch.setenv("DOT_TEST_SNOWFLAKE_ACCOUNT", "myorg-myaccount")
    monkeypatch.setenv("DOT_TEST_SNOWFLAKE_PASSWORD", canary)
    (tmp_path / "fakesnow").mkdir()
    with fakesnow.patch(db_path=tmp_path / "fakesnow"):
        assert run_days(defs, instance).success
        rerun = run_days(defs, instance)  # a re-run replaces: no duplicates
        assert rerun.success
        location = SNOWFLAKE.model_copy(update={"database": "analytics"})
        with location.session(read_only=True) as session:
            stored = {table: read(session, schema, table=table) for table in settings.tables}
    truth = {day: dot.state.history_truth(day, day + timedelta(days=1)) for day in RUN_DAYS}
    counts = {table: frame.groupby(PARTITION).size().to_dict() for table, frame in stored.items()}
    assert counts["conversations"] == {day: t.conversations for day, t in truth.items()}
    assert counts["messages"] == {day: t.messages for day, t in truth.items()}
    assert sorted(stored["conversations"]["conversation_id"]) == sorted(
        chat for t in truth.values() for chat in t.chat_ids
    )
    checks = {e.check_name: e.passed for e in rerun.get_asset_check_evaluations()}
    assert checks["tables_match_contract"] and checks["unique_conversation_ids"]
    assert canary not in event_log(instance)


def test_the_yaml_component_exports_into_postgres(
    dot: EmulatorServer,
    location: PostgresLocation,
    cluster: PostgresCluster,
    schema: str,
    instance: DagsterInstance,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The same swap from a `defs.yaml`: `history.postgres` instead of `history.warehouse`,
    the password an environment reference."""
    monkeypatch.setenv("DOT_API_KEY", ADMIN_TOKEN)
    monkeypatch.setenv("DOT_BASE_URL", dot.url)
    monkeypatch.setenv(PASSWORD_VAR, cluster.password)
    history = f"""\
        history:
          start_date: {RUN_DAYS[0]}
          schema_name: {schema}
          postgres:
            host: 127.0.0.1
            port: {cluster.port}
            dbname: {DATABASE}
            user: {SUPERUSER}
            password: "{{{{ env.{PASSWORD_VAR} }}}}"
          schedule: {{}}
        """
    with create_defs_folder_sandbox() as sandbox:
        write_dot_yaml(sandbox, WORKSPACE + textwrap.dedent(history))
        with sandbox.build_all_defs() as defs:
            assert run_days(defs, instance).success
    truth = {day: dot.state.history_truth(day, day + timedelta(days=1)) for day in RUN_DAYS}
    with location.session(read_only=True) as session:
        stored = read(session, schema, table="conversations")
    assert stored.groupby(PARTITION).size().to_dict() == {
        day: t.conversations for day, t in truth.items()
    }
    assert cluster.password not in event_log(instance)


# --- a staged writer killed between DELETE and INSERT --------------------------------------

KILLED_STAGED_WRITER = textwrap.dedent(
    """
    import contextlib, os, sys, time
    from datetime import date
    from pathlib import Path

    import pandas as pd

    backend, schema, signal_file = sys.argv[1], sys.argv[2], Path(sys.argv[3])
    if backend == "snowflake":
        import fakesnow
        from dot_orchestration.warehouse import SnowflakeLocation

        patch = fakesnow.patch(db_path=os.environ["FAKESNOW_DB"])
        location = SnowflakeLocation(account="test", user="test", password="x", database="dot")
    else:
        from dot_orchestration.warehouse import RedshiftLocation

        patch = contextlib.nullcontext()
        host, port, dbname, user = sys.argv[4:8]
        location = RedshiftLocation(
            host=host, port=int(port), dbname=dbname, user=user,
            password=os.environ["REDSHIFT_PASSWORD"], sslmode=None,
        )

    def pause_on_messages(_schema, table):
        if table == "messages":
            signal_file.write_text("paused")  # conversations replaced, messages deleted
            time.sleep(600)

    day = date(2024, 3, 1)
    tables = {
        "conversations": pd.DataFrame({
            "conversation_id": pd.array(["new"], dtype="string"),
            "partition_date": pd.Series([day], dtype=object),
        }),
        "messages": pd.DataFrame({
            "conversation_id": pd.array(["new"], dtype="string"),
            "message_index": pd.array([0], dtype="Int64"),
            "partition_date": pd.Series([day], dtype=object),
        }),
    }
    with patch, location.session(after_delete=pause_on_messages) as session:
        session.replace_partitions(
            schema=schema, tables=tables, partition_column="partition_date",
            partition_values=[day], allow_empty=False,
        )
    """
)


@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs POSIX signals")
@pytest.mark.parametrize("staged", ["redshift", "snowflake"])
def test_a_staged_writer_killed_between_delete_and_insert_changes_nothing(
    staged: str, schema: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    """SIGKILL inside the transaction, messages deleted and conversations replaced: both
    tables keep the old day; a re-run then replaces it once."""
    env, args = dict(os.environ), [staged, schema, str(tmp_path / "paused")]
    if staged == "snowflake":
        fakesnow_db = tmp_path / "fakesnow"
        fakesnow_db.mkdir()
        env["FAKESNOW_DB"] = str(fakesnow_db)

        @contextmanager
        def opened() -> Iterator[PartitionSession]:
            with fakesnow.patch(db_path=fakesnow_db), SNOWFLAKE.session() as session:
                yield session
    else:
        location: PostgresLocation = request.getfixturevalue("location")
        env["REDSHIFT_PASSWORD"] = location.password.get_secret_value()
        args += [location.host, str(location.port), location.dbname, location.user]
        opened = redshift(location).session
    with opened() as session:
        write(session, schema, history_day(DAY_1, ["a", "b"]), [DAY_1])
    killed(
        subprocess.Popen(
            [sys.executable, "-c", KILLED_STAGED_WRITER, *args],
            env=env,
            stderr=subprocess.PIPE,
            text=True,
        ),
        tmp_path / "paused",
    )
    with opened() as session:
        assert ids(session, schema) == ["a", "b"]
        assert ids(session, schema, "messages") == ["a", "a", "b", "b"]
        assert write(session, schema, history_day(DAY_1, ["new"]), [DAY_1]) == {
            "conversations": WriteResult(2, 1),
            "messages": WriteResult(4, 2),
        }
        assert ids(session, schema, "messages") == ["new", "new"]


def test_the_yaml_component_exports_into_snowflake(
    dot: EmulatorServer,
    schema: str,
    instance: DagsterInstance,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """`history.snowflake` in a `defs.yaml`, account and password as env references (the
    block the scaffolded file shows, commented out)."""
    monkeypatch.setenv("DOT_API_KEY", ADMIN_TOKEN)
    monkeypatch.setenv("DOT_BASE_URL", dot.url)
    monkeypatch.setenv("SNOWFLAKE_ACCOUNT", "myorg-myaccount")
    monkeypatch.setenv("SNOWFLAKE_PASSWORD", "not-a-real-password")
    history = f"""\
        history:
          start_date: {RUN_DAYS[0]}
          schema_name: {schema}
          snowflake:
            account: "{{{{ env.SNOWFLAKE_ACCOUNT }}}}"
            user: DOT_EXPORT
            database: dot
            warehouse: TRANSFORMING
            password: "{{{{ env.SNOWFLAKE_PASSWORD }}}}"
          schedule: {{}}
        """
    (tmp_path / "fakesnow").mkdir()
    with (
        fakesnow.patch(db_path=tmp_path / "fakesnow"),
        create_defs_folder_sandbox() as sandbox,
    ):
        write_dot_yaml(sandbox, WORKSPACE + textwrap.dedent(history))
        with sandbox.build_all_defs() as defs:
            assert run_days(defs, instance).success
        with SNOWFLAKE.session(read_only=True) as session:
            stored = read(session, schema, table="conversations")
    truth = {day: dot.state.history_truth(day, day + timedelta(days=1)) for day in RUN_DAYS}
    assert stored.groupby(PARTITION).size().to_dict() == {
        day: t.conversations for day, t in truth.items()
    }
    assert "not-a-real-password" not in event_log(instance)
