"""Atomic partition replacement in DuckDB (see the package docstring for the contract)."""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from uuid import uuid4

import pandas as pd
from pydantic import BaseModel, ConfigDict, Field

from dot_orchestration._extras import extra_required
from dot_orchestration.warehouse._arrow import Frame, check_tables, kinds, stored
from dot_orchestration.warehouse._contract import DuplicateKeys, WriteResult
from dot_orchestration.warehouse._types import (
    TEXT,
    check_matches,
    column_types,
    duplicate_keys_found,
    duplicate_keys_query,
    quote,
    restored,
    schema_problems,
)
from dot_orchestration.warehouse.errors import PartitionWriteError

with extra_required("duckdb", feature="The DuckDB warehouse writer"):
    import duckdb

__all__ = [
    "AfterDelete",
    "DuckDBLocation",
    "DuckDBSession",
    "DuckDBTarget",
    "read_partition",
    "replace_partition",
    "replace_partitions",
]

_LOCK_POLL_S = 0.2

#: A write's hook: called with ``(schema, table)`` inside the write's transaction once the
#: table's partitions are deleted, before its rows are inserted. The point a crash is most
#: tempting to fear, so this is where the tests kill or fail a writer on purpose; it can
#: also log progress. Raising from it rolls the whole write back, like any failure.
AfterDelete = Callable[[str, str], None]


class DuckDBLocation(BaseModel):
    """Where the DuckDB database file is: all the configuration a writer needs.

    A plain value (cheap to build, serialise and compare), so a Dagster resource can hold
    one and every step process opens its own connection where it writes.

    DuckDB lets one process at a time open a file for writing (and none read it meanwhile).
    ``lock_timeout_s`` is how long `connect` waits for another process (a dbt build on the
    same file) to let go before giving up with DuckDB's own "Conflicting lock" error.

    ``write_memory_limit`` is DuckDB's ``memory_limit`` while a session writes. DuckDB keeps
    the blocks it wrote in memory up to that limit (80% of RAM by default), so a backfill of
    a year would hold every block of the year; within the limit it writes the older ones
    out of memory. A write needs little (a batch of rows), so the default keeps a session's
    memory flat whatever the range; DuckDB's default limit comes back when the session
    ends. None: DuckDB's own limit.

    ``write_threads`` is DuckDB's ``threads`` while a session writes, given back the same
    way. A write inserts a batch of rows (tens of thousands), too few for a second thread to
    pay for itself: a year of history (`bench/bench_ingest.py`'s 16 writes) took 2.1 s of
    CPU and 2.4 s of wall time with both cores, 1.7 s and 2.0 s with one. None: DuckDB's
    own count (the cores).
    """

    model_config = ConfigDict(frozen=True)

    path: Path
    lock_timeout_s: float = Field(default=0.0, ge=0)
    write_memory_limit: str | None = "32MB"
    write_threads: int | None = Field(default=1, ge=1)

    def connect(self, *, read_only: bool = False) -> duckdb.DuckDBPyConnection:
        """Open the file; a writer creates its directory, a reader needs the file to exist."""
        if not read_only:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        deadline = time.monotonic() + self.lock_timeout_s
        while True:
            try:
                return duckdb.connect(str(self.path), read_only=read_only)
            except duckdb.IOException as error:
                if "Conflicting lock" not in str(error) or time.monotonic() >= deadline:
                    raise
            time.sleep(_LOCK_POLL_S)

    @contextmanager
    def session(
        self, *, read_only: bool = False, after_delete: AfterDelete | None = None
    ) -> Iterator[DuckDBSession]:
        """One connection for many writes: opening the file per write costs a checkpoint
        (~130 ms against ~25 ms for a write on a kept connection)."""
        conn = self.connect(read_only=read_only)
        try:
            settings = {} if read_only else self._write_settings()
            with _set_meanwhile(conn, settings):
                yield DuckDBSession(conn, after_delete=after_delete)
        finally:
            conn.close()

    def _write_settings(self) -> dict[str, str | int]:
        settings = {"memory_limit": self.write_memory_limit, "threads": self.write_threads}
        return {name: value for name, value in settings.items() if value is not None}


