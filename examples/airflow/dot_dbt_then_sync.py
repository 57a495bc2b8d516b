"""dbt builds the example project, then Dot re-reads the connections that read it.

`dbt build` (a BashOperator; `DOT_DEMO_DBT_EXECUTABLE` picks another dbt), then, whatever
the build's outcome, its `run_results.json` goes to Dot's incidents; after a clean build
Dot syncs the warehouse connection reading the built models and the dbt connection. Each
sync's outlet is an Airflow Asset (`dot://sync/<type>/<id>`): DAGs reading what Dot sees
can be scheduled on it. The same connections as the Dagster example
(`examples/dot_demo/definitions.py`). Connection `dot_default`: see the README.
"""

import os
from datetime import datetime
from pathlib import Path

from airflow.providers.standard.operators.bash import BashOperator
from airflow.sdk import DAG

from dot_orchestration.airflow.operators import DotDbtRunResultsOperator, DotSyncOperator

PROJECT = Path(__file__).resolve().parents[1] / "dbt_project"
DBT = os.environ.get("DOT_DEMO_DBT_EXECUTABLE", "dbt")
#: One target folder per run, so a run's artifacts are the ones its push sends.
TARGET = str(PROJECT / "target" / "airflow" / "{{ ts_nodash }}")

with DAG(
    "dot_dbt_then_sync",
    schedule="0 2 * * *",
    start_date=datetime(2026, 1, 1),
    catchup=False,
    max_active_runs=1,
    doc_md=__doc__,
    tags=["dot", "dbt"],
) as dag:
    dbt_build = BashOperator(
        task_id="dbt_build",
        bash_command=(
            f"{DBT} build --project-dir {PROJECT} --profiles-dir {PROJECT} --target-path {TARGET}"
        ),
    )
    push_results = DotDbtRunResultsOperator(task_id="dot_dbt_run_results", target_path=TARGET)
    syncs = [
        DotSyncOperator(
            task_id="dot_sync_duckdb", connection_type="duckdb", connection_id="dot_demo"
        ),
        DotSyncOperator(task_id="dot_sync_dbt", connection_type="dbt", connection_id="dot_demo"),
    ]
    dbt_build >> push_results
    dbt_build >> syncs
