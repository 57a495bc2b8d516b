"""Confluence pages as Dot notes, every hour: the data team's pages and the runbooks.

The same sync as the Dagster example (`examples/dot_demo/definitions.py`): one Dot note
per page, updated in place; a page that leaves the selection keeps its notes, reported in
the task's log. Connections `dot_default` and `confluence_default`: see the README.
"""

from datetime import datetime

from airflow.sdk import DAG

from dot_orchestration.airflow.operators import DotConfluenceNotesOperator
from dot_orchestration.confluence import PageSelection
from dot_orchestration.transforms.note_sync import ConfluenceNoteSync

NOTE_SYNC = ConfluenceNoteSync(
    selection=PageSelection(descendants_of=("100000",), cql=('space = ENG and label = "runbook"',)),
)

with DAG(
    "dot_confluence_notes",
    schedule="0 * * * *",
    start_date=datetime(2026, 1, 1),
    catchup=False,
    max_active_runs=1,
    doc_md=__doc__,
    tags=["dot", "confluence"],
) as dag:
    DotConfluenceNotesOperator(task_id="dot_notes", sync=NOTE_SYNC)