@contextmanager
def _set_meanwhile(
    conn: duckdb.DuckDBPyConnection, settings: Mapping[str, str | int]
) -> Iterator[None]:
    """DuckDB's ``settings`` set meanwhile (the database's, in this process), then DuckDB's
    defaults again."""
    for name, value in settings.items():
        conn.execute(f"SET {name} = ?", [value])
    try:
        yield
    finally:
        for name in settings:
            with contextlib.suppress(duckdb.Error):  # a broken connection keeps its error
                conn.execute(f"RESET {name}")


_Verified = dict[tuple[str, str], dict[str, str | None]]  # (schema, table) → column types


class DuckDBSession:
    """The `PartitionSession` of DuckDB: the functions below, on one kept connection.

    A table is created and its schema compared once per session, on the first write that
    commits: the session's read-write connection holds DuckDB's file lock, so no other
    process can alter the table meanwhile (a day's write costs a third less). Rows may come
    as Arrow tables (`ArrowSession`), which DuckDB scans without a copy per value.
    """

    accepts_arrow = True

    def __init__(
        self, connection: duckdb.DuckDBPyConnection, *, after_delete: AfterDelete | None = None
    ) -> None:
        self.connection = connection
        self.after_delete = after_delete
        self._verified: _Verified = {}

    def replace_partitions(
        self,
        *,
        schema: str,
        tables: Mapping[str, Frame],
        partition_column: str,
        partition_values: Sequence[date],
        allow_empty: bool,
    ) -> dict[str, WriteResult]:
        """See `replace_partitions`."""
        return _replace_partitions(
            self.connection,
            schema=schema,
            tables=tables,
            partition_column=partition_column,
            partition_values=partition_values,
            allow_empty=allow_empty,
            verified=self._verified,
            after_delete=self.after_delete,
        )

    def read_partitions(
        self,
        *,
        schema: str,
        table: str,
        partition_column: str,
        partition_values: Sequence[date] | None = None,
    ) -> pd.DataFrame:
        """See `read_partition`."""
        return read_partition(
            self.connection,
            schema=schema,
            table=table,
            partition_column=partition_column,
            partition_values=partition_values,
        )

    def schema_problems(
        self, *, schema: str, table: str, frame: pd.DataFrame, partition_column: str
    ) -> list[str]:
        """How the table differs from the one writing ``frame`` creates; [] if not at all.

        Compared like a write compares them, so an empty ``frame`` with the contract's
        dtypes is enough.
        """
        try:
            existing = _table_types(self.connection, schema, table)
        except duckdb.CatalogException:
            return [f"table {schema}.{table} does not exist"]
        return schema_problems(existing, column_types(frame, partition_column))

    def duplicate_keys(
        self, *, schema: str, table: str, columns: Sequence[str], examples: int = 5
    ) -> DuplicateKeys:
        """Grouped in the database: the table never travels to Python."""
        name = f"{quote(schema)}.{quote(table)}"
        query = duplicate_keys_query(name, columns, placeholder="?")
        rows = self.connection.execute(query, [examples]).fetchall()
        return duplicate_keys_found(rows, len(columns))


DuckDBTarget = duckdb.DuckDBPyConnection | DuckDBLocation | str | os.PathLike[str]


