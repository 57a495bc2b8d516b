"""Atomic partition replacement through a staging table: the writer every warehouse reached
by a DB-API driver shares (Snowflake, Redshift, BigQuery, Databricks).

The flow is the same everywhere; what a warehouse says differently is its `Dialect`:

1. **Refuse before writing**: the shared frame checks (`check_frames`), then the table is
   created if missing and compared with the frame (`check_matches`), before any row moves.
2. **Stage outside the transaction**: each frame is loaded into a staging table of its own
   (``CREATE TEMPORARY TABLE`` and multi-row ``INSERT``, or the warehouse's bulk loader).
   DDL commits implicitly on Snowflake, BigQuery and Databricks, and a bulk load is not
   transactional, so both happen before the transaction, where a failure leaves the target
   tables untouched.
3. **Replace in one transaction**: ``DELETE`` the partitions' rows and ``INSERT … SELECT``
   from the stage, for every table of the write, then **verify** in the same transaction
   that the partitions hold exactly the staged rows; only then ``COMMIT``. A driver that
   misreports row counts, or a warehouse that did not do what was asked, fails the write
   (rolled back) instead of passing silently. How the transaction is spelt is the
   dialect's `Transaction`: statements one at a time (Snowflake, Redshift), one script
   (BigQuery, whose ``ASSERT`` verifies inside it), or one atomic ``INSERT … REPLACE WHERE``
   per table (Databricks, which has no multi-table transaction: see `Transaction`).
4. **Drop the stages** whatever happened.

Reads come back in the dtypes a write takes, ordered by partition (the order of rows
within a partition is the warehouse's: only DuckDB and PostgreSQL keep write order).
"""

from __future__ import annotations

import contextlib
import enum
import math
import re
from abc import ABC
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import TYPE_CHECKING, Any, ClassVar, Protocol
from uuid import uuid4

from dot_orchestration._lazy import LazyModule
from dot_orchestration.warehouse._arrow import Frame, pandas_frame
from dot_orchestration.warehouse._contract import DuplicateKeys, WriteResult, check_frames
from dot_orchestration.warehouse._types import (
    DATE,
    TIMESTAMP,
    check_matches,
    column_types,
    duplicate_keys_found,
    duplicate_keys_query,
    restored,
    schema_problems,
    storable,
)
from dot_orchestration.warehouse.errors import PartitionWriteError, SchemaMismatchError

if TYPE_CHECKING:
    import pandas as pd
else:  # imported on first use, not when definitions load (`_lazy`)
    pd = LazyModule("pandas", globals(), "pd")

__all__ = [
    "AfterDelete",
    "Dialect",
    "SqlConnection",
    "StagedSession",
    "Transaction",
]

#: Called with ``(schema, table)`` inside the transaction once a table's partitions are
#: deleted, before its rows are inserted (as DuckDB's `AfterDelete`): where tests kill a
#: writer on purpose. Only `Transaction.STATEMENTS` has such a moment.
AfterDelete = Callable[[str, str], None]

_SIMPLE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


class Transaction(enum.Enum):
    """How a warehouse replaces partitions of several tables atomically."""

    #: ``BEGIN``, then each statement on its own, then ``COMMIT`` (Snowflake, Redshift).
    STATEMENTS = "statements"
    #: One multi-statement script, ``BEGIN TRANSACTION … COMMIT TRANSACTION`` (BigQuery).
    SCRIPT = "script"
    #: One ``INSERT INTO … REPLACE WHERE … SELECT`` per table (Databricks/Delta Lake): atomic
    #: per table, but two tables are two commits, so a crash between them leaves the first
    #: table's day new beside the second's old one until the day is written again.
    REPLACE_WHERE = "replace_where"


