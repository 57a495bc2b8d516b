"""Atomic partition replacement in PostgreSQL (see the package docstring for the contract).

Same semantics as the DuckDB writer, whose frame checks (`check_frames`) and type mapping
(`_types.py`) it shares; what differs is what PostgreSQL does differently:

* **Transactions are explicit.** The connection runs in autocommit mode and a write is
  ``BEGIN; … COMMIT`` on it, so a read between writes never leaves a transaction open
  that the next write would silently join.
* **Writers are serialised per schema.** DuckDB's file lock lets one process write at a
  time; PostgreSQL lets two runs replace the same day concurrently, and under READ
  COMMITTED the second one's ``DELETE`` would not see the first one's new rows: both
  inserts would survive. A transaction-scoped advisory lock on the schema makes the second
  writer wait for the first to commit, then replace its rows.
* **Catalogue before DDL.** The schema and table are created only when missing (checked in
  the catalogue), so a role with ``USAGE`` and table privileges but no ``CREATE`` on the
  database can write existing tables; the schema is compared on every write, since other
  sessions may alter a table at any time.
* **Bulk load is ``COPY``**, its payload built before the transaction starts: a pandas
  frame in the text format, value by value; an Arrow table as CSV, by pyarrow's writer
  (every value quoted, so an empty string stays apart from NULL, an unquoted empty field).
"""

from __future__ import annotations

import contextlib
import hashlib
import io
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from typing import Any

import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, SecretStr

from dot_orchestration._extras import extra_required
from dot_orchestration.warehouse._arrow import Frame, check_tables, is_arrow, kinds, stored
from dot_orchestration.warehouse._contract import DuplicateKeys, WriteResult
from dot_orchestration.warehouse._types import (
    check_matches,
    duplicate_keys_found,
    duplicate_keys_query,
    quote,
    restored,
    schema_problems,
)
from dot_orchestration.warehouse.errors import PartitionWriteError, SchemaMismatchError

with extra_required("postgres", feature="The PostgreSQL warehouse writer"):
    import psycopg2
    import psycopg2.errors
    import psycopg2.extensions

__all__ = ["LibpqLogin", "PostgresLocation", "PostgresSession"]

# The contract's kinds (named as `column_types` names them) → (the column type PostgreSQL
# creates, the name information_schema reports for it). TIMESTAMP holds UTC, without zone.
_TYPES = {
    "BIGINT": ("BIGINT", "bigint"),
    "DOUBLE": ("DOUBLE PRECISION", "double precision"),
    "VARCHAR": ("TEXT", "text"),
    "BOOLEAN": ("BOOLEAN", "boolean"),
    "DATE": ("DATE", "date"),
    "TIMESTAMP": ("TIMESTAMP", "timestamp without time zone"),
}
_DDL_TYPE = {catalogued: ddl for ddl, catalogued in _TYPES.values()}
_KIND = {ddl: kind for kind, (ddl, _) in _TYPES.items()}
_TEXT = _TYPES["VARCHAR"][0]

# COPY's text format: tab-separated, \N for NULL, and these four characters escaped.
_NULL = "\\N"
_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})
_COPY_BUFFER = 1 << 20
_LOCK_NAMESPACE = "dot_orchestration.warehouse:"


class LibpqLogin(BaseModel):
    """How to reach a server through libpq: PostgreSQL's, and Redshift's (its protocol).

    A plain value, like `DuckDBLocation`, so each step process opens its own connection.
    The password is a `SecretStr`: it shows in no repr, and it is handed to libpq as a
    keyword, never as part of a DSN string an error could quote.
    """

    model_config = ConfigDict(frozen=True, hide_input_in_errors=True)

    host: str = Field(min_length=1)
    port: int = Field(default=5432, gt=0, lt=65536)
    dbname: str = Field(min_length=1)
    user: str = Field(min_length=1)
    password: SecretStr
    sslmode: str | None = None
    connect_timeout_s: int = Field(default=10, gt=0)
    application_name: str = "dot_orchestration"

    def _connect(self, **parameters: Any) -> psycopg2.extensions.connection:
        """An autocommit connection speaking UTF-8: sessions spell ``BEGIN`` and
        ``COMMIT`` themselves (and COPY payloads are built in UTF-8)."""
        extra: dict[str, Any] = {"sslmode": self.sslmode} if self.sslmode else {}
        connection: psycopg2.extensions.connection = psycopg2.connect(
            host=self.host,
            port=self.port,
            dbname=self.dbname,
            user=self.user,
            password=self.password.get_secret_value(),
            connect_timeout=self.connect_timeout_s,
            application_name=self.application_name,
            client_encoding="UTF8",
            **extra,
            **parameters,
        )
        connection.autocommit = True
        return connection


