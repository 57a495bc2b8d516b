"""The two tables as Arrow: what the DuckDB path produces and the writers take.

`NormalisedHistory` holds pandas frames in the contract's dtypes; `HistoryTables` holds the
same columns as Arrow tables, which DuckDB produces and consumes without a copy per value
(a pandas string column is one Python object per row). Both convert into each other
losslessly, timestamps in nanoseconds as pandas holds them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, tzinfo

import numpy as np
import pandas as pd
import pyarrow as pa  # type: ignore[import-untyped]  # pyarrow ships no type hints
import pyarrow.compute as pc  # type: ignore[import-untyped]

from dot_orchestration.transforms.history._errors import HistoryShapeError, shape_error
from dot_orchestration.transforms.history._frames import (
    CONVERSATION_DTYPES,
    MESSAGE_DTYPES,
    NormalisedHistory,
)

PARTITION_COLUMN = "partition_date"

# The contract's pandas dtypes as Arrow types.
_ARROW_TYPES = {
    "string": pa.string(),
    "object": pa.date32(),  # partition_date: datetime.date values
    "datetime64[ns, UTC]": pa.timestamp("ns", tz="UTC"),
    "Int64": pa.int64(),
    "float64": pa.float64(),
}


def _schema(dtypes: Mapping[str, str]) -> pa.Schema:
    return pa.schema([(name, _ARROW_TYPES[dtype]) for name, dtype in dtypes.items()])


CONVERSATION_SCHEMA = _schema(CONVERSATION_DTYPES)
MESSAGE_SCHEMA = _schema(MESSAGE_DTYPES)


@dataclass(frozen=True)
class HistoryTables:
    """The two tables of one export window as Arrow, in the contract's columns."""

    conversations: pa.Table
    messages: pa.Table

    def frames(self) -> NormalisedHistory:
        """The same rows as pandas frames in the contract's dtypes."""
        return NormalisedHistory(
            conversations=_frame(self.conversations, CONVERSATION_DTYPES),
            messages=_frame(self.messages, MESSAGE_DTYPES),
        )

    def of_day(self, day: date) -> HistoryTables:
        """The rows of one partition: a request across two UTC days also got the
        neighbouring day's conversations, which that day fetches itself."""
        value = pa.scalar(day, type=pa.date32())
        keep = pc.equal(self.conversations[PARTITION_COLUMN], value)
        if pc.all(keep).as_py() is not False:  # every row (or none at all)
            return self
        return HistoryTables(
            self.conversations.filter(keep),
            self.messages.filter(pc.equal(self.messages[PARTITION_COLUMN], value)),
        )


def tables_of(history: NormalisedHistory) -> HistoryTables:
    """A `NormalisedHistory` as Arrow.

    Text Arrow cannot hold is text no warehouse can store (all of them store UTF-8): a lone
    surrogate, JSON's ``"\\ud83d"`` cut from an emoji. It is refused here, naming the row,
    before anything of the export is written.
    """
    try:
        return HistoryTables(
            conversations=_table(history.conversations, CONVERSATION_SCHEMA),
            messages=_table(history.messages, MESSAGE_SCHEMA),
        )
    except UnicodeEncodeError as error:
        raise _unstorable(history, error) from None


def empty_tables() -> HistoryTables:
    return HistoryTables(CONVERSATION_SCHEMA.empty_table(), MESSAGE_SCHEMA.empty_table())


def partition_dates(created_at: pa.ChunkedArray, zone: tzinfo) -> np.ndarray:
    """Each conversation's creation day in ``zone``, as `build_frames` computes it.

    pandas converts the instants with the same time-zone object the Python path uses, so
    both paths agree on every instant, transitions included; it is vectorised either way.
    """
    instants = pd.DatetimeIndex(created_at.to_numpy(), tz="UTC").tz_convert(zone)
    days: np.ndarray = instants.tz_localize(None).to_numpy().astype("datetime64[D]")
    return days


def _unstorable(history: NormalisedHistory, error: UnicodeEncodeError) -> HistoryShapeError:
    """The first value that is not UTF-8, and the conversation it belongs to."""
    for name, frame in (("conversation", history.conversations), ("message", history.messages)):
        for column in frame.columns:
            if frame[column].dtype != "string":
                continue
            for row, value in enumerate(frame[column].tolist()):
                if isinstance(value, str) and not value.isascii():
                    try:
                        value.encode("utf-8")
                    except UnicodeEncodeError:
                        conversation = frame["conversation_id"].iloc[row]
                        return shape_error(
                            f"{name} {column} of conversation {conversation!r} holds text no "
                            f"warehouse can store as UTF-8 ({error.reason})",
                            where="$",
                            item=ascii(value),
                        )
    raise error  # not text of the rows after all: a bug


def _table(frame: pd.DataFrame, schema: pa.Schema) -> pa.Table:
    return pa.Table.from_pandas(frame, schema=schema, preserve_index=False)


def _frame(table: pa.Table, dtypes: Mapping[str, str]) -> pd.DataFrame:
    frame = table.to_pandas(date_as_object=True)
    return pd.DataFrame(
        {name: pd.array(frame[name], dtype=dtype) for name, dtype in dtypes.items()}, copy=False
    )
