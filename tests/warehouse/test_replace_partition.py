"""replace_partition on real DuckDB files: a partition is replaced whole or not at all."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable
from datetime import date, datetime
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pytest

from dot_orchestration.warehouse import (
    DuckDBLocation,
    EmptyPartitionError,
    PartitionMismatchError,
    PartitionWriteError,
    SchemaMismatchError,
    WriteResult,
    read_partition,
    replace_partition,
)

DAY_1, DAY_2, DAY_3 = date(2024, 3, 1), date(2024, 3, 2), date(2024, 3, 3)
TABLE = {"schema": "dot_history", "table": "conversations", "partition_column": "partition_date"}
EXPECTED_TYPES = [
    ("conversation_id", "VARCHAR"),
    ("partition_date", "DATE"),
    ("created_at", "TIMESTAMP"),
    ("message_count", "BIGINT"),
    ("auto_review_score", "DOUBLE"),
    ("archived", "BOOLEAN"),
]


def day_frame(day: date, ids: list[str], *, version: int = 1) -> pd.DataFrame:
    """Rows of one day; ``version`` tells one write of a day from another."""
    return pd.DataFrame(
        {
            "conversation_id": pd.array(ids, dtype="string"),
            "partition_date": pd.Series([day] * len(ids), dtype=object),
            "created_at": pd.to_datetime(
                [datetime(day.year, day.month, day.day, 9, i) for i in range(len(ids))]
            ).tz_localize("UTC"),
            "message_count": pd.array([version] * len(ids), dtype="Int64"),
            "auto_review_score": [4.5] * len(ids),
            "archived": pd.array([False] * len(ids), dtype="boolean"),
        }
    )


def refused(attempt: Callable[[], object]) -> PartitionWriteError:
    """The `PartitionWriteError` that `attempt` raises; anything else fails the test.

    The frames of these tests carry values a warehouse cannot store, such as a lone
    surrogate. Such a value in a failure message cannot cross processes (pytest-xdist
    crashes with an INTERNALERROR instead of reporting the test), so an unexpected outcome
    is reported through `ascii()`, outside the `except` that would chain the original.
    """
    try:
        attempt()
    except PartitionWriteError as error:
        return error
    except Exception as error:  # reported below, in ASCII
        unexpected = f"{type(error).__name__}: {str(error)!a}"
    else:
        unexpected = "no error: the frame was written"
    pytest.fail(f"expected PartitionWriteError, got {unexpected}", pytrace=False)


def write(target: object, frame: pd.DataFrame, days: list[date], **kwargs: object) -> WriteResult:
    kwargs.setdefault("allow_empty", False)
    return replace_partition(target, **TABLE, partition_values=days, frame=frame, **kwargs)


def read(db: Path, days: list[date] | None = None) -> pd.DataFrame:
    return read_partition(db, **TABLE, partition_values=days)


def column_types(db: Path) -> list[tuple[str, str]]:
    with duckdb.connect(str(db), read_only=True) as conn:
        return conn.execute(
            "SELECT column_name, data_type FROM information_schema.columns "
            "WHERE table_schema = 'dot_history' AND table_name = 'conversations' "
            "ORDER BY ordinal_position"
        ).fetchall()


def frames_equal(left: pd.DataFrame, right: pd.DataFrame) -> None:
    """pandas' comparison, its message made ASCII: see `refused` for why."""
    try:
        pd.testing.assert_frame_equal(left.reset_index(drop=True), right.reset_index(drop=True))
    except AssertionError as error:
        message = ascii(str(error))
    else:
        return
    raise AssertionError(message)


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return tmp_path / "dot.duckdb"


@pytest.fixture
def day_1_written(db: Path) -> pd.DataFrame:
    frame = day_frame(DAY_1, ["a", "b", "c"])
    write(db, frame, [DAY_1])
    return frame


# --- writing ------------------------------------------------------------------------------