class PostgresLocation(LibpqLogin):
    """Where the PostgreSQL database is and how to log in: all a writer needs.

    ``lock_timeout_s`` bounds every lock wait, chiefly for another writer of the same
    schema (see the module docstring); PostgreSQL then fails the write, which rolls back.
    """

    lock_timeout_s: float = Field(default=120.0, ge=0)

    def connect(self) -> psycopg2.extensions.connection:
        """An autocommit connection, every lock wait bounded by ``lock_timeout_s``."""
        return self._connect(options=f"-c lock_timeout={round(self.lock_timeout_s * 1000)}")

    @contextmanager
    def session(self, *, read_only: bool = False) -> Iterator[PostgresSession]:
        """One connection for a run's writes, or one read-only snapshot for its reads."""
        connection = self.connect()
        try:
            yield PostgresSession(connection, read_only=read_only)
        finally:
            connection.close()


@dataclass(frozen=True)
class _Plan:
    """One table's write, prepared before the transaction: its types and COPY payload."""

    types: dict[str, str | None]  # column → PostgreSQL type, None if the frame cannot tell
    payload: bytes
    format: str  # COPY's option naming the payload's format ("" for its text format)
    rows: int


class PostgresSession:
    """The `PartitionSession` of PostgreSQL, on one connection in autocommit mode.

    It takes Arrow tables too (`ArrowSession`), copied in as CSV. A read-only session reads
    in one ``REPEATABLE READ READ ONLY`` transaction, held until
    the connection closes: the server refuses writes, and the reads of a check or of an
    input (conversations, then messages) see one snapshot, not two sides of a commit. An
    error inside it aborts that transaction, so a read-only session ends at its first error.
    """

    accepts_arrow = True

    def __init__(self, connection: psycopg2.extensions.connection, *, read_only: bool = False):
        if not connection.autocommit:
            connection.autocommit = True  # raises if the caller has a transaction open
        self.connection = connection
        self.read_only = read_only
        if read_only:
            self._execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")

    def replace_partitions(
        self,
        *,
        schema: str,
        tables: Mapping[str, Frame],
        partition_column: str,
        partition_values: Sequence[date],
        allow_empty: bool,
    ) -> dict[str, WriteResult]:
        """Replace the partitions of every table in ``tables`` in one transaction.

        Refusals (the frame checks, a frame that cannot be encoded) come before ``BEGIN``;
        a failure after it rolls everything back, and a PostgreSQL error is raised as a
        `PartitionWriteError` saying so.
        """
        values = check_tables(
            tables,
            partition_column=partition_column,
            partition_values=partition_values,
            allow_empty=allow_empty,
        )
        described = ", ".join(f"{schema}.{table}" for table in tables)
        plans = {
            table: _plan(frame, partition_column, described) for table, frame in tables.items()
        }
        self._begin(described)
        try:
            self._lock(schema)
            results = {
                table: self._replace(schema, table, partition_column, values, plan)
                for table, plan in plans.items()
            }
            self._execute("COMMIT")
        except BaseException as error:
            self._rollback()
            if isinstance(error, psycopg2.Error):
                raise PartitionWriteError(
                    f"writing partitions {[str(value) for value in values]} of {described} "
                    f"failed and was rolled back: {error}".rstrip()
                ) from error
            raise
        return results

    def read_partitions(
        self,
        *,
        schema: str,
        table: str,
        partition_column: str,
        partition_values: Sequence[date] | None = None,
    ) -> pd.DataFrame:
        """The rows of ``partition_values`` (all rows when None), in the dtypes the writer takes.

        Rows come in partition order, then in physical order: the order they were written,
        unless ``VACUUM`` has since let new rows fill the space of deleted ones.
        """
        types = self._existing_types(schema, table)
        where, params = "", []
        if partition_values is not None:
            params = [list(dict.fromkeys(partition_values))]
            if not params[0]:
                raise ValueError("partition_values is empty: pass None to read every partition")
            where = f"WHERE {quote(partition_column)} = ANY(%s)"
        columns = ", ".join(quote(column) for column in types)
        rows = self._execute(
            f"SELECT {columns} FROM {_name(schema, table)} {where} "
            f"ORDER BY {quote(partition_column)}, ctid",
            params,
        ).fetchall()
        frame = pd.DataFrame.from_records(rows, columns=list(types))
        return frame.assign(**{column: _read(frame[column], types[column]) for column in types})

    def schema_problems(
        self, *, schema: str, table: str, frame: pd.DataFrame, partition_column: str
    ) -> list[str]:
        """How the table differs from the one writing ``frame`` creates; [] if not at all."""
        existing = self._table_types(schema, table)
        if not existing:
            return [f"table {schema}.{table} does not exist"]
        return schema_problems(existing, _types(frame, partition_column))

    def duplicate_keys(
        self, *, schema: str, table: str, columns: Sequence[str], examples: int = 5
    ) -> DuplicateKeys:
        """Grouped in the database: the table never travels to Python."""
        self._existing_types(schema, table)  # a clear error, not an aborted snapshot
        query = duplicate_keys_query(_name(schema, table), columns, placeholder="%s")
        rows = self._execute(query, [examples]).fetchall()
        return duplicate_keys_found(rows, len(columns))

    # --- inside the transaction -----------------------------------------------------------

    def _begin(self, described: str) -> None:
        if self.read_only:
            raise PartitionWriteError(f"cannot write {described}: the session is read-only")
        status = self.connection.info.transaction_status
        if status != psycopg2.extensions.TRANSACTION_STATUS_IDLE:
            raise PartitionWriteError(
                f"cannot write {described}: the connection already has a transaction open, "
                "and a partition replacement must be its own transaction to be atomic"
            )
        self._execute("BEGIN")

    def _lock(self, schema: str) -> None:
        """Wait for any other writer of ``schema``; released by COMMIT or ROLLBACK."""
        self._execute("SELECT pg_advisory_xact_lock(%s)", [_lock_key(schema)])

    def _replace(
        self, schema: str, table: str, partition_column: str, values: Sequence[date], plan: _Plan
    ) -> WriteResult:
        """Create if missing, check, delete, copy."""
        existing = self._table_types(schema, table)
        if existing:
            check_matches(schema, table, existing, plan.types)
        else:
            self._create(schema, table, plan.types)
        deleted = self._execute(
            f"DELETE FROM {_name(schema, table)} WHERE {quote(partition_column)} = ANY(%s)",
            [list(values)],
        ).rowcount
        if plan.rows:
            columns = ", ".join(quote(column) for column in plan.types)
            self.connection.cursor().copy_expert(
                f"COPY {_name(schema, table)} ({columns}) FROM STDIN{plan.format}",
                io.BytesIO(plan.payload),
                size=_COPY_BUFFER,
            )
        return WriteResult(rows_deleted=deleted, rows_inserted=plan.rows)

    def _create(self, schema: str, table: str, types: dict[str, str | None]) -> None:
        """Column types come from the first frame; a column with no values yet is TEXT."""
        exists = self._execute("SELECT 1 FROM pg_namespace WHERE nspname = %s", [schema])
        if exists.fetchone() is None:
            self._execute(f"CREATE SCHEMA {quote(schema)}")
        columns = ", ".join(f"{quote(column)} {kind or _TEXT}" for column, kind in types.items())
        self._execute(f"CREATE TABLE {_name(schema, table)} ({columns})")

    def _rollback(self) -> None:
        """Roll back, unless the connection is gone (the server rolled back already)."""
        with contextlib.suppress(psycopg2.Error):
            self._execute("ROLLBACK")

    # --- catalogue ------------------------------------------------------------------------

    def _table_types(self, schema: str, table: str) -> dict[str, str]:
        """Column → type as `_types` names it (unknown types in upper case); {} if no table."""
        rows = self._execute(
            "SELECT column_name, data_type FROM information_schema.columns "
            "WHERE table_schema = %s AND table_name = %s ORDER BY ordinal_position",
            [schema, table],
        ).fetchall()
        return {column: _DDL_TYPE.get(kind, kind.upper()) for column, kind in rows}

    def _existing_types(self, schema: str, table: str) -> dict[str, str]:
        types = self._table_types(schema, table)
        if not types:
            raise psycopg2.errors.UndefinedTable(f"table {schema}.{table} does not exist")
        return types

    def _execute(
        self, sql: str, params: Sequence[object] | None = None
    ) -> psycopg2.extensions.cursor:
        cursor = self.connection.cursor()
        cursor.execute(sql, params)
        return cursor


