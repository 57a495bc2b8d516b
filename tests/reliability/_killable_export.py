"""A Dot history export as its own process, which can be told to freeze mid-write.

`history_definitions` wires the history asset like a deployment (the asset, its IO
manager and the DuckDB warehouse, `DotResource` reading `DOT_BASE_URL`/`DOT_API_KEY`).
Run as a script, it exports a range of days in one Dagster run; with `--freeze-at N` the
N-th table insert of the run (two per day: conversations, then messages) writes a marker
file and sleeps instead, inside the open transaction, so the parent can SIGKILL it at
exactly that point.

    python _killable_export.py DB FIRST_DAY LAST_DAY START_DATE [--freeze-at N MARKER]
"""

from __future__ import annotations

import argparse
import time
from datetime import date
from pathlib import Path

import pandas as pd
from dagster import (
    AssetSelection,
    DagsterInstance,
    Definitions,
    EnvVar,
    ExecuteInProcessResult,
    define_asset_job,
)

from dot_orchestration.history_export import (
    DotHistorySettings,
    DuckDBWarehouse,
    build_dot_history_assets,
    dot_history_resources,
)
from dot_orchestration.resources import DotResource
from dot_orchestration.warehouse import _duckdb

EXPORT_JOB = "export"
#: Bounded: the parent kills the frozen writer within seconds; this only ends an orphan.
_FROZEN_FOR_S = 120


def history_definitions(db: Path, start_date: date) -> Definitions:
    """The history export on `db`, partitions from `start_date`, Dot from the environment."""
    history = build_dot_history_assets(DotHistorySettings(start_date=start_date))
    dot = DotResource(api_token=EnvVar("DOT_API_KEY"), base_url=EnvVar("DOT_BASE_URL"))
    return Definitions(
        assets=[history],
        jobs=[define_asset_job(EXPORT_JOB, selection=AssetSelection.assets(history))],
        resources={"dot": dot, **dot_history_resources(DuckDBWarehouse(path=str(db)))},
    )


def partition_range(first: date, last: date) -> dict[str, str]:
    """The tags of one run over days `first`..`last` (a single-run backfill, as the UI
    launches it); also what a partitioned `_pipeline.PipelineStep` carries."""
    return {
        "dagster/asset_partition_range_start": first.isoformat(),
        "dagster/asset_partition_range_end": last.isoformat(),
    }


def export_days(
    defs: Definitions, instance: DagsterInstance, first: date, last: date
) -> ExecuteInProcessResult:
    """One run exporting `first`..`last`."""
    return defs.resolve_job_def(EXPORT_JOB).execute_in_process(
        instance=instance, tags=partition_range(first, last), raise_on_error=False
    )


def freeze_at(insert_number: int, marker: Path) -> None:
    """Make the `insert_number`-th table insert freeze inside its transaction."""
    real_insert = _duckdb._insert_frame
    count = 0

    def insert_or_freeze(conn: object, name: str, frame: pd.DataFrame) -> int:
        nonlocal count
        count += 1
        if count == insert_number:
            marker.write_text(name, encoding="utf-8")  # rows of `name` deleted, none inserted
            time.sleep(_FROZEN_FOR_S)
        return real_insert(conn, name, frame)  # type: ignore[arg-type]

    _duckdb._insert_frame = insert_or_freeze  # type: ignore[assignment]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("db", type=Path)
    parser.add_argument("first", type=date.fromisoformat)
    parser.add_argument("last", type=date.fromisoformat)
    parser.add_argument("start_date", type=date.fromisoformat)
    parser.add_argument("--freeze-at", nargs=2, metavar=("N", "MARKER"))
    args = parser.parse_args()
    if args.freeze_at:
        freeze_at(int(args.freeze_at[0]), Path(args.freeze_at[1]))
    defs = history_definitions(args.db, args.start_date)
    result = export_days(defs, DagsterInstance.ephemeral(), args.first, args.last)
    return 0 if result.success else 1


if __name__ == "__main__":
    raise SystemExit(main())