def test_first_write_creates_schema_and_table_with_stable_types(db: Path) -> None:
    frame = day_frame(DAY_1, ["a", "b"])
    assert write(db, frame, [DAY_1]) == WriteResult(rows_deleted=0, rows_inserted=2)
    assert column_types(db) == EXPECTED_TYPES
    frames_equal(read(db), frame)


def test_rewriting_a_day_replaces_it_without_duplicates(
    db: Path, day_1_written: pd.DataFrame
) -> None:
    second = day_frame(DAY_1, ["a", "b", "d", "e"], version=2)
    assert write(db, second, [DAY_1]) == WriteResult(rows_deleted=3, rows_inserted=4)
    assert write(db, second, [DAY_1]) == WriteResult(rows_deleted=4, rows_inserted=4)
    frames_equal(read(db), second)


def test_other_days_are_untouched(db: Path, day_1_written: pd.DataFrame) -> None:
    day_2 = day_frame(DAY_2, ["x"])
    write(db, day_2, [DAY_2])
    write(db, day_frame(DAY_2, ["y"], version=2), [DAY_2])
    frames_equal(read(db, [DAY_1]), day_1_written)
    assert read(db, [DAY_2])["conversation_id"].tolist() == ["y"]


def test_several_days_in_one_write(db: Path, day_1_written: pd.DataFrame) -> None:
    both = pd.concat([day_frame(DAY_1, ["a"], version=2), day_frame(DAY_2, ["x", "y"])])
    assert write(db, both, [DAY_1, DAY_2]) == WriteResult(rows_deleted=3, rows_inserted=3)
    frames_equal(read(db), both)


def test_a_day_listed_without_rows_is_emptied_only_with_allow_empty(
    db: Path, day_1_written: pd.DataFrame
) -> None:
    day_2 = day_frame(DAY_2, ["x"])
    result = write(db, day_2, [DAY_1, DAY_2])  # the frame is not empty: day 1 really is
    assert result == WriteResult(rows_deleted=3, rows_inserted=1)
    frames_equal(read(db), day_2)


def test_an_open_connection_can_be_used(db: Path) -> None:
    frame = day_frame(DAY_1, ["a"])
    with duckdb.connect(str(db)) as conn:
        write(conn, frame, [DAY_1])
        assert conn.execute("SELECT count(*) FROM dot_history.conversations").fetchone() == (1,)
    frames_equal(read(db), frame)


def test_a_location_object_is_a_target_and_creates_its_directory(tmp_path: Path) -> None:
    db = tmp_path / "new" / "dir" / "dot.duckdb"
    location = DuckDBLocation(path=db)
    write(location, day_frame(DAY_1, ["a"]), [DAY_1])
    assert read_partition(location, **TABLE)["conversation_id"].tolist() == ["a"]
    assert DuckDBLocation(path=str(db)) == location


def test_timestamps_are_stored_as_utc_whatever_the_session_time_zone(db: Path) -> None:
    frame = day_frame(DAY_1, ["a"])
    frame["created_at"] = pd.to_datetime(["2024-03-01T10:00:00+01:00"]).tz_convert("Europe/Paris")
    with duckdb.connect(str(db)) as conn:
        conn.execute("SET TimeZone = 'America/New_York'")
        write(conn, frame, [DAY_1])
        stored = conn.execute("SELECT CAST(created_at AS VARCHAR) FROM dot_history.conversations")
        assert stored.fetchone() == ("2024-03-01 09:00:00",)
    assert read(db)["created_at"].tolist() == [pd.Timestamp("2024-03-01T09:00:00Z")]


# --- failures roll back -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("column", "values"),
    [
        # uint64 maps to BIGINT like every integer; this value does not fit.
        ("message_count", np.array([1, 2**64 - 1], dtype="uint64")),
        # A lone surrogate (JSON "\ud83d" cut from an emoji) cannot be stored as UTF-8.
        ("conversation_id", pd.array(["ok", "broken \ud83d"], dtype="string")),
    ],
    ids=["integer-overflow", "invalid-text"],
)
def test_a_frame_that_fails_to_insert_leaves_the_previous_rows(
    db: Path, day_1_written: pd.DataFrame, column: str, values: object
) -> None:
    bad = day_frame(DAY_1, ["a", "b"])
    bad[column] = values
    refusal = refused(lambda: write(db, bad, [DAY_1]))
    assert "rolled back" in str(refusal)
    assert isinstance(refusal.__cause__, duckdb.Error)
    frames_equal(read(db), day_1_written)