# --- the frame ----------------------------------------------------------------------------


def _types(frame: Frame, partition_column: str) -> dict[str, str | None]:
    """The PostgreSQL type of each column, by the contract's one-type-per-kind mapping."""
    found = kinds(frame, partition_column)
    return {column: _TYPES[kind][0] if kind else None for column, kind in found.items()}


def _plan(frame: Frame, partition_column: str, described: str) -> _Plan:
    """Types and COPY payload; a frame that cannot be encoded is refused here, unwritten."""
    types = _types(frame, partition_column)
    if is_arrow(frame):
        return _Plan(
            types=types, payload=_csv(stored(frame)), format=" (FORMAT csv)", rows=len(frame)
        )
    storable = stored(frame)
    columns = [_copy_column(storable[column], kind) for column, kind in types.items()]
    text = "".join("\t".join(row) + "\n" for row in zip(*columns, strict=True))
    try:
        payload = text.encode("utf-8")
    except UnicodeEncodeError as error:
        raise SchemaMismatchError(
            f"refusing to write {described}: the frame holds text that cannot be stored as "
            f"UTF-8 ({error.reason}: {error.object[error.start : error.end]!r})"
        ) from None
    return _Plan(types=types, payload=payload, format="", rows=len(frame))


def _csv(table: Any) -> bytes:
    """An Arrow table as CSV for COPY: pyarrow writes it column-wise, every value quoted
    (an unquoted empty field is NULL) and floats in their shortest exact form. Arrow text
    is UTF-8 already, so there is nothing to refuse."""
    import pyarrow as pa  # type: ignore[import-untyped]  # pyarrow ships no type hints
    import pyarrow.csv  # type: ignore[import-untyped]

    # microseconds, as PostgreSQL's TIMESTAMP holds them: cut, as the text format's are
    microseconds = pa.schema(
        [
            field.with_type(pa.timestamp("us")) if pa.types.is_timestamp(field.type) else field
            for field in table.schema
        ]
    )
    sink = io.BytesIO()
    options = pyarrow.csv.WriteOptions(include_header=False, quoting_style="all_valid")
    pyarrow.csv.write_csv(table.cast(microseconds, safe=False), sink, write_options=options)
    return sink.getvalue()


