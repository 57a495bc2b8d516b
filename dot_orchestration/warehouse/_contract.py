"""What every partition writer checks before touching data, whatever the warehouse."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING, Protocol

from dot_orchestration.warehouse.errors import EmptyPartitionError, PartitionMismatchError

if TYPE_CHECKING:  # frames only pass through here: loading definitions skips pandas
    import pandas as pd

_SHOWN_VALUES = 5


@dataclass(frozen=True)
class WriteResult:
    """What one partition replacement did, for the run's log and materialization metadata."""

    rows_deleted: int
    rows_inserted: int


@dataclass(frozen=True)
class DuplicateKeys:
    """Key values held by more than one row of a table: how many, and the worst few."""

    count: int  # distinct key values that are duplicated
    examples: tuple[tuple[tuple[object, ...], int], ...]  # (key values, rows), most rows first


class PartitionSession(Protocol):
    """One open connection to a warehouse: the seam every warehouse implements.

    The Dagster layer (IO manager, asset checks) talks to this and nothing else, so moving
    the tables to Snowflake, BigQuery or Postgres means implementing these four methods on
    that warehouse's connection (keeping the contract in the package docstring) and handing
    out such sessions from a resource; no asset changes.
    """

    def replace_partitions(
        self,
        *,
        schema: str,
        tables: Mapping[str, pd.DataFrame],
        partition_column: str,
        partition_values: Sequence[date],
        allow_empty: bool,
    ) -> dict[str, WriteResult]:
        """Replace the partitions of every table in ``tables`` in one transaction."""
        ...

    def read_partitions(
        self,
        *,
        schema: str,
        table: str,
        partition_column: str,
        partition_values: Sequence[date] | None = None,
    ) -> pd.DataFrame:
        """The rows of the partitions (all when None), in the dtypes the writer accepts."""
        ...

    def schema_problems(
        self, *, schema: str, table: str, frame: pd.DataFrame, partition_column: str
    ) -> list[str]:
        """How ``schema.table`` differs from what writing ``frame`` creates; [] if not at all."""
        ...

    def duplicate_keys(
        self, *, schema: str, table: str, columns: Sequence[str], examples: int = 5
    ) -> DuplicateKeys:
        """Values of ``columns`` that more than one row of ``schema.table`` holds."""
        ...


def check_frame(
    frame: pd.DataFrame,
    *,
    partition_column: str,
    partition_values: Sequence[date],
    allow_empty: bool,
) -> tuple[date, ...]:
    """Refuse a frame that would replace the wrong rows; return the partitions to replace.

    The checks run before any connection is opened, so a refused write cannot leave a
    half-done partition behind: an empty frame empties the partitions only when the caller
    says Dot really returned nothing, and a row of a partition not being replaced would be
    added on top of that partition's rows, duplicating them until it is written again.
    """
    values = _partition_values(partition_values)
    if not all(isinstance(column, str) for column in frame.columns) or (
        frame.columns.has_duplicates
    ):
        raise PartitionMismatchError(
            f"frame columns must be unique strings, got {list(frame.columns)}"
        )
    if partition_column not in frame.columns:
        raise PartitionMismatchError(
            f"frame has no partition column {partition_column!r}; columns: {list(frame.columns)}"
        )
    if frame.empty and not allow_empty:
        raise EmptyPartitionError(
            f"refusing to empty partitions {_show(values)} with an empty frame; pass "
            "allow_empty=True only when the source really returned nothing"
        )
    _check_partition_column(frame[partition_column], values)
    return values


def check_frames(
    frames: Mapping[str, pd.DataFrame],
    *,
    partition_column: str,
    partition_values: Sequence[date],
    allow_empty: bool,
) -> tuple[date, ...]:
    """`check_frame` for partitions of several tables replaced together.

    The empty rule applies to the set: when one table has rows, another one's empty frame is
    data (a day of conversations listed without their messages), not a missing answer.
    """
    if not frames:
        raise PartitionMismatchError("no tables given: nothing to replace")
    some_rows = any(not frame.empty for frame in frames.values())
    values: tuple[date, ...] = ()
    for frame in frames.values():
        values = check_frame(
            frame,
            partition_column=partition_column,
            partition_values=partition_values,
            allow_empty=allow_empty or some_rows,
        )
    return values


def _partition_values(partition_values: Sequence[date]) -> tuple[date, ...]:
    values = tuple(dict.fromkeys(partition_values))
    if not values:
        raise PartitionMismatchError("no partition values given: nothing to replace")
    wrong = [value for value in values if type(value) is not date]
    if wrong:
        raise PartitionMismatchError(
            f"partition values must be datetime.date (not datetime), got {_show(wrong)}"
        )
    return values


def _check_partition_column(column: pd.Series, values: tuple[date, ...]) -> None:
    nulls = int(column.isna().sum())
    if nulls:
        raise PartitionMismatchError(
            f"partition column {column.name!r} has {nulls} null values: rows in no partition"
        )
    wrong = [value for value in column.tolist() if type(value) is not date]
    if wrong:
        raise PartitionMismatchError(
            f"partition column {column.name!r} must hold datetime.date values, found "
            f"{type(wrong[0]).__name__} ({column.dtype}): {_show(wrong)}"
        )
    outside = sorted(set(column.unique()) - set(values))
    if outside:
        raise PartitionMismatchError(
            f"frame holds rows of partitions {_show(outside)} ({len(outside)} values), outside "
            f"the partitions being replaced {_show(values)}"
        )


def _show(values: Sequence[object]) -> str:
    shown = ", ".join(str(value) for value in list(values)[:_SHOWN_VALUES])
    return f"[{shown}{', …' if len(values) > _SHOWN_VALUES else ''}]"