class Dialect(ABC):
    """What one warehouse's SQL says differently; `StagedSession` holds the flow.

    The defaults are standard SQL (double-quoted identifiers, ``information_schema``,
    ``CREATE TEMPORARY TABLE``); a warehouse overrides what it spells otherwise.
    """

    #: The warehouse's name, in messages.
    name: ClassVar[str]
    #: The contract's kinds (``BIGINT``, ``DOUBLE``, ``VARCHAR``, ``BOOLEAN``, ``DATE``,
    #: ``TIMESTAMP`` holding UTC) → the column type this warehouse creates.
    types: ClassVar[Mapping[str, str]]
    #: The catalogue's name of a type (upper case) → the type `types` creates, where the two
    #: differ (Redshift reports ``VARCHAR(65535)`` as ``CHARACTER VARYING``).
    catalogued: ClassVar[Mapping[str, str]] = {}
    transaction: ClassVar[Transaction] = Transaction.STATEMENTS
    #: The driver's parameter marker.
    placeholder: ClassVar[str] = "%s"
    #: Bounds of one staging ``INSERT``: the driver's parameter limit and statement size.
    max_parameters: ClassVar[int] = 16_000
    max_statement_bytes: ClassVar[int] = 4 << 20

    # --- names ----------------------------------------------------------------------------

    def identifier(self, name: str) -> str:
        """The name as the warehouse stores it (Snowflake folds simple names to upper case)."""
        return name

    def column_name(self, stored: str) -> str:
        """The inverse of `identifier`, for the names a catalogue or a result reports."""
        return stored

    def quote(self, name: str) -> str:
        stored = self.identifier(name)
        return '"' + stored.replace('"', '""') + '"'

    def table(self, schema: str, table: str) -> str:
        return f"{self.quote(schema)}.{self.quote(table)}"

    def stage_table(self, schema: str, name: str) -> str:
        """How statements name the staging table ``name`` of a write into ``schema``: a
        temporary table, outside any schema."""
        return self.quote(name)

    # --- catalogue and DDL ----------------------------------------------------------------

    def catalogue(self, schema: str, table: str) -> tuple[str, list[object]]:
        """A query of ``(column name, type name)`` pairs of the table, in column order."""
        marker = self.placeholder
        return (
            "SELECT column_name, data_type FROM information_schema.columns "
            f"WHERE table_schema = {marker} AND table_name = {marker} "
            "ORDER BY ordinal_position",
            [self.identifier(schema), self.identifier(table)],
        )

    def schema_missing(self, error: BaseException) -> bool:
        """Whether ``error``, raised by the `catalogue` query, means that the schema does not
        exist (so neither does the table): only where the catalogue is the schema's own, as
        BigQuery's per-dataset ``INFORMATION_SCHEMA``."""
        return False

    def create_schema(self, schema: str) -> str:
        return f"CREATE SCHEMA IF NOT EXISTS {self.quote(schema)}"

    def create_table(self, name: str, columns: Mapping[str, str]) -> str:
        listed = ", ".join(f"{self.quote(column)} {kind}" for column, kind in columns.items())
        return f"CREATE TABLE IF NOT EXISTS {name} ({listed})"

    def create_stage(self, schema: str, stage: str, columns: Mapping[str, str]) -> list[str]:
        """Statements creating the staging table of a write into ``schema``."""
        listed = ", ".join(f"{self.quote(column)} {kind}" for column, kind in columns.items())
        return [f"CREATE TEMPORARY TABLE {stage} ({listed})"]

    def drop_stage(self, stage: str) -> str:
        return f"DROP TABLE IF EXISTS {stage}"

    # --- the transaction ------------------------------------------------------------------

    def begin(self) -> str:
        return "BEGIN"

    def commit(self) -> str:
        return "COMMIT"

    def rollback(self) -> str:
        return "ROLLBACK"

    def lock(self, tables: Sequence[str]) -> list[str]:
        """Statements serialising writers of these tables, first in the transaction."""
        return []

    def date_literal(self, value: date) -> str:
        """Partition values are inlined: a `datetime.date` prints nothing but its ISO form."""
        return f"DATE '{value.isoformat()}'"

    def in_partitions(self, column: str, values: Sequence[date]) -> str:
        listed = ", ".join(self.date_literal(value) for value in values)
        return f"{self.quote(column)} IN ({listed})"

    def verify(self, count_query: str, expected: int, described: str) -> str:
        """A statement failing the script when ``count_query`` is not ``expected``: a
        `Transaction.SCRIPT` dialect must say how (elsewhere the session counts itself)."""
        raise NotImplementedError(f"{self.name} runs no scripts")


