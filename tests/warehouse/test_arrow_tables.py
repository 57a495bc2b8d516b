"""Arrow tables as writers' input: written, refused and landed as pandas frames are.

The history export hands its rows to the writers as Arrow tables; these tests hold them to
the frames' contract on DuckDB (a write and a read give the same rows; a table that would
replace the wrong rows is refused with the same message), and check what `HistoryExport`
hands a session that takes frames only, and how it lands days without pyarrow.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from dot_orchestration.transforms import history_days
from dot_orchestration.transforms.history_days import DayRequest, HistoryExport
from dot_orchestration.warehouse import (
    DuckDBLocation,
    PartitionMismatchError,
    PartitionSession,
    SchemaMismatchError,
    WriteResult,
    read_partition,
    replace_partitions,
)
from dot_orchestration.warehouse.errors import EmptyPartitionError

DAY = date(2024, 3, 1)
TABLES = ("conversations", "messages")
AWKWARD = ["tab\there", "new\nline", 'quote " and comma ,', "back\\slash", "\\N", "", "😀 ü"]


def frame(day: date = DAY) -> pd.DataFrame:
    """Every kind of column, with missing values and text CSV and COPY must escape."""
    rows = len(AWKWARD) + 1
    return pd.DataFrame(
        {
            "conversation_id": pd.array([f"c-{n}" for n in range(rows)], dtype="string"),
            "partition_date": pd.Series([day] * rows, dtype=object),
            "created_at": pd.DatetimeIndex(
                [datetime(2024, 3, 1, 9, n, 1, 123_456, tzinfo=timezone.utc) for n in range(rows)]
            ).as_unit("ns")
            + pd.Timedelta(nanoseconds=789),  # cut to microseconds by either way
            "title": pd.array([*AWKWARD, None], dtype="string"),
            "message_count": pd.array([*range(rows - 1), None], dtype="Int64"),
            "score": [0.1, float("nan"), float("inf"), -2.5, 1e300, 3.0, 1 / 3, 0.0],
            "archived": pd.array([True, False, None, True, False, True, False, True], "boolean"),
        }
    )


def arrow(table: pd.DataFrame) -> pa.Table:
    return pa.Table.from_pandas(table, preserve_index=False)


def test_an_arrow_table_is_written_and_read_as_its_frame(tmp_path: Path) -> None:
    db = tmp_path / "dot.duckdb"
    for schema, rows in (("frames", frame()), ("tables", arrow(frame()))):
        results = replace_partitions(
            db,
            schema=schema,
            tables={"conversations": rows},
            partition_column="partition_date",
            partition_values=[DAY],
            allow_empty=False,
        )
        assert results == {"conversations": WriteResult(rows_deleted=0, rows_inserted=8)}
    read = {
        schema: read_partition(
            db, schema=schema, table="conversations", partition_column="partition_date"
        )
        for schema in ("frames", "tables")
    }
    pd.testing.assert_frame_equal(read["tables"], read["frames"])
    assert read["tables"]["title"].tolist()[:-1] == AWKWARD
    with duckdb.connect(str(db)) as conn:
        types = conn.execute(
            "SELECT table_schema, list(data_type ORDER BY ordinal_position) "
            "FROM information_schema.columns GROUP BY ALL"
        ).fetchall()
    assert len({tuple(columns) for _, columns in types}) == 1


@pytest.mark.parametrize(
    ("change", "refusal"),
    [
        (lambda f: f.assign(partition_date=DAY + timedelta(days=1)), PartitionMismatchError),
        (lambda f: f.assign(partition_date=None), PartitionMismatchError),
        (lambda f: f.assign(partition_date=pd.Timestamp(DAY)), PartitionMismatchError),
        (lambda f: f.drop(columns="partition_date"), PartitionMismatchError),
        (lambda f: f.assign(created_at=f["created_at"].dt.tz_localize(None)), SchemaMismatchError),
        (lambda f: f.iloc[:0], EmptyPartitionError),
    ],
    ids=["outside", "null", "timestamp", "missing", "naive-timestamps", "empty"],
)
def test_an_arrow_table_is_refused_as_its_frame(
    change: Callable[[pd.DataFrame], pd.DataFrame], refusal: type[Exception], tmp_path: Path
) -> None:
    rows = change(frame())
    errors = []
    for given in (rows, arrow(rows)):
        with pytest.raises(refusal) as raised:
            replace_partitions(
                tmp_path / "dot.duckdb",
                schema="s",
                tables={"conversations": given},
                partition_column="partition_date",
                partition_values=[DAY],
                allow_empty=False,
            )
        errors.append(str(raised.value))
    assert named_types_alike(errors[1]) == named_types_alike(errors[0])


def named_types_alike(message: str) -> str:
    """A refusal naming pandas' dtype (``Timestamp (datetime64[s])``) names Arrow's for a
    table (``timestamp[s]``); the rest of the message is the same."""
    return re.sub(r"(Timestamp \()?(datetime64|timestamp)\[\w+\]\)?", "<type>", message)


# --- HistoryExport -------------------------------------------------------------------------


def days_of(tmp_path: Path, count: int) -> tuple[list[DayRequest], list[Path]]:
    """``count`` days of answers as Dot sends them, one conversation with two messages each."""
    requests, bodies = [], []
    for offset in range(count):
        day = DAY + timedelta(days=offset)
        start = datetime(day.year, day.month, day.day, tzinfo=timezone.utc)
        requests.append(DayRequest.for_window(str(day), start, start + timedelta(days=1)))
        answer = [
            {
                "chat_id": f"c-{day}",
                "created_at": f"{day}T10:00:00Z",
                "messages": [{"role": "user", "content": "hi"}, {"role": "assistant"}],
            }
        ]
        bodies.append(tmp_path / f"{day}.json")
        bodies[-1].write_text(json.dumps(answer))
    return requests, bodies


class FramesOnly:
    """A session another package implements: it takes pandas frames only."""

    def __init__(self, session: PartitionSession) -> None:
        self.session = session
        self.given: list[type] = []

    def replace_partitions(
        self,
        *,
        schema: str,
        tables: Mapping[str, pd.DataFrame],
        partition_column: str,
        partition_values: Sequence[date],
        allow_empty: bool,
    ) -> dict[str, WriteResult]:
        self.given += [type(table) for table in tables.values()]
        return self.session.replace_partitions(
            schema=schema,
            tables=tables,
            partition_column=partition_column,
            partition_values=partition_values,
            allow_empty=allow_empty,
        )


@pytest.fixture
def session(tmp_path: Path) -> Iterator[PartitionSession]:
    with DuckDBLocation(path=tmp_path / "dot.duckdb").session() as opened:
        yield opened


def stored(session: PartitionSession, table: str) -> pd.DataFrame:
    return session.read_partitions(
        schema="dot_history", table=table, partition_column="partition_date"
    )


def test_a_session_taking_frames_only_is_given_frames(
    session: PartitionSession, tmp_path: Path
) -> None:
    export = HistoryExport.of_bodies(*days_of(tmp_path, 3), tz="UTC")
    frames_only = FramesOnly(session)
    written = export.replace(frames_only, schema="dot_history", tables=TABLES)
    assert written == (9, 0)
    assert set(frames_only.given) == {pd.DataFrame}
    assert stored(session, "messages")["partition_date"].nunique() == 3


def test_without_pyarrow_each_day_is_checked_then_written_on_its_own(
    session: PartitionSession, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    requests, bodies = days_of(tmp_path, 3)
    with_arrow = HistoryExport.of_bodies(requests, bodies, tz="UTC")
    monkeypatch.setattr(history_days, "fast_path_installed", lambda: False)
    without = HistoryExport.of_bodies(requests, bodies, tz="UTC")
    assert (without.batches, len(with_arrow.batches)) == ([], 1)
    for (day, history), (arrow_day, arrow_history) in zip(without, with_arrow, strict=True):
        assert (day.conversations, day.messages) == (arrow_day.conversations, arrow_day.messages)
        pd.testing.assert_frame_equal(history.messages, arrow_history.messages)
    frames_only = FramesOnly(session)
    assert without.replace(frames_only, schema="dot_history", tables=TABLES) == (9, 0)
    assert len(frames_only.given) == 2 * 3  # a write per day
    assert np.array_equal(
        stored(session, "conversations")["conversation_id"], [f"c-{r.day}" for r in requests]
    )
