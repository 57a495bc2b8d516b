"""Several tables replaced in one transaction, and the DuckDB session the Dagster layer uses."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from datetime import date
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pytest

from dot_orchestration.warehouse import (
    DuckDBLocation,
    DuplicateKeys,
    EmptyPartitionError,
    PartitionMismatchError,
    PartitionWriteError,
    WriteResult,
    read_partition,
    replace_partitions,
)

DAY_1, DAY_2 = date(2024, 3, 1), date(2024, 3, 2)
SCHEMA = "dot_history"


def conversations(day: date, ids: list[str]) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "conversation_id": pd.array(ids, dtype="string"),
            "partition_date": pd.Series([day] * len(ids), dtype=object),
        }
    )


def messages(day: date, ids: list[str], per_conversation: int = 2) -> pd.DataFrame:
    rows = [(cid, index) for cid in ids for index in range(per_conversation)]
    return pd.DataFrame(
        {
            "conversation_id": pd.array([cid for cid, _ in rows], dtype="string"),
            "message_index": pd.array([index for _, index in rows], dtype="Int64"),
            "partition_date": pd.Series([day] * len(rows), dtype=object),
        }
    )


def day(day: date, ids: list[str], per_conversation: int = 2) -> dict[str, pd.DataFrame]:
    return {
        "conversations": conversations(day, ids),
        "messages": messages(day, ids, per_conversation),
    }


def write(target: object, tables: dict[str, pd.DataFrame], on: date, **kwargs: object) -> dict:
    kwargs.setdefault("allow_empty", False)
    return replace_partitions(
        target,
        schema=SCHEMA,
        tables=tables,
        partition_column="partition_date",
        partition_values=[on],
        **kwargs,
    )


def ids(db: Path, table: str) -> list[str]:
    frame = read_partition(db, schema=SCHEMA, table=table, partition_column="partition_date")
    return frame["conversation_id"].tolist()


@pytest.fixture
def db(tmp_path: Path) -> Path:
    path = tmp_path / "dot.duckdb"
    write(path, day(DAY_1, ["a", "b"]), DAY_1)
    return path


def test_both_tables_are_replaced_and_counted(db: Path) -> None:
    results = write(db, day(DAY_1, ["a", "c", "d"], per_conversation=3), DAY_1)
    assert results == {
        "conversations": WriteResult(rows_deleted=2, rows_inserted=3),
        "messages": WriteResult(rows_deleted=4, rows_inserted=9),
    }
    assert ids(db, "conversations") == ["a", "c", "d"]


def test_a_failure_in_the_second_table_rolls_back_the_first(db: Path) -> None:
    broken = day(DAY_1, ["z"])  # the conversations insert works; the messages one cannot
    broken["messages"]["message_index"] = np.array([0, 2**64 - 1], dtype="uint64")
    written: list[str] = []
    with pytest.raises(PartitionWriteError, match="rolled back"):
        write(db, broken, DAY_1, after_delete=lambda _schema, table: written.append(table))
    assert written == ["conversations", "messages"]  # the first was replaced in the transaction
    assert ids(db, "conversations") == ["a", "b"]
    assert ids(db, "messages") == ["a", "a", "b", "b"]


def test_an_empty_table_beside_rows_is_data_but_all_empty_needs_allow_empty(db: Path) -> None:
    listed_without_messages = {
        "conversations": conversations(DAY_1, ["a"]),
        "messages": messages(DAY_1, []),
    }
    write(db, listed_without_messages, DAY_1)
    assert ids(db, "messages") == []
    with pytest.raises(EmptyPartitionError):
        write(db, day(DAY_1, []), DAY_1)
    assert ids(db, "conversations") == ["a"]
    write(db, day(DAY_1, []), DAY_1, allow_empty=True)
    assert ids(db, "conversations") == []


def test_a_refused_frame_of_one_table_writes_neither(db: Path) -> None:
    wrong_day = {"conversations": conversations(DAY_1, ["z"]), "messages": messages(DAY_2, ["z"])}
    with pytest.raises(PartitionMismatchError, match="outside the partitions being replaced"):
        write(db, wrong_day, DAY_1)
    assert ids(db, "conversations") == ["a", "b"]


def test_no_tables_is_refused(db: Path) -> None:
    with pytest.raises(PartitionMismatchError, match="no tables given"):
        write(db, {}, DAY_1)


KILLED_WRITER = textwrap.dedent(
    """
    import sys, time
    from datetime import date
    from pathlib import Path

    import pandas as pd

    from dot_orchestration.warehouse import replace_partitions

    database, signal_file = sys.argv[1], Path(sys.argv[2])

    def pause_on_messages(schema, table):
        if table == "messages":
            signal_file.write_text("paused")  # conversations replaced, messages deleted
            time.sleep(600)

    day = date(2024, 3, 1)
    replace_partitions(
        database, schema="dot_history", partition_column="partition_date",
        partition_values=[day], allow_empty=False, after_delete=pause_on_messages,
        tables={
            "conversations": pd.DataFrame({
                "conversation_id": pd.array(["new"], dtype="string"),
                "partition_date": pd.Series([day], dtype=object),
            }),
            "messages": pd.DataFrame({
                "conversation_id": pd.array(["new"], dtype="string"),
                "message_index": pd.array([0], dtype="Int64"),
                "partition_date": pd.Series([day], dtype=object),
            }),
        },
    )
    """
)


def killed(writer: subprocess.Popen[str], signal_file: Path) -> None:
    """SIGKILL ``writer`` once it wrote ``signal_file`` (failing if it ends or never does)."""
    try:
        deadline = time.monotonic() + 60
        while not signal_file.exists():
            assert writer.stderr is not None
            assert writer.poll() is None, f"writer exited early: {writer.stderr.read()}"
            assert time.monotonic() < deadline, "writer never reached the messages insert"
            time.sleep(0.05)
        os.kill(writer.pid, signal.SIGKILL)
        assert writer.wait(timeout=30) == -signal.SIGKILL
    finally:
        if writer.poll() is None:
            writer.kill()
        if writer.stderr is not None:
            writer.stderr.close()


@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs POSIX signals")
def test_a_writer_killed_between_the_tables_leaves_both_as_they_were(
    db: Path, tmp_path: Path
) -> None:
    signal_file = tmp_path / "paused"
    killed(
        subprocess.Popen(
            [sys.executable, "-c", KILLED_WRITER, str(db), str(signal_file)],
            stderr=subprocess.PIPE,
            text=True,
        ),
        signal_file,
    )
    assert ids(db, "conversations") == ["a", "b"]
    assert ids(db, "messages") == ["a", "a", "b", "b"]


def test_a_session_writes_reads_and_compares_on_one_connection(db: Path) -> None:
    with DuckDBLocation(path=db).session() as session:
        session.replace_partitions(
            schema=SCHEMA,
            tables=day(DAY_2, ["x"]),
            partition_column="partition_date",
            partition_values=[DAY_2],
            allow_empty=False,
        )
        read = session.read_partitions(
            schema=SCHEMA, table="conversations", partition_column="partition_date"
        )
        contract = conversations(DAY_1, [])
        same = session.schema_problems(
            schema=SCHEMA, table="conversations", frame=contract, partition_column="partition_date"
        )
        changed = session.schema_problems(
            schema=SCHEMA,
            table="conversations",
            frame=contract.drop(columns=["conversation_id"]).assign(title=pd.Series(dtype="Int64")),
            partition_column="partition_date",
        )
        absent = session.schema_problems(
            schema=SCHEMA, table="nothing", frame=contract, partition_column="partition_date"
        )
    assert read["conversation_id"].tolist() == ["a", "b", "x"]
    assert same == []
    assert changed == ["missing columns ['title']", "unexpected columns ['conversation_id']"]
    assert absent == ["table dot_history.nothing does not exist"]


def test_duplicate_keys_are_counted_in_the_database(db: Path) -> None:
    with duckdb.connect(str(db)) as conn:
        conn.execute(
            "INSERT INTO dot_history.conversations VALUES ('a', DATE '2024-03-02'), "
            "('a', DATE '2024-03-03'), ('b', DATE '2024-03-02')"
        )
    with DuckDBLocation(path=db).session(read_only=True) as session:
        found = session.duplicate_keys(
            schema=SCHEMA, table="conversations", columns=["conversation_id"], examples=1
        )
        none = session.duplicate_keys(
            schema=SCHEMA, table="messages", columns=["conversation_id", "message_index"]
        )
    assert found == DuplicateKeys(count=2, examples=((("a",), 3),))
    assert none == DuplicateKeys(count=0, examples=())


LOCK_HOLDER = textwrap.dedent(
    """
    import sys, time
    import duckdb
    conn = duckdb.connect(sys.argv[1])
    print("locked", flush=True)
    time.sleep(float(sys.argv[2]))
    conn.close()
    """
)


def test_connect_waits_for_another_process_to_let_go(db: Path) -> None:
    holder = subprocess.Popen(
        [sys.executable, "-c", LOCK_HOLDER, str(db), "3"], stdout=subprocess.PIPE, text=True
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "locked"
        with pytest.raises(duckdb.IOException, match="Conflicting lock"):
            DuckDBLocation(path=db).connect()
        started = time.monotonic()
        with DuckDBLocation(path=db, lock_timeout_s=30).session() as session:
            waited = time.monotonic() - started
            rows = session.read_partitions(
                schema=SCHEMA, table="conversations", partition_column="partition_date"
            )
        assert waited > 0.5
        assert rows["conversation_id"].tolist() == ["a", "b"]
    finally:
        holder.kill()
        holder.wait()
        holder.stdout.close()  # type: ignore[union-attr]


def test_a_session_checks_each_table_once_and_still_refuses_a_changed_one(db: Path) -> None:
    with DuckDBLocation(path=db).session() as session:
        arguments = {"schema": SCHEMA, "partition_column": "partition_date"}
        arguments |= {"partition_values": [DAY_2], "allow_empty": False}
        session.replace_partitions(tables=day(DAY_2, ["x"]), **arguments)
        session.connection.execute("ALTER TABLE dot_history.messages DROP COLUMN message_index")
        with pytest.raises(PartitionWriteError, match="rolled back"):
            session.replace_partitions(tables=day(DAY_2, ["y"]), **arguments)
    assert ids(db, "conversations") == ["a", "b", "x"]