class SqlConnection(Protocol):
    """One open connection, as `StagedSession` needs it; `DbApiConnection` wraps a DB-API one."""

    #: The driver's exception classes: raised inside a write, they become a
    #: `PartitionWriteError` saying the write was rolled back.
    errors: tuple[type[BaseException], ...]

    def query(self, sql: str, params: Sequence[object] = ()) -> list[tuple[Any, ...]]:
        """Run one statement; its rows, [] if it returns none."""
        ...

    def stage(
        self,
        dialect: Dialect,
        schema: str,
        stage: str,
        types: Mapping[str, str],
        frame: pd.DataFrame,
    ) -> None:
        """Create the staging table ``stage`` (as `Dialect.stage_table` names it) of a write
        into ``schema``, with the columns ``types``, and load ``frame`` (naive UTC) into it."""
        ...


@dataclass
class DbApiConnection:
    """A PEP 249 connection in autocommit mode: statements one at a time, rows staged by
    multi-row ``INSERT … VALUES`` bounded by the dialect's limits."""

    connection: Any
    errors: tuple[type[BaseException], ...]

    def query(self, sql: str, params: Sequence[object] = ()) -> list[tuple[Any, ...]]:
        cursor = self.connection.cursor()
        try:
            cursor.execute(sql, list(params) if params else None)
            return [tuple(row) for row in cursor.fetchall()] if cursor.description else []
        finally:
            cursor.close()

    def stage(
        self,
        dialect: Dialect,
        schema: str,
        stage: str,
        types: Mapping[str, str],
        frame: pd.DataFrame,
    ) -> None:
        for statement in dialect.create_stage(schema, stage, types):
            self.query(statement)
        columns = ", ".join(dialect.quote(column) for column in types)
        row_marker = "(" + ", ".join([dialect.placeholder] * len(types)) + ")"
        for chunk in _chunks(frame_rows(frame), dialect, len(types)):
            markers = ", ".join([row_marker] * len(chunk))
            self.query(
                f"INSERT INTO {stage} ({columns}) VALUES {markers}",
                [value for row in chunk for value in row],
            )


@dataclass(frozen=True)
class _Plan:
    """One table's write, prepared before anything runs."""

    types: dict[str, str | None]  # column → this warehouse's type, None if the frame cannot tell
    frame: pd.DataFrame  # storable: naive UTC timestamps