def test_a_failure_between_delete_and_insert_leaves_the_previous_rows(
    db: Path, day_1_written: pd.DataFrame
) -> None:
    with duckdb.connect(str(db)) as conn:
        seen_inside: list[int] = []

        def count_then_fail(schema: str, table: str) -> None:
            name = f"{schema}.{table}"
            seen_inside.append(conn.execute(f"SELECT count(*) FROM {name}").fetchone()[0])
            raise RuntimeError("disk full")

        with pytest.raises(RuntimeError, match="disk full"):
            write(conn, day_frame(DAY_1, ["z"]), [DAY_1], after_delete=count_then_fail)
    assert seen_inside == [0]  # the delete had happened inside the transaction
    frames_equal(read(db), day_1_written)


def test_the_callers_connection_is_usable_after_a_failed_write(
    db: Path, day_1_written: pd.DataFrame
) -> None:
    unstorable = day_frame(DAY_1, ["z"]).assign(
        message_count=np.array([2**64 - 1], dtype="uint64")  # BIGINT cannot hold it
    )
    with duckdb.connect(str(db)) as conn:
        with pytest.raises(PartitionWriteError, match="rolled back"):
            write(conn, unstorable, [DAY_1])
        assert conn.execute("SELECT count(*) FROM dot_history.conversations").fetchone() == (3,)
        write(conn, day_frame(DAY_1, ["z"]), [DAY_1])
    assert read(db)["conversation_id"].tolist() == ["z"]


def test_a_connection_with_an_open_transaction_is_refused(
    db: Path, day_1_written: pd.DataFrame
) -> None:
    with duckdb.connect(str(db)) as conn:
        conn.begin()
        with pytest.raises(PartitionWriteError, match="already has a transaction open"):
            write(conn, day_frame(DAY_1, ["z"]), [DAY_1])
        conn.rollback()
    frames_equal(read(db), day_1_written)


KILLED_WRITER = textwrap.dedent(
    """
    import sys, time
    from datetime import date
    from pathlib import Path

    import pandas as pd

    import duckdb

    from dot_orchestration.warehouse import replace_partition

    database, signal_file = sys.argv[1], Path(sys.argv[2])
    conn = duckdb.connect(database)

    def pause(schema, table):
        visible = conn.execute(f"SELECT count(*) FROM {schema}.{table}").fetchone()[0]
        signal_file.write_text(str(visible))  # deleted, not yet inserted, not committed
        time.sleep(600)

    frame = pd.DataFrame(
        {
            "conversation_id": pd.array(["new"], dtype="string"),
            "partition_date": pd.Series([date(2024, 3, 1)], dtype=object),
            "created_at": pd.to_datetime(["2024-03-01T12:00:00Z"]),
            "message_count": pd.array([9], dtype="Int64"),
            "auto_review_score": [1.0],
            "archived": pd.array([True], dtype="boolean"),
        }
    )
    replace_partition(
        conn, schema="dot_history", table="conversations",
        partition_column="partition_date", partition_values=[date(2024, 3, 1)],
        frame=frame, allow_empty=False, after_delete=pause,
    )
    """
)


