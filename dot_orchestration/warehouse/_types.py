"""The types every warehouse of the contract shares: one column type per kind of frame
column, how a frame is stored and read back, and how a table differing from a frame is
described. Each backend maps these kinds onto its own type names (see `_postgres.py`)."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from dot_orchestration._lazy import LazyModule
from dot_orchestration.warehouse._contract import DuplicateKeys
from dot_orchestration.warehouse.errors import SchemaMismatchError

if TYPE_CHECKING:
    import pandas as pd
else:  # imported on first use, not when definitions load (`_lazy`)
    pd = LazyModule("pandas", globals(), "pd")

# Frame dtype → column type. One type per kind (all integers BIGINT, all floats DOUBLE) so a
# table's types do not depend on which day happened to create it.
INTEGER, FLOAT, TEXT, BOOLEAN = "BIGINT", "DOUBLE", "VARCHAR", "BOOLEAN"
DATE, TIMESTAMP = "DATE", "TIMESTAMP"
OBJECT_KINDS = {
    "string": TEXT,
    "date": DATE,
    "boolean": BOOLEAN,
    "integer": INTEGER,
    "floating": FLOAT,
    "mixed-integer-float": FLOAT,
}
READ_DTYPES = {TEXT: "string", INTEGER: "Int64", FLOAT: "float64", BOOLEAN: "boolean"}


def column_types(frame: pd.DataFrame, partition_column: str) -> dict[str, str | None]:
    """Each column's type, None for an object column without a value to tell it by."""
    return {
        column: DATE if column == partition_column else _column_type(frame[column])
        for column in frame.columns
    }


def _column_type(column: pd.Series) -> str | None:
    dtype = column.dtype
    if isinstance(dtype, pd.DatetimeTZDtype):
        return TIMESTAMP
    if pd.api.types.is_datetime64_dtype(dtype):
        raise SchemaMismatchError(
            f"column {column.name!r} holds timestamps without a time zone ({dtype}); "
            "localize them (to UTC) so the stored instant is unambiguous"
        )
    if pd.api.types.is_bool_dtype(dtype):
        return BOOLEAN
    if pd.api.types.is_integer_dtype(dtype):
        return INTEGER
    if pd.api.types.is_float_dtype(dtype):
        return FLOAT
    if isinstance(dtype, pd.StringDtype):
        return TEXT
    if pd.api.types.is_object_dtype(dtype):
        kind = pd.api.types.infer_dtype(column, skipna=True)
        if kind == "empty":
            return None
        if kind in OBJECT_KINDS:
            return OBJECT_KINDS[kind]
    raise SchemaMismatchError(
        f"column {column.name!r} has dtype {dtype} ({pd.api.types.infer_dtype(column)}), "
        "which has no stable column type; convert it to text, numbers, dates or timestamps"
    )


def storable(frame: pd.DataFrame) -> pd.DataFrame:
    """Aware timestamps as naive UTC, so no session time zone plays a part."""
    aware = [c for c in frame.columns if isinstance(frame[c].dtype, pd.DatetimeTZDtype)]
    if not aware:
        return frame
    return frame.assign(**{c: frame[c].dt.tz_convert("UTC").dt.tz_localize(None) for c in aware})


def restored(column: pd.Series, kind: str) -> pd.Series:
    """A column read back from a table, in the dtype a write takes for its type."""
    if kind == DATE:
        return column.dt.date.astype(object).where(column.notna(), None)
    if kind == TIMESTAMP:
        return column.astype("datetime64[ns]").dt.tz_localize("UTC")
    if kind in READ_DTYPES:
        return column.astype(READ_DTYPES[kind])
    return column


def quote(identifier: str) -> str:
    """An SQL identifier, quoted the standard way (both DuckDB and PostgreSQL take it)."""
    return '"' + identifier.replace('"', '""') + '"'


def differences(
    existing: Mapping[str, str], types: Mapping[str, str | None]
) -> tuple[list[str], list[str], list[str]]:
    """Columns the frame lacks, columns the table lacks, and columns whose types differ."""
    missing = [column for column in existing if column not in types]
    extra = [column for column in types if column not in existing]
    changed = [
        f"{column}: table {existing[column]}, frame {kind}"
        for column, kind in types.items()
        if column in existing and kind is not None and kind != existing[column]
    ]
    return missing, extra, changed


def check_matches(
    schema: str,
    table: str,
    existing: Mapping[str, str],
    types: Mapping[str, str | None],
    *,
    quote: Callable[[str], str] = quote,
    text: str = TEXT,
) -> None:
    """The table's columns never change under a write: a different frame is refused.

    A frame that only adds columns is what a table created before the contract gained them
    meets (e.g. ``auto_review_label``): the message gives the statement that adds them, in
    this warehouse's type names.
    """
    missing, extra, changed = differences(existing, types)
    if missing or extra or changed:
        fix = ""
        if extra and not (missing or changed):
            added = ", ".join(f"ADD COLUMN {quote(c)} {types[c] or text}" for c in extra)
            fix = (
                f". The table predates these columns: add them with ALTER TABLE "
                f"{quote(schema)}.{quote(table)} {added}; then re-run"
            )
        raise SchemaMismatchError(
            f"frame does not match {schema}.{table}: missing columns {missing}, extra columns "
            f"{extra}, different types {changed}{fix}"
        )


def schema_problems(existing: Mapping[str, str], types: Mapping[str, str | None]) -> list[str]:
    """`PartitionSession.schema_problems` once both sides' types are known."""
    unexpected, missing, changed = differences(existing, types)
    named = (
        ("missing columns", missing),
        ("unexpected columns", unexpected),
        ("different types", changed),
    )
    return [f"{what} {found}" for what, found in named if found]


def duplicate_keys_query(
    name: str,
    columns: Sequence[str],
    placeholder: str,
    *,
    quote: Callable[[str], str] = quote,
) -> str:
    """Keys seen twice, grouped in the database (the table never travels to Python); the
    limit on examples is the one parameter, written as the driver's `placeholder` (or as
    the number itself)."""
    keys = ", ".join(quote(column) for column in columns)
    return (
        f"SELECT {keys}, count(*) AS n, count(*) OVER () AS total "
        f"FROM {name} GROUP BY {keys} HAVING count(*) > 1 "
        f"ORDER BY n DESC, {keys} LIMIT {placeholder}"
    )


def duplicate_keys_found(rows: Sequence[Sequence[Any]], width: int) -> DuplicateKeys:
    """The rows of `duplicate_keys_query` for a key of `width` columns."""
    return DuplicateKeys(
        count=int(rows[0][-1]) if rows else 0,
        examples=tuple((tuple(row[:width]), int(row[width])) for row in rows),
    )
