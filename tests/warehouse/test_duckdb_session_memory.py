"""A DuckDB writing session caps DuckDB's memory, so a backfill does not keep every block it
wrote, and gives the file's limit back when it ends; reading sessions keep DuckDB's."""

from __future__ import annotations

from pathlib import Path

import duckdb

from dot_orchestration.warehouse import DuckDBLocation


def memory_limit(conn: duckdb.DuckDBPyConnection) -> str:
    return str(conn.execute("SELECT current_setting('memory_limit')").fetchall()[0][0])


def test_a_writing_session_caps_memory_until_it_ends(tmp_path: Path) -> None:
    location = DuckDBLocation(path=tmp_path / "dot.duckdb", write_memory_limit="48MB")
    with duckdb.connect(str(location.path)) as other:  # the same database, in this process
        default = memory_limit(other)
        with location.session() as session:
            during = memory_limit(other), memory_limit(session.connection)
        after = memory_limit(other)
    with location.session(read_only=True) as reading:
        read = memory_limit(reading.connection)
    assert during[0] == during[1] != default
    assert during[0].startswith("45")  # DuckDB shows 48 MB as 45.7 MiB
    assert after == read == default
