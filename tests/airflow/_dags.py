"""The test DAGs: one per operator, each run by `dag.test()` against the emulators.

Linked into the worker's DAGs folder as `dot_test_dags.py` (tests/airflow/conftest.py).
Failures are made by the emulator's fault rules, not by the DAGs: the tasks that must show
whether Airflow retries them have one retry without delay.
"""

from datetime import datetime, timedelta
from pathlib import Path

from airflow.sdk import DAG, CronDataIntervalTimetable

from dot_orchestration.airflow.operators import (
    DotCatalogueOperator,
    DotHistoryExportOperator,
    DotQualityIncidentsOperator,
    DotQuestionOperator,
    DotSyncOperator,
)

CATALOGUE = Path(__file__).resolve().parents[2] / "examples" / "dot_catalogue.yaml"
ONE_RETRY = {"retries": 1, "retry_delay": timedelta(0)}
START = datetime(2026, 1, 1)

with DAG("dot_test_sync", schedule=None, start_date=START) as dot_test_sync:
    DotSyncOperator(task_id="sync", connection_type="snowflake", connection_id="prod", **ONE_RETRY)


def history_dag(dag_id: str, **warehouse: str) -> DAG:
    """A daily history export (one day per logical date) into `warehouse`."""
    with DAG(
        dag_id,
        schedule=CronDataIntervalTimetable("0 1 * * *", timezone="UTC"),
        start_date=START,
        catchup=False,
    ) as dag:
        DotHistoryExportOperator(task_id="history", **warehouse)
    return dag


dot_test_history = history_dag("dot_test_history", duckdb_path="{{ var.value.dot_test_duckdb }}")
# The `dot_test_postgres` connection: set by the test that runs this DAG (its server).
dot_test_history_postgres = history_dag(
    "dot_test_history_postgres", postgres_conn_id="dot_test_postgres"
)

with DAG("dot_test_catalogue", schedule=None, start_date=START) as dot_test_catalogue:
    DotCatalogueOperator(task_id="catalogue", catalogue_path=CATALOGUE)

with DAG("dot_test_incidents", schedule=None, start_date=START) as dot_test_incidents:
    DotQualityIncidentsOperator(
        task_id="incidents",
        results=[
            {
                "table": "analytics.main.orders",
                "check": "row_count",
                "passed": False,
                "details": "0 rows",
            },
            {"table": "analytics.main.customers", "check": "unique_id", "passed": True},
        ],
        **ONE_RETRY,
    )

QUESTION = "How many orders did we have last week?"

with DAG("dot_test_question", schedule=None, start_date=START) as dot_test_question:
    # Dot answers after 0.5 s (the session emulator): the post gives up after 0.05 s, so
    # the task defers and the trigger reads the answer.
    DotQuestionOperator(
        task_id="ask",
        question=QUESTION,
        submit_timeout_s=0.05,
        poll_interval_s=0.1,
        timeout_s=10,
        **ONE_RETRY,
    )
    DotQuestionOperator(
        task_id="ask_in_worker", question=QUESTION, deferrable=False, poll_interval_s=0.1
    )

with DAG("dot_test_question_timeout", schedule=None, start_date=START) as dot_test_question_timeout:
    DotQuestionOperator(
        task_id="ask",
        question=QUESTION,
        submit_timeout_s=0.05,
        poll_interval_s=0.05,
        timeout_s=0.2,
        **ONE_RETRY,
    )
