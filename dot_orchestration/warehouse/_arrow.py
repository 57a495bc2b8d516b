"""Arrow tables as writers' input, beside pandas frames.

The history export hands its rows over as Arrow tables (`pyarrow.Table`): DuckDB scans one
without a copy per value, and pyarrow writes one as the CSV PostgreSQL's ``COPY`` reads,
where a pandas string column is a Python object per row to visit. The writers of this
package take either (`Frame`); sessions that do say so with ``accepts_arrow`` (see
`ArrowSession`), and a session another package implements keeps getting pandas frames.

The checks are the frame checks of `_contract`, on Arrow's types: the same refusals, the
same messages. pyarrow is imported only when an Arrow table is handed in, so the writers
work without it.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping, Sequence
from datetime import date
from typing import TYPE_CHECKING, Protocol, TypeAlias, TypeGuard, runtime_checkable

from dot_orchestration._lazy import LazyModule
from dot_orchestration.warehouse._contract import (
    WriteResult,
    _partition_values,
    _show,
    check_frame,
)
from dot_orchestration.warehouse._types import (
    BOOLEAN,
    DATE,
    FLOAT,
    INTEGER,
    TEXT,
    TIMESTAMP,
    column_types,
    storable,
)
from dot_orchestration.warehouse.errors import (
    EmptyPartitionError,
    PartitionMismatchError,
    SchemaMismatchError,
)

if TYPE_CHECKING:
    import pandas as pd
    import pyarrow as pa  # type: ignore[import-untyped]  # pyarrow ships no type hints
else:  # imported on first use, not when definitions load (`_lazy`)
    pd = LazyModule("pandas", globals(), "pd")

#: What a writer takes for a table's rows: a pandas frame or a `pyarrow.Table`.
Frame: TypeAlias = "pd.DataFrame | pa.Table"


@runtime_checkable
class ArrowSession(Protocol):
    """A `PartitionSession` whose ``replace_partitions`` takes Arrow tables too."""

    accepts_arrow: bool

    def replace_partitions(
        self,
        *,
        schema: str,
        tables: Mapping[str, Frame],
        partition_column: str,
        partition_values: Sequence[date],
        allow_empty: bool,
    ) -> dict[str, WriteResult]: ...


def is_arrow(frame: object) -> TypeGuard[pa.Table]:
    """Whether ``frame`` is an Arrow table (never, when pyarrow was never imported)."""
    pyarrow = sys.modules.get("pyarrow")
    return pyarrow is not None and isinstance(frame, pyarrow.Table)


def check_tables(
    tables: Mapping[str, Frame],
    *,
    partition_column: str,
    partition_values: Sequence[date],
    allow_empty: bool,
) -> tuple[date, ...]:
    """`check_frames` for frames and Arrow tables alike (see `check_frame`)."""
    if not tables:
        raise PartitionMismatchError("no tables given: nothing to replace")
    some_rows = any(_rows(frame) for frame in tables.values())
    values: tuple[date, ...] = ()
    for frame in tables.values():
        check = _check_table if is_arrow(frame) else check_frame
        values = check(
            frame,
            partition_column=partition_column,
            partition_values=partition_values,
            allow_empty=allow_empty or some_rows,
        )
    return values


def kinds(frame: Frame, partition_column: str) -> dict[str, str | None]:
    """`column_types` of a frame or an Arrow table: each column's kind, None if unknown."""
    if not is_arrow(frame):
        return column_types(frame, partition_column)
    return {
        field.name: DATE if field.name == partition_column else _kind(field)
        for field in frame.schema
    }


def stored(frame: Frame) -> Frame:
    """`storable` for both: aware timestamps as naive UTC, so no session time zone acts."""
    if not is_arrow(frame):
        return storable(frame)
    import pyarrow as pa

    schema = pa.schema(
        [
            field.with_type(pa.timestamp(field.type.unit))
            if pa.types.is_timestamp(field.type) and field.type.tz is not None
            else field
            for field in frame.schema
        ]
    )
    # an aware timestamp holds UTC instants; without its zone the values stay the same
    return frame if schema.equals(frame.schema) else frame.cast(schema)


