"""Dot's conversation history, one closed day per run, into the example's DuckDB file.

The timetable has data intervals, so each run's logical date is the day that just closed
(the run starts at 01:00 UTC the next day) and a backfill runs one task per day:

    airflow backfill create --dag-id dot_history_daily \
        --from-date 2026-03-01 --to-date 2026-03-31

Each task replaces its day in `dot_history.conversations` and `dot_history.messages` in
one transaction, so re-running a day, or the whole backfill, never duplicates a row. The
file is the one dbt builds into (`DOT_DEMO_DUCKDB_PATH`), where the usage models read it.
"""

import os
from datetime import datetime
from pathlib import Path

from airflow.sdk import DAG, CronDataIntervalTimetable

from dot_orchestration.airflow.operators import DotHistoryExportOperator

DUCKDB = os.environ.get(
    "DOT_DEMO_DUCKDB_PATH",
    str(Path(__file__).resolve().parents[1] / "dbt_project" / "dot_demo.duckdb"),
)

with DAG(
    "dot_history_daily",
    schedule=CronDataIntervalTimetable("0 1 * * *", timezone="UTC"),
    start_date=datetime(2026, 1, 1),
    catchup=False,
    doc_md=__doc__,
    tags=["dot"],
) as dag:
    DotHistoryExportOperator(task_id="dot_history", duckdb_path=DUCKDB, retries=2)