class StagedSession:
    """The `PartitionSession` of a warehouse spoken to through a `Dialect`.

    ``after_delete`` is the write's hook (`AfterDelete`); ``read_only`` refuses writes here
    (the warehouse's grants are what really enforce it).
    """

    accepts_arrow = True

    def __init__(
        self,
        connection: SqlConnection,
        dialect: Dialect,
        *,
        read_only: bool = False,
        after_delete: AfterDelete | None = None,
    ) -> None:
        self.connection = connection
        self.dialect = dialect
        self.read_only = read_only
        self.after_delete = after_delete

    def replace_partitions(
        self,
        *,
        schema: str,
        tables: Mapping[str, Frame],
        partition_column: str,
        partition_values: Sequence[date],
        allow_empty: bool,
    ) -> dict[str, WriteResult]:
        """Replace the partitions of every table in ``tables`` (see the module docstring).

        Arrow tables are written as the pandas frames they convert to: each warehouse's
        bulk load here takes rows from a frame.
        """
        tables = {table: pandas_frame(frame) for table, frame in tables.items()}
        values = check_frames(
            tables,
            partition_column=partition_column,
            partition_values=partition_values,
            allow_empty=allow_empty,
        )
        described = ", ".join(f"{schema}.{table}" for table in tables)
        if self.read_only:
            raise PartitionWriteError(f"cannot write {described}: the session is read-only")
        plans = {
            table: _Plan(self._types(frame, partition_column), storable(frame))
            for table, frame in tables.items()
        }
        for plan in plans.values():
            _check_text(plan.frame, described)
        with self._failures(values, described, staged=False):
            for table, plan in plans.items():
                self._prepare(schema, table, plan.types)
        stages: dict[str, str] = {}
        try:
            with self._failures(values, described, staged=False):
                for table, plan in plans.items():
                    name = f"dot_stage_{table}_{uuid4().hex[:12]}"
                    stages[table] = self.dialect.stage_table(schema, name)
                    self.connection.stage(
                        self.dialect, schema, stages[table], self._ddl(plan), plan.frame
                    )
            with self._failures(values, described, staged=True):
                return self._replace(schema, plans, stages, partition_column, values, described)
        finally:
            for stage in stages.values():
                with contextlib.suppress(*self.connection.errors):
                    self.connection.query(self.dialect.drop_stage(stage))

    def read_partitions(
        self,
        *,
        schema: str,
        table: str,
        partition_column: str,
        partition_values: Sequence[date] | None = None,
    ) -> pd.DataFrame:
        """The rows of ``partition_values`` (all when None), in the dtypes a write takes."""
        types = self._existing(schema, table)
        where = ""
        if partition_values is not None:
            values = list(dict.fromkeys(partition_values))
            if not values:
                raise ValueError("partition_values is empty: pass None to read every partition")
            where = f" WHERE {self.dialect.in_partitions(partition_column, values)}"
        columns = ", ".join(self.dialect.quote(column) for column in types)
        rows = self.connection.query(
            f"SELECT {columns} FROM {self.dialect.table(schema, table)}{where} "
            f"ORDER BY {self.dialect.quote(partition_column)}"
        )
        frame = pd.DataFrame.from_records(rows, columns=list(types))
        return frame.assign(
            **{column: self._read(frame[column], types[column]) for column in types}
        )

    def schema_problems(
        self, *, schema: str, table: str, frame: pd.DataFrame, partition_column: str
    ) -> list[str]:
        """How the table differs from the one writing ``frame`` creates; [] if not at all."""
        existing = self._table_types(schema, table)
        if not existing:
            return [f"table {schema}.{table} does not exist"]
        return schema_problems(existing, self._types(frame, partition_column))

    def duplicate_keys(
        self, *, schema: str, table: str, columns: Sequence[str], examples: int = 5
    ) -> DuplicateKeys:
        """Grouped in the warehouse: the table never travels to Python."""
        self._existing(schema, table)
        query = duplicate_keys_query(
            self.dialect.table(schema, table),
            columns,
            placeholder=str(int(examples)),
            quote=self.dialect.quote,
        )
        return duplicate_keys_found(self.connection.query(query), len(columns))

    # --- the write ------------------------------------------------------------------------

    def _prepare(self, schema: str, table: str, types: dict[str, str | None]) -> None:
        """Create the table if missing (before the transaction: DDL may commit), then compare."""
        existing = self._table_types(schema, table)
        if not existing:
            self.connection.query(self.dialect.create_schema(schema))
            self.connection.query(
                self.dialect.create_table(self.dialect.table(schema, table), self._ddl_of(types))
            )
            existing = self._table_types(schema, table)
        check_matches(
            schema,
            table,
            existing,
            types,
            quote=self.dialect.quote,
            text=self.dialect.types["VARCHAR"],
        )

    def _replace(
        self,
        schema: str,
        plans: Mapping[str, _Plan],
        stages: Mapping[str, str],
        partition_column: str,
        values: Sequence[date],
        described: str,
    ) -> dict[str, WriteResult]:
        dialect, where = self.dialect, self.dialect.in_partitions(partition_column, values)
        names = {table: dialect.table(schema, table) for table in plans}
        inserts = {
            table: self._insert(names[table], stages[table], plans[table].types, where)
            for table in plans
        }
        expected = {table: len(plan.frame) for table, plan in plans.items()}
        if dialect.transaction is Transaction.STATEMENTS:
            deleted = self._statements(schema, names, inserts, where, expected)
            return {table: WriteResult(deleted[table], expected[table]) for table in plans}
        # Counted before: a script or a REPLACE WHERE has no moment in between to count at.
        before = {table: self._count(names[table], where) for table in plans}
        if dialect.transaction is Transaction.REPLACE_WHERE:
            for table in plans:
                self.connection.query(inserts[table])
                self._verify(names[table], where, expected[table])
        else:
            script = [dialect.begin(), *dialect.lock(list(names.values()))]
            for table in plans:
                count = f"SELECT COUNT(*) FROM {names[table]} WHERE {where}"
                script += [
                    f"DELETE FROM {names[table]} WHERE {where}",
                    inserts[table],
                    dialect.verify(count, expected[table], described),
                ]
            self.connection.query(";\n".join([*script, dialect.commit()]) + ";")
        return {table: WriteResult(before[table], expected[table]) for table in plans}

    def _statements(
        self,
        schema: str,
        names: Mapping[str, str],
        inserts: Mapping[str, str],
        where: str,
        expected: Mapping[str, int],
    ) -> dict[str, int]:
        """`Transaction.STATEMENTS`: one at a time, verified before ``COMMIT``; the rows
        each table's ``DELETE`` removed, counted inside the transaction."""
        query, deleted = self.connection.query, {}
        query(self.dialect.begin())
        try:
            for statement in self.dialect.lock(list(names.values())):
                query(statement)
            for table, name in names.items():
                deleted[table] = self._count(name, where)
                query(f"DELETE FROM {name} WHERE {where}")
                if self.after_delete is not None:
                    self.after_delete(schema, table)
                query(inserts[table])
                self._verify(name, where, expected[table])
            query(self.dialect.commit())
        except BaseException:
            with contextlib.suppress(*self.connection.errors):
                query(self.dialect.rollback())
            raise
        return deleted

    def _insert(self, name: str, stage: str, types: Mapping[str, object], where: str) -> str:
        """Columns named on both sides: a table that gained a column later (``ALTER TABLE …
        ADD COLUMN`` appends it) has it elsewhere than the frame."""
        columns = ", ".join(self.dialect.quote(column) for column in types)
        replacing = self.dialect.transaction is Transaction.REPLACE_WHERE
        replace = f" REPLACE WHERE {where}" if replacing else ""
        return f"INSERT INTO {name} ({columns}){replace} SELECT {columns} FROM {stage}"

    def _count(self, name: str, where: str) -> int:
        rows = self.connection.query(f"SELECT COUNT(*) FROM {name} WHERE {where}")
        return int(rows[0][0])

    def _verify(self, name: str, where: str, expected: int) -> None:
        """Read back what the write left: the warehouse is not trusted to have done it."""
        found = self._count(name, where)
        if found != expected:
            raise _NotDone(
                f"{self.dialect.name} left {found} rows in the partitions of {name} after the "
                f"write, not the {expected} written"
            )

    @contextlib.contextmanager
    def _failures(self, values: Sequence[date], described: str, *, staged: bool) -> Iterator[None]:
        """The driver's errors (and a failed verification) as `PartitionWriteError`s."""
        days = [str(value) for value in values]
        try:
            yield
        except _NotDone as error:
            raise PartitionWriteError(
                f"writing partitions {days} of {described}: {error}; "
                + _AFTERMATH[self.dialect.transaction]
            ) from None
        except self.connection.errors as error:
            aftermath = _AFTERMATH[self.dialect.transaction] if staged else _NOTHING_WRITTEN
            raise PartitionWriteError(
                f"writing partitions {days} of {described} failed: {str(error).strip()}; "
                f"{aftermath}"
            ) from error

    # --- types ----------------------------------------------------------------------------

    def _types(self, frame: pd.DataFrame, partition_column: str) -> dict[str, str | None]:
        kinds = column_types(frame, partition_column)
        return {
            column: self.dialect.types[kind] if kind else None for column, kind in kinds.items()
        }

    def _ddl(self, plan: _Plan) -> dict[str, str]:
        return self._ddl_of(plan.types)

    def _ddl_of(self, types: Mapping[str, str | None]) -> dict[str, str]:
        """A column without a value to tell its type by is text, as in the other writers."""
        text = self.dialect.types["VARCHAR"]
        return {column: kind or text for column, kind in types.items()}

    def _table_types(self, schema: str, table: str) -> dict[str, str]:
        """Column → the type `Dialect.types` names; {} when there is no such table."""
        sql, params = self.dialect.catalogue(schema, table)
        try:
            rows = self.connection.query(sql, params)
        except self.connection.errors as error:
            if self.dialect.schema_missing(error):
                return {}
            raise
        known = {kind.upper(): kind for kind in self.dialect.types.values()}
        types: dict[str, str] = {}
        for column, catalogued in rows:
            name = str(catalogued).upper()
            types[self.dialect.column_name(column)] = self.dialect.catalogued.get(
                name, known.get(name, name)
            )
        return types

    def _existing(self, schema: str, table: str) -> dict[str, str]:
        types = self._table_types(schema, table)
        if not types:
            raise PartitionWriteError(f"table {schema}.{table} does not exist")
        return types

    def _read(self, column: pd.Series, kind: str) -> pd.Series:
        """A column as the driver returns it, in the dtype the writer takes for its type."""
        contract = {value: key for key, value in self.dialect.types.items()}.get(kind, kind)
        if contract == DATE:
            dates = [value.date() if isinstance(value, datetime) else value for value in column]
            return pd.Series(dates, index=column.index, dtype=object).where(column.notna(), None)
        if contract == TIMESTAMP:
            return pd.to_datetime(column).astype("datetime64[ns]").dt.tz_localize("UTC")
        return restored(column, contract)