@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs POSIX signals")
def test_a_writer_killed_mid_transaction_leaves_the_previous_rows(
    db: Path, day_1_written: pd.DataFrame, tmp_path: Path
) -> None:
    signal_file = tmp_path / "deleted"
    writer = subprocess.Popen(
        [sys.executable, "-c", KILLED_WRITER, str(db), str(signal_file)],
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 60
        while not signal_file.exists() or not signal_file.read_text():
            assert writer.poll() is None, f"writer exited early: {writer.stderr.read()}"
            assert time.monotonic() < deadline, "writer never reached the insert"
            time.sleep(0.05)
        assert signal_file.read_text() == "0"  # the partition was deleted in its transaction
        os.kill(writer.pid, signal.SIGKILL)
        assert writer.wait(timeout=30) == -signal.SIGKILL
    finally:
        if writer.poll() is None:
            writer.kill()
        writer.stderr.close()
    frames_equal(read(db), day_1_written)
    write(db, day_frame(DAY_1, ["after"]), [DAY_1])  # the file is writable again
    assert read(db)["conversation_id"].tolist() == ["after"]


# --- refusals happen before anything is written -------------------------------------------


def test_an_empty_frame_is_refused_without_allow_empty(
    db: Path, day_1_written: pd.DataFrame
) -> None:
    with pytest.raises(EmptyPartitionError) as caught:
        write(db, day_frame(DAY_1, []), [DAY_1])
    assert str(caught.value) == (
        "refusing to empty partitions [2024-03-01] with an empty frame; pass allow_empty=True "
        "only when the source really returned nothing"
    )
    frames_equal(read(db), day_1_written)


def test_an_empty_frame_does_not_create_the_table(db: Path) -> None:
    with pytest.raises(EmptyPartitionError):
        write(db, day_frame(DAY_1, []), [DAY_1])
    assert not db.exists()


def test_allow_empty_writes_an_empty_partition(db: Path, day_1_written: pd.DataFrame) -> None:
    write(db, day_frame(DAY_2, ["x"]), [DAY_2])
    result = write(db, day_frame(DAY_1, []), [DAY_1], allow_empty=True)
    assert result == WriteResult(rows_deleted=3, rows_inserted=0)
    assert read(db, [DAY_1]).empty
    assert read(db, [DAY_2])["conversation_id"].tolist() == ["x"]


def test_allow_empty_creates_the_table_with_the_frames_types(db: Path) -> None:
    result = write(db, day_frame(DAY_1, []), [DAY_1], allow_empty=True)
    assert result == WriteResult(rows_deleted=0, rows_inserted=0)
    assert column_types(db) == EXPECTED_TYPES


@pytest.mark.parametrize(
    ("frame_days", "message"),
    [
        (
            [DAY_1, DAY_3],
            "frame holds rows of partitions [2024-03-03] (1 values), outside the partitions "
            "being replaced [2024-03-01, 2024-03-02]",
        ),
        (
            [DAY_1, None],
            "partition column 'partition_date' has 1 null values: rows in no partition",
        ),
        (
            [DAY_1, datetime(2024, 3, 2)],
            "partition column 'partition_date' must hold datetime.date values, found datetime "
            "(object): [2024-03-02 00:00:00]",
        ),
    ],
)
def test_rows_outside_the_partitions_are_refused(
    db: Path, day_1_written: pd.DataFrame, frame_days: list[object], message: str
) -> None:
    frame = day_frame(DAY_1, ["a", "b"])
    frame["partition_date"] = pd.Series(frame_days, dtype=object)
    with pytest.raises(PartitionMismatchError) as caught:
        write(db, frame, [DAY_1, DAY_2])
    assert str(caught.value) == message
    frames_equal(read(db), day_1_written)


@pytest.mark.parametrize(
    ("days", "message"),
    [
        ([], "no partition values given: nothing to replace"),
        (
            [datetime(2024, 3, 1)],
            "partition values must be datetime.date (not datetime), got [2024-03-01 00:00:00]",
        ),
    ],
)
def test_bad_partition_values_are_refused(db: Path, days: list[date], message: str) -> None:
    with pytest.raises(PartitionMismatchError) as caught:
        write(db, day_frame(DAY_1, ["a"]), days)
    assert str(caught.value) == message


# --- schema stability ---------------------------------------------------------------------


def test_a_day_with_only_nulls_keeps_the_column_types(
    db: Path, day_1_written: pd.DataFrame
) -> None:
    sparse = pd.DataFrame(
        {
            "conversation_id": pd.array(["n"], dtype="string"),
            "partition_date": pd.Series([DAY_2], dtype=object),
            "created_at": pd.Series([None], dtype=object),
            "message_count": pd.Series([None], dtype=object),
            "auto_review_score": pd.Series([None], dtype=object),
            "archived": pd.Series([None], dtype=object),
        }
    )
    write(db, sparse, [DAY_2])
    assert column_types(db) == EXPECTED_TYPES
    row = read(db, [DAY_2]).iloc[0]
    assert pd.isna(row["created_at"]) and pd.isna(row["message_count"])


def test_narrower_dtypes_map_to_the_same_types(db: Path, day_1_written: pd.DataFrame) -> None:
    narrow = day_frame(DAY_2, ["x"]).astype(
        {"message_count": "int8", "auto_review_score": "float32", "archived": "bool"}
    )
    narrow["conversation_id"] = narrow["conversation_id"].astype(object)
    write(db, narrow, [DAY_2])
    assert column_types(db) == EXPECTED_TYPES


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            lambda f: f.assign(extra=1),
            "missing columns [], extra columns ['extra'], different types []. The table "
            'predates these columns: add them with ALTER TABLE "dot_history"."conversations" '
            'ADD COLUMN "extra" BIGINT; then re-run',
        ),
        (
            lambda f: f.drop(columns=["archived"]),
            "missing columns ['archived'], extra columns [], different types []",
        ),
        (
            lambda f: f.assign(message_count=[1.5]),
            "missing columns [], extra columns [], different types "
            "['message_count: table BIGINT, frame DOUBLE']",
        ),
        (
            lambda f: f.assign(created_at=f["created_at"].astype(str)),
            "missing columns [], extra columns [], different types "
            "['created_at: table TIMESTAMP, frame VARCHAR']",
        ),
    ],
    ids=["extra-column", "missing-column", "float-for-integer", "text-for-timestamp"],
)
def test_a_frame_unlike_the_table_is_refused(
    db: Path, day_1_written: pd.DataFrame, change: object, message: str
) -> None:
    with pytest.raises(SchemaMismatchError) as caught:
        write(db, change(day_frame(DAY_1, ["z"])), [DAY_1])
    assert str(caught.value) == (f"frame does not match dot_history.conversations: {message}")
    frames_equal(read(db), day_1_written)
    assert column_types(db) == EXPECTED_TYPES


