"""A history export killed mid-write: every day is the old one or the new one, whole.

Two days are exported (the old version), Dot's history of both days then changes (a label
on one conversation of each), and the export of both days runs again in its own process,
frozen at one table insert inside its transaction and killed with SIGKILL there. Each day
is written in its own transaction, so the days before the killed one hold the new rows and
the killed day and those after it hold the old rows — conversations and messages alike,
never a mix and never a duplicate — and a re-run brings every day to the new version.

The insert to freeze at is drawn from a seed (printed, and recorded in the test report):
`DOT_RELIABILITY_CRASH_SEED=<seed>` reproduces a run.

It runs on each warehouse a process can be killed in here: DuckDB, and Snowflake's writer
on fakesnow (its database files on disk, so the killed process leaves them as Snowflake's
would be left: what was committed). PostgreSQL and Redshift's writer are killed mid-write
in `tests/warehouse/test_postgres_warehouse.py`.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from dagster import DagsterInstance

from dot_orchestration.client import DotClient
from dot_orchestration.emulator import EmulatorServer
from dot_orchestration.history import DuckDBWarehouse, SnowflakeWarehouse

from . import _killable_export
from ._killable_export import SNOWFLAKE, export_days, fakesnow_at, history_definitions
from ._pipeline import CANARY_TOKEN, environment
from ._traffic import Control

CRASH_SEED = int(os.environ.get("DOT_RELIABILITY_CRASH_SEED", "0"))
TABLES = ("conversations", "messages")
TODAY = datetime.now(timezone.utc).date()
DAYS = (TODAY - timedelta(days=5), TODAY - timedelta(days=4))
START_DATE = TODAY - timedelta(days=10)
_FREEZE_TIMEOUT_S = 120
_KILL_TIMEOUT_S = 30

DayRows = dict[str, list[tuple[Any, ...]]]


@dataclass(frozen=True)
class Warehouse:
    """Where a test's days land: a DuckDB file, or fakesnow's files in a folder."""

    kind: str  # "duckdb" or "snowflake"
    path: Path

    def resource(self) -> DuckDBWarehouse | SnowflakeWarehouse:
        if self.kind == "snowflake":
            return SnowflakeWarehouse(**SNOWFLAKE)
        return DuckDBWarehouse(path=str(self.path))

    def opened(self) -> AbstractContextManager[object]:
        """What must be in place for this process to reach the warehouse."""
        return fakesnow_at(self.path) if self.kind == "snowflake" else nullcontext()

    def days(self) -> dict[date, DayRows]:
        """Both tables' rows of each day, sorted, read as any later reader would."""
        with self.opened(), self.resource().session(read_only=True) as session:
            return {
                day: {
                    table: sorted(
                        map(
                            tuple,
                            session.read_partitions(
                                schema="dot_history",
                                table=table,
                                partition_column="partition_date",
                                partition_values=[day],
                            ).itertuples(index=False),
                        ),
                        key=repr,
                    )
                    for table in TABLES
                }
                for day in DAYS
            }


def export(warehouse: Warehouse) -> dict[date, DayRows]:
    """Export both days in this process; what each day then holds."""
    with warehouse.opened():
        defs = history_definitions(START_DATE, warehouse.resource())
        result = export_days(defs, DagsterInstance.ephemeral(), DAYS[0], DAYS[-1])
    assert result.success, f"the export into {warehouse.path.name} failed"
    return warehouse.days()


def change_history(server: EmulatorServer) -> None:
    """Label one conversation of each day, so the next export of both days differs."""
    with DotClient(api_token=CANARY_TOKEN, base_url=server.url) as dot:
        for day in DAYS:
            chat_id = server.state.history_truth(day, day + timedelta(days=1)).chat_ids[0]
            dot.add_label_to_chat(chat_id, ["crash-test"])


def kill_mid_write(warehouse: Warehouse, insert_number: int, tmp_path: Path) -> str:
    """Run the export in a child process frozen at that insert, SIGKILL it there; the
    table it was writing."""
    marker = tmp_path / "frozen"
    command = [
        sys.executable,
        _killable_export.__file__,
        str(warehouse.path),
        DAYS[0].isoformat(),
        DAYS[-1].isoformat(),
        START_DATE.isoformat(),
        *(["--snowflake"] if warehouse.kind == "snowflake" else []),
        "--freeze-at",
        str(insert_number),
        str(marker),
    ]
    writer = subprocess.Popen(command, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + _FREEZE_TIMEOUT_S
        while not marker.exists() or not marker.read_text(encoding="utf-8"):
            assert writer.poll() is None, (
                f"the export ended before freezing: {writer.stderr.read()}"
            )
            assert time.monotonic() < deadline, "the export never reached the insert"
            time.sleep(0.05)
        os.kill(writer.pid, signal.SIGKILL)
        assert writer.wait(timeout=_KILL_TIMEOUT_S) == -signal.SIGKILL
    finally:
        if writer.poll() is None:
            writer.kill()
            writer.wait(timeout=_KILL_TIMEOUT_S)
        if writer.stderr:
            writer.stderr.close()
    return marker.read_text(encoding="utf-8")


@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs POSIX signals")
@pytest.mark.timeout(180)
@pytest.mark.parametrize("kind", ["duckdb", "snowflake"])
def test_a_history_export_killed_mid_write_leaves_each_day_old_or_new_never_half(
    kind: str,
    control: Control,
    reliability_emulator: EmulatorServer,
    tmp_path: Path,
    record_property: Any,
) -> None:
    insert_number = random.Random(CRASH_SEED).randint(1, len(DAYS) * len(TABLES))
    killed_day = (insert_number - 1) // len(TABLES)
    env = {"DOT_BASE_URL": reliability_emulator.url, "DOT_API_KEY": CANARY_TOKEN}
    name = "warehouse.duckdb" if kind == "duckdb" else "fakesnow"
    db = Warehouse(kind, tmp_path / name)
    reference = Warehouse(kind, tmp_path / f"reference-{name}")
    with environment(env):
        old = export(db)
        change_history(reliability_emulator)
        new = export(reference)
        frozen_in = kill_mid_write(db, insert_number, tmp_path)
        after_kill = db.days()
        after_rerun = export(db)
    print(
        f"\ncrash seed {CRASH_SEED}: killed at insert {insert_number} of "
        f"{len(DAYS) * len(TABLES)} (into {frozen_in}, day {DAYS[killed_day]})"
    )
    record_property("crash_seed", CRASH_SEED)
    record_property("killed_at", f"insert {insert_number} into {frozen_in}")

    assert all(old[day] != new[day] for day in DAYS), "the history change changed nothing"
    expected = {day: new[day] if i < killed_day else old[day] for i, day in enumerate(DAYS)}
    for day in DAYS:
        version = "new" if expected[day] is new[day] else "old"
        assert after_kill[day] == expected[day], f"{day} is not the {version} day, whole"
    assert after_rerun == new, "re-running the export did not bring every day up to date"
