"""A history export killed mid-write: every day is the old one or the new one, whole.

Two days are exported (the old version), Dot's history of both days then changes (a label
on one conversation of each), and the export of both days runs again in its own process,
frozen at one table insert inside its transaction and killed with SIGKILL there. Each day
is written in its own transaction, so the days before the killed one hold the new rows and
the killed day and those after it hold the old rows — conversations and messages alike,
never a mix and never a duplicate — and a re-run brings every day to the new version.

The insert to freeze at is drawn from a seed (printed, and recorded in the test report):
`DOT_RELIABILITY_CRASH_SEED=<seed>` reproduces a run.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import duckdb
import pytest
from dagster import DagsterInstance

from dot_orchestration.client import DotClient
from dot_orchestration.emulator import EmulatorServer

from . import _killable_export
from ._killable_export import export_days, history_definitions
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


def day_rows(db: Path, day: date) -> DayRows:
    """Both tables' rows of one day, sorted, read as any later reader would."""
    with duckdb.connect(str(db), read_only=True) as conn:
        return {
            table: sorted(
                conn.execute(
                    f"SELECT * FROM dot_history.{table} WHERE partition_date = ?", [day]
                ).fetchall(),
                key=repr,
            )
            for table in TABLES
        }


def export(db: Path) -> dict[date, DayRows]:
    """Export both days in this process; what each day then holds."""
    result = export_days(
        history_definitions(db, START_DATE), DagsterInstance.ephemeral(), DAYS[0], DAYS[-1]
    )
    assert result.success, f"the export into {db.name} failed"
    return {day: day_rows(db, day) for day in DAYS}


def change_history(server: EmulatorServer) -> None:
    """Label one conversation of each day, so the next export of both days differs."""
    with DotClient(api_token=CANARY_TOKEN, base_url=server.url) as dot:
        for day in DAYS:
            chat_id = server.state.history_truth(day, day + timedelta(days=1)).chat_ids[0]
            dot.add_label_to_chat(chat_id, ["crash-test"])


def kill_mid_write(db: Path, insert_number: int, tmp_path: Path) -> str:
    """Run the export in a child process frozen at that insert, SIGKILL it there; the
    table it was writing."""
    marker = tmp_path / "frozen"
    command = [
        sys.executable,
        _killable_export.__file__,
        str(db),
        DAYS[0].isoformat(),
        DAYS[-1].isoformat(),
        START_DATE.isoformat(),
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
def test_a_history_export_killed_mid_write_leaves_each_day_old_or_new_never_half(
    control: Control,
    reliability_emulator: EmulatorServer,
    tmp_path: Path,
    record_property: Any,
) -> None:
    insert_number = random.Random(CRASH_SEED).randint(1, len(DAYS) * len(TABLES))
    killed_day = (insert_number - 1) // len(TABLES)
    env = {"DOT_BASE_URL": reliability_emulator.url, "DOT_API_KEY": CANARY_TOKEN}
    db, reference = tmp_path / "warehouse.duckdb", tmp_path / "reference.duckdb"
    with environment(env):
        old = export(db)
        change_history(reliability_emulator)
        new = export(reference)
        frozen_in = kill_mid_write(db, insert_number, tmp_path)
        after_kill = {day: day_rows(db, day) for day in DAYS}
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