def pandas_frame(frame: Frame) -> pd.DataFrame:
    """An Arrow table as the frame the pandas writers take; a frame as it is.

    Text as ``string``, integers as ``Int64`` (nulls kept), dates as `datetime.date`,
    timestamps as UTC-aware nanoseconds: the dtypes `read_partition` gives back.
    """
    if not is_arrow(frame):
        return frame
    import pyarrow as pa

    converted = frame.to_pandas(
        date_as_object=True,
        types_mapper={pa.string(): pd.StringDtype(), pa.int64(): pd.Int64Dtype()}.get,
    )
    aware = [
        field.name
        for field in frame.schema
        if pa.types.is_timestamp(field.type) and field.type.tz is not None
    ]
    return converted.astype(dict.fromkeys(aware, "datetime64[ns, UTC]"))


def _rows(frame: Frame) -> int:
    return int(frame.num_rows) if is_arrow(frame) else len(frame)


def _kind(field: pa.Field) -> str | None:
    """The kind of one Arrow column, as `column_types` names a pandas one."""
    import pyarrow as pa

    kind = field.type
    if pa.types.is_timestamp(kind):
        if kind.tz is None:
            raise SchemaMismatchError(
                f"column {field.name!r} holds timestamps without a time zone ({kind}); "
                "localize them (to UTC) so the stored instant is unambiguous"
            )
        return TIMESTAMP
    if pa.types.is_null(kind):
        return None
    for test, name in (
        (pa.types.is_boolean, BOOLEAN),
        (pa.types.is_integer, INTEGER),
        (pa.types.is_floating, FLOAT),
        (_is_text, TEXT),
        (pa.types.is_date, DATE),
    ):
        if test(kind):
            return name
    raise SchemaMismatchError(
        f"column {field.name!r} has Arrow type {kind}, which has no stable column type; "
        "convert it to text, numbers, dates or timestamps"
    )


def _is_text(kind: pa.DataType) -> bool:
    import pyarrow as pa

    return bool(pa.types.is_string(kind) or pa.types.is_large_string(kind))


def _check_table(
    table: pa.Table,
    *,
    partition_column: str,
    partition_values: Sequence[date],
    allow_empty: bool,
) -> tuple[date, ...]:
    """`check_frame` for an Arrow table: the same refusals, column-wise in Arrow."""
    import pyarrow as pa
    import pyarrow.compute as pc  # type: ignore[import-untyped]

    values = _partition_values(partition_values)
    names = table.column_names
    if len(set(names)) != len(names):
        raise PartitionMismatchError(f"frame columns must be unique strings, got {names}")
    if partition_column not in names:
        raise PartitionMismatchError(
            f"frame has no partition column {partition_column!r}; columns: {names}"
        )
    if table.num_rows == 0 and not allow_empty:
        raise EmptyPartitionError(
            f"refusing to empty partitions {_show(values)} with an empty frame; pass "
            "allow_empty=True only when the source really returned nothing"
        )
    column = table[partition_column]
    if column.null_count:
        raise PartitionMismatchError(
            f"partition column {partition_column!r} has {column.null_count} null values: "
            "rows in no partition"
        )
    if table.num_rows and not pa.types.is_date32(column.type):
        raise PartitionMismatchError(
            f"partition column {partition_column!r} must hold datetime.date values, found "
            f"{column.type}: {_show(column.to_pylist())}"
        )
    present = pc.unique(column).to_pylist()
    outside = sorted(set(present) - set(values))
    if outside:
        raise PartitionMismatchError(
            f"frame holds rows of partitions {_show(outside)} ({len(outside)} values), outside "
            f"the partitions being replaced {_show(values)}"
        )
    return values
