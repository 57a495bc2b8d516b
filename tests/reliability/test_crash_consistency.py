"""A history export killed mid-write: every day is the old one or the new one, whole.

Two days are exported (the old version), Dot's history of both days then changes (a label
on one conversation of each), and the export of both days runs again in a process of its
own, frozen at one table insert inside a transaction and killed with SIGKILL there.

The export writes its days in batches of consecutive days, each batch's days of both tables
in one transaction (`HistoryExport.replace`): two small days are one batch. So that a kill
also meets days committed before the killed transaction, each case runs twice: as the
export batches them, and with its write size at one byte (a transaction a day). The
transactions are read off an unfrozen export of the same days: the write hook is called
once per table a transaction writes, so the calls say how many tables, hence transactions,
there are, and the insert to freeze at is drawn among them.

After the kill, the days of transactions committed before the killed one hold the new
rows, the days of the killed transaction and of those after it the old rows,
conversations and messages alike, never a mix and never a duplicate; a re-run brings every
day to the new version.

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
from dot_orchestration.transforms import history_days

from ._killable_export import (
    SNOWFLAKE,
    HookedDuckDB,
    HookedSnowflake,
    export_days,
    fakesnow_at,
    history_definitions,
    start_frozen_export,
    write_hook,
)
from ._pipeline import CANARY_TOKEN, environment
from ._traffic import Control

CRASH_SEED = int(os.environ.get("DOT_RELIABILITY_CRASH_SEED", "0"))
TABLES = ("conversations", "messages")
TODAY = datetime.now(timezone.utc).date()
DAYS = (TODAY - timedelta(days=5), TODAY - timedelta(days=4))
START_DATE = TODAY - timedelta(days=10)
#: The export's write size (`history_days.WRITE_BYTES`) for each way of batching the days:
#: its own, and one byte, which puts each day in a transaction of its own.
BATCHING = {"as the export batches": None, "a transaction a day": 1}
_FREEZE_TIMEOUT_S = 120

DayRows = dict[str, list[tuple[Any, ...]]]


@dataclass(frozen=True)
class Warehouse:
    """Where a test's days land: a DuckDB file, or fakesnow's files in a folder."""

    kind: str  # "duckdb" or "snowflake"
    path: Path

    def resource(self) -> DuckDBWarehouse | SnowflakeWarehouse:
        """The warehouse as a deployment configures it."""
        if self.kind == "snowflake":
            return SnowflakeWarehouse(**SNOWFLAKE)
        return DuckDBWarehouse(path=str(self.path))

    def hooked(self) -> HookedDuckDB | HookedSnowflake:
        """The same warehouse, its writes calling the write hook (`write_hook`)."""
        if self.kind == "snowflake":
            return HookedSnowflake(**SNOWFLAKE)
        return HookedDuckDB(path=str(self.path))

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


def export(warehouse: Warehouse) -> tuple[dict[date, DayRows], int]:
    """Export both days in this process; what each day then holds, and how many tables
    the export's transactions wrote (its write hook's calls)."""
    calls = 0

    def count(schema: str, table: str) -> None:
        nonlocal calls
        calls += 1

    with warehouse.opened(), write_hook(count):
        defs = history_definitions(START_DATE, warehouse.hooked())
        result = export_days(defs, DagsterInstance.ephemeral(), DAYS[0], DAYS[-1])
    assert result.success, f"the export into {warehouse.path.name} failed"
    return warehouse.days(), calls


def transactions_of(tables_written: int) -> list[tuple[date, ...]]:
    """The days of each transaction of an export of `DAYS`, in order, from the tables its
    transactions wrote: each writes both tables of consecutive days, at least one day, so
    with two days one transaction holds both or each holds one."""
    transactions, odd = divmod(tables_written, len(TABLES))
    assert not odd and transactions in (1, len(DAYS)), (
        f"{tables_written} tables written for {len(DAYS)} days of {len(TABLES)} tables"
    )
    return [DAYS] if transactions == 1 else [(day,) for day in DAYS]


def change_history(server: EmulatorServer) -> None:
    """Label one conversation of each day, so the next export of both days differs."""
    with DotClient(api_token=CANARY_TOKEN, base_url=server.url) as dot:
        for day in DAYS:
            chat_id = server.state.history_truth(day, day + timedelta(days=1)).chat_ids[0]
            dot.add_label_to_chat(chat_id, ["crash-test"])


def kill_mid_write(warehouse: Warehouse, insert_number: int, tmp_path: Path) -> str:
    """Run the export in a writer process frozen at that insert, SIGKILL it there; the
    table it was writing."""
    marker, errors = tmp_path / "frozen", tmp_path / "writer-errors"
    writer = start_frozen_export(
        warehouse.hooked(),
        warehouse.opened(),
        DAYS[0],
        DAYS[-1],
        START_DATE,
        freeze_at_insert=insert_number,
        marker=marker,
        errors=errors,
    )
    alive = True
    try:
        deadline = time.monotonic() + _FREEZE_TIMEOUT_S
        while not marker.exists() or not marker.read_text(encoding="utf-8"):
            alive = os.waitpid(writer, os.WNOHANG)[0] != writer
            assert alive, f"the export ended before freezing: {_read(errors)}"
            assert time.monotonic() < deadline, "the export never reached the insert"
            time.sleep(0.05)
        os.kill(writer, signal.SIGKILL)
        status, alive = os.waitpid(writer, 0)[1], False
        assert os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGKILL
    finally:
        if alive:
            os.kill(writer, signal.SIGKILL)
            os.waitpid(writer, 0)
    return marker.read_text(encoding="utf-8")


def _read(path: Path) -> str:
    return path.read_text(encoding="utf-8") if path.exists() else "(no traceback)"


@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs POSIX signals")
@pytest.mark.timeout(180)
@pytest.mark.parametrize("batching", list(BATCHING))
@pytest.mark.parametrize("kind", ["duckdb", "snowflake"])
def test_a_history_export_killed_mid_write_leaves_each_day_old_or_new_never_half(
    kind: str,
    batching: str,
    control: Control,
    reliability_emulator: EmulatorServer,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    record_property: Any,
) -> None:
    write_bytes = BATCHING[batching]
    if write_bytes is not None:  # the forked writer inherits it
        monkeypatch.setattr(history_days, "WRITE_BYTES", write_bytes)
    env = {"DOT_BASE_URL": reliability_emulator.url, "DOT_API_KEY": CANARY_TOKEN}
    name = "warehouse.duckdb" if kind == "duckdb" else "fakesnow"
    db = Warehouse(kind, tmp_path / name)
    reference = Warehouse(kind, tmp_path / f"reference-{name}")
    with environment(env):
        old, _ = export(db)
        change_history(reliability_emulator)
        new, tables_written = export(reference)
        insert_number = random.Random(CRASH_SEED).randint(1, tables_written)
        frozen_in = kill_mid_write(db, insert_number, tmp_path)
        after_kill = db.days()
        after_rerun, _ = export(db)
    transactions = transactions_of(tables_written)
    killed = (insert_number - 1) // len(TABLES)
    print(
        f"\ncrash seed {CRASH_SEED}: killed at insert {insert_number} of {tables_written} "
        f"(into {frozen_in}, transaction {killed + 1} of {len(transactions)}: "
        f"{[str(day) for day in transactions[killed]]})"
    )
    record_property("crash_seed", CRASH_SEED)
    record_property("killed_at", f"insert {insert_number} of {tables_written} into {frozen_in}")

    if write_bytes is not None:
        assert len(transactions) == len(DAYS), "one byte a write should be a transaction a day"
    assert all(old[day] != new[day] for day in DAYS), "the history change changed nothing"
    committed = {day for days in transactions[:killed] for day in days}
    expected = {day: new[day] if day in committed else old[day] for day in DAYS}
    for day in DAYS:
        version = "new" if day in committed else "old"
        assert after_kill[day] == expected[day], f"{day} is not the {version} day, whole"
    assert after_rerun == new, "re-running the export did not bring every day up to date"