def _copy_column(column: pd.Series, kind: str | None) -> list[str]:
    """One column's values in COPY's text format, \\N for missing ones."""
    text = pd.Series(_NULL, index=column.index, dtype=object)
    present = column.notna().to_numpy()
    if kind is not None and present.any():
        text[present] = list(_FORMATS[kind](column[present]))
    values: list[str] = text.tolist()
    return values


def _values(convert: Callable[[Any], str]) -> Callable[[pd.Series], list[str]]:
    """A formatter applying ``convert`` to each (present) Python value of a column."""
    return lambda column: [convert(value) for value in column.tolist()]


_FORMATS: dict[str, Callable[[pd.Series], Sequence[str]]] = {
    "BIGINT": _values(lambda value: str(int(value))),
    "DOUBLE PRECISION": _values(lambda value: repr(float(value))),
    "BOOLEAN": _values(lambda value: "t" if value else "f"),
    "DATE": _values(lambda value: value.isoformat()),
    "TEXT": _values(lambda value: str(value).translate(_ESCAPES)),
    # naive UTC after `storable`; microseconds, like PostgreSQL's TIMESTAMP
    "TIMESTAMP": lambda column: column.dt.strftime("%Y-%m-%d %H:%M:%S.%f").tolist(),
}


def _read(column: pd.Series, kind: str) -> pd.Series:
    """A column as psycopg2 returns it, in the dtype the writer takes for its type."""
    if kind == "DATE":
        return column.astype(object).where(column.notna(), None)  # already datetime.date
    return restored(column, _KIND.get(kind, kind))


def _lock_key(schema: str) -> int:
    """A stable signed 64-bit advisory-lock key for the schema (same in every process)."""
    digest = hashlib.blake2b(f"{_LOCK_NAMESPACE}{schema}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


def _name(schema: str, table: str) -> str:
    return f"{quote(schema)}.{quote(table)}"
