"""A DuckDB writing session caps DuckDB's memory, so a backfill does not keep every block it
wrote, and writes on one thread (a write is too small for two); it gives the file's settings
back when it ends, and reading sessions keep DuckDB's."""

from __future__ import annotations

from pathlib import Path

import duckdb

from dot_orchestration.warehouse import DuckDBLocation


def memory_limit(conn: duckdb.DuckDBPyConnection) -> str:
    return str(conn.execute("SELECT current_setting('memory_limit')").fetchall()[0][0])


def threads(conn: duckdb.DuckDBPyConnection) -> int:
    return int(conn.execute("SELECT current_setting('threads')").fetchall()[0][0])


def test_a_writing_session_caps_memory_and_threads_until_it_ends(tmp_path: Path) -> None:
    location = DuckDBLocation(path=tmp_path / "dot.duckdb", write_memory_limit="48MB")
    with duckdb.connect(str(location.path)) as other:  # the same database, in this process
        other.execute("SET threads = 2")  # whatever the machine's cores
        default = memory_limit(other), threads(other)
        with location.session() as session:
            during = memory_limit(other), memory_limit(session.connection)
            threads_during = threads(other), threads(session.connection)
        after = memory_limit(other), threads(other)
    with location.session(read_only=True) as reading:
        read = memory_limit(reading.connection), threads(reading.connection)
    assert during[0] == during[1] != default[0]
    assert during[0].startswith("45")  # DuckDB shows 48 MB as 45.7 MiB
    assert threads_during == (1, 1)
    assert after == default
    assert read[0] == default[0]