def replace_partition(
    target: DuckDBTarget,
    *,
    schema: str,
    table: str,
    partition_column: str,
    partition_values: Sequence[date],
    frame: Frame,
    allow_empty: bool,
    after_delete: AfterDelete | None = None,
) -> WriteResult:
    """Replace the rows of ``partition_values`` in ``schema.table`` with ``frame``, atomically.

    One transaction creates the schema and table if missing, deletes the partitions' rows
    and inserts the frame; any failure rolls it back, so readers (and a crash) see either
    the old partitions or the new ones, never an empty or half-written one. Refusals
    (empty frame without ``allow_empty``, rows outside ``partition_values``, columns or
    types unlike the table's) happen before anything is written.

    Timestamps must be time-zone aware; they are stored as UTC in ``TIMESTAMP`` columns, so
    no session time zone can shift them. ``target`` is a connection (the caller's; it must
    not have a transaction open) or a database file, opened and closed here. ``after_delete``
    is the write's hook (`AfterDelete`).
    """
    return replace_partitions(
        target,
        schema=schema,
        tables={table: frame},
        partition_column=partition_column,
        partition_values=partition_values,
        allow_empty=allow_empty,
        after_delete=after_delete,
    )[table]


def replace_partitions(
    target: DuckDBTarget,
    *,
    schema: str,
    tables: Mapping[str, Frame],
    partition_column: str,
    partition_values: Sequence[date],
    allow_empty: bool,
    after_delete: AfterDelete | None = None,
) -> dict[str, WriteResult]:
    """`replace_partition` for several tables of ``schema`` in one transaction.

    Tables that belong together (a day's conversations and their messages) are replaced
    together or not at all: no reader or crash ever sees one table's new partition beside
    the other's old one. ``allow_empty`` is needed only when every frame is empty.
    """
    return _replace_partitions(
        target,
        schema=schema,
        tables=tables,
        partition_column=partition_column,
        partition_values=partition_values,
        allow_empty=allow_empty,
        verified={},
        after_delete=after_delete,
    )


def _replace_partitions(
    target: DuckDBTarget,
    *,
    schema: str,
    tables: Mapping[str, Frame],
    partition_column: str,
    partition_values: Sequence[date],
    allow_empty: bool,
    verified: _Verified,
    after_delete: AfterDelete | None,
) -> dict[str, WriteResult]:
    """`replace_partitions`, skipping the tables ``verified`` earlier on this connection."""
    values = check_tables(
        tables,
        partition_column=partition_column,
        partition_values=partition_values,
        allow_empty=allow_empty,
    )
    # Types and storable frames first: a frame that cannot be stored is refused before
    # the transaction starts.
    plans = {
        table: (kinds(frame, partition_column), stored(frame)) for table, frame in tables.items()
    }
    described = ", ".join(f"{schema}.{table}" for table in tables)
    with _connection(target) as conn:
        _begin(conn, described)
        try:
            results = {
                table: _replace(
                    conn,
                    schema,
                    table,
                    partition_column,
                    values,
                    rows,
                    types=types,
                    verified=verified.get((schema, table)) == types,
                    after_delete=after_delete,
                )
                for table, (types, rows) in plans.items()
            }
            conn.commit()
        except BaseException as error:
            conn.rollback()
            if isinstance(error, duckdb.Error):
                raise PartitionWriteError(
                    f"writing partitions {[str(value) for value in values]} of {described} "
                    f"failed and was rolled back: {error}"
                ) from error
            raise
    verified.update({(schema, table): types for table, (types, _) in plans.items()})
    return results


def _replace(
    conn: duckdb.DuckDBPyConnection,
    schema: str,
    table: str,
    partition_column: str,
    values: Sequence[date],
    rows: Frame,
    *,
    types: dict[str, str | None],
    verified: bool,
    after_delete: AfterDelete | None,
) -> WriteResult:
    """Inside the caller's transaction: create if missing, check, delete, insert."""
    name = f"{quote(schema)}.{quote(table)}"
    if not verified:
        _create_if_missing(conn, schema, name, types)
        check_matches(schema, table, _table_types(conn, schema, table), types)
    deleted = _delete_partitions(conn, name, partition_column, values)
    if after_delete is not None:
        after_delete(schema, table)
    inserted = _insert_frame(conn, name, rows, types) if len(rows) else 0
    return WriteResult(rows_deleted=deleted, rows_inserted=inserted)