class _NotDone(Exception):
    """The warehouse reported success but the partitions do not hold what was written."""


_NOTHING_WRITTEN = "nothing was written: the previous rows are intact"
_AFTERMATH = {
    Transaction.STATEMENTS: "the transaction was rolled back: the previous rows are intact",
    Transaction.SCRIPT: "the script's transaction was rolled back: the previous rows are intact",
    Transaction.REPLACE_WHERE: (
        "each table is replaced in its own commit, so tables written before the failure "
        "hold the new rows: write the partitions again"
    ),
}


# --- staging rows ---------------------------------------------------------------------------


def _check_text(frame: pd.DataFrame, described: str) -> None:
    """Refuse text no warehouse can store (every one of them stores UTF-8), before writing:
    e.g. a lone surrogate, JSON's ``"\\ud83d"`` cut from an emoji."""
    for name in frame.columns:
        column = frame[name]
        if not (pd.api.types.is_string_dtype(column.dtype) or column.dtype == object):
            continue
        for value in column.dropna().tolist():
            if isinstance(value, str):
                try:
                    value.encode("utf-8")
                except UnicodeEncodeError as error:
                    raise SchemaMismatchError(
                        f"refusing to write {described}: column {name!r} holds text that "
                        f"cannot be stored as UTF-8 ({error.reason}: "
                        f"{error.object[error.start : error.end]!r})"
                    ) from None