@pytest.mark.parametrize(
    ("column", "message"),
    [
        (
            pd.to_datetime(["2024-03-01T10:00:00"]),
            "column 'created_at' holds timestamps without a time zone (datetime64[ns]); "
            "localize them (to UTC) so the stored instant is unambiguous",
        ),
        (
            pd.Series([{"a": 1}], dtype=object),
            "column 'created_at' has dtype object (mixed), which has no stable column type; "
            "convert it to text, numbers, dates or timestamps",
        ),
    ],
    ids=["naive-timestamps", "objects"],
)
def test_columns_without_a_stable_type_are_refused(db: Path, column: object, message: str) -> None:
    frame = day_frame(DAY_1, ["a"])
    frame["created_at"] = column
    with pytest.raises(SchemaMismatchError) as caught:
        write(db, frame, [DAY_1])
    assert str(caught.value) == message
    assert not db.exists()


# --- reading ------------------------------------------------------------------------------


def test_read_partition_filters_and_keeps_write_order(db: Path) -> None:
    write(db, day_frame(DAY_2, ["z", "y"]), [DAY_2])
    write(db, day_frame(DAY_1, ["b", "a"]), [DAY_1])
    assert read(db)["conversation_id"].tolist() == ["b", "a", "z", "y"]
    assert read(db, [DAY_2])["conversation_id"].tolist() == ["z", "y"]
    assert read(db, [DAY_3]).empty


def test_read_partition_of_a_missing_table_says_so(db: Path) -> None:
    write(db, day_frame(DAY_1, ["a"]), [DAY_1])
    with pytest.raises(duckdb.CatalogException, match=r"dot_history\.messages does not exist"):
        read_partition(db, schema="dot_history", table="messages", partition_column="d")