def read_partition(
    target: DuckDBTarget,
    *,
    schema: str,
    table: str,
    partition_column: str,
    partition_values: Sequence[date] | None = None,
) -> pd.DataFrame:
    """The rows of ``partition_values`` (all rows when None), in the order they were written.

    Columns come back with the dtypes `replace_partition` accepts (text as ``string``,
    integers as ``Int64``, dates as ``datetime.date``, timestamps as UTC-aware), so a read
    frame can be written again unchanged.
    """
    name = f"{quote(schema)}.{quote(table)}"
    where, params = "", []
    if partition_values is not None:
        params = list(dict.fromkeys(partition_values))
        if not params:
            raise ValueError("partition_values is empty: pass None to read every partition")
        where = f"WHERE {quote(partition_column)} IN ({', '.join('?' * len(params))})"
    with _connection(target, read_only=True) as conn:
        types = _table_types(conn, schema, table)
        frame = conn.execute(
            f"SELECT * FROM {name} {where} ORDER BY {quote(partition_column)}, rowid", params
        ).df()
    return frame.assign(**{column: restored(frame[column], types[column]) for column in frame})


# --- connection and transaction -----------------------------------------------------------


@contextmanager
def _connection(
    target: DuckDBTarget, *, read_only: bool = False
) -> Iterator[duckdb.DuckDBPyConnection]:
    """The caller's connection as is, or one opened on the file and closed afterwards."""
    if isinstance(target, duckdb.DuckDBPyConnection):
        yield target
        return
    location = target if isinstance(target, DuckDBLocation) else DuckDBLocation(path=Path(target))
    conn = location.connect(read_only=read_only)
    try:
        yield conn
    finally:
        conn.close()


def _begin(conn: duckdb.DuckDBPyConnection, name: str) -> None:
    try:
        conn.begin()
    except duckdb.TransactionException as error:
        raise PartitionWriteError(
            f"cannot write {name}: the connection already has a transaction open, and a "
            "partition replacement must be its own transaction to be atomic"
        ) from error


def _create_if_missing(
    conn: duckdb.DuckDBPyConnection, schema: str, name: str, types: dict[str, str | None]
) -> None:
    """Column types come from the first frame; a column with no values yet is VARCHAR."""
    columns = ", ".join(f"{quote(column)} {kind or TEXT}" for column, kind in types.items())
    conn.execute(f"CREATE SCHEMA IF NOT EXISTS {quote(schema)}")
    conn.execute(f"CREATE TABLE IF NOT EXISTS {name} ({columns})")


def _delete_partitions(
    conn: duckdb.DuckDBPyConnection, name: str, partition_column: str, values: Sequence[date]
) -> int:
    placeholders = ", ".join("?" * len(values))
    result = conn.execute(
        f"DELETE FROM {name} WHERE {quote(partition_column)} IN ({placeholders})", list(values)
    ).fetchone()
    return int(result[0]) if result else 0


def _insert_frame(
    conn: duckdb.DuckDBPyConnection, name: str, frame: Frame, names: Iterable[str]
) -> int:
    """Insert through a uniquely named view of the frame (or Arrow table), by column name."""
    view = f"dot_frame_{uuid4().hex}"
    columns = ", ".join(quote(column) for column in names)
    conn.register(view, frame)
    try:
        result = conn.execute(
            f"INSERT INTO {name} ({columns}) SELECT {columns} FROM {quote(view)}"
        ).fetchone()
    finally:
        conn.unregister(view)
    return int(result[0]) if result else 0


def _table_types(conn: duckdb.DuckDBPyConnection, schema: str, table: str) -> dict[str, str]:
    rows = conn.execute(
        "SELECT column_name, data_type FROM information_schema.columns "
        "WHERE table_catalog = current_database() AND table_schema = ? AND table_name = ? "
        "ORDER BY ordinal_position",
        [schema, table],
    ).fetchall()
    if not rows:
        raise duckdb.CatalogException(f"table {schema}.{table} does not exist")
    return {column: kind for column, kind in rows}