def frame_rows(frame: pd.DataFrame) -> list[tuple[object, ...]]:
    """The frame's rows as plain Python values a driver binds: None for any missing value."""
    columns = []
    for name in frame.columns:
        column = frame[name]
        values = column.astype(object).where(column.notna(), None).tolist()
        columns.append([_plain(value) for value in values])
    return list(zip(*columns, strict=True)) if columns else []


def _plain(value: object) -> object:
    if value is None or isinstance(value, (str, bool, int, date)):
        return value.to_pydatetime() if isinstance(value, pd.Timestamp) else value
    if isinstance(value, float):
        return None if math.isnan(value) else value
    item = getattr(value, "item", None)  # numpy scalars
    return item() if callable(item) else value


def _chunks(
    rows: list[tuple[object, ...]], dialect: Dialect, width: int
) -> Iterator[list[tuple[object, ...]]]:
    """Rows in groups within the dialect's parameter and statement-size limits."""
    per_chunk = max(1, dialect.max_parameters // max(1, width))
    chunk: list[tuple[object, ...]] = []
    size = 0
    for row in rows:
        row_size = sum(len(value) if isinstance(value, str) else 8 for value in row)
        if chunk and (len(chunk) >= per_chunk or size + row_size > dialect.max_statement_bytes):
            yield chunk
            chunk, size = [], 0
        chunk.append(row)
        size += row_size
    if chunk:
        yield chunk


def simple_identifier(name: str) -> bool:
    """Whether an unquoted name would be the same identifier (letters, digits, underscores)."""
    return bool(_SIMPLE.match(name))
