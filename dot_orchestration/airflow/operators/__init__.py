"""Airflow operators for Dot's operations, each one call of the core with its guarantees.

How a failure reaches Airflow is the one thing every operator decides the same way: when
the call may have done its work in Dot although it failed (a sync whose outcome is
unknown, a question Dot may be answering), the task fails with `AirflowFailException`, so
Airflow's own retries do not send it again; every other failure is a plain
`AirflowException`, retried as the task's `retries` say (a refused token stays refused,
but a retry never does harm there). Messages name what failed and what to do; none holds
a token. That policy, the `dot` connection, the link to Dot's web app (`DotLink`) and
the base class live in `_base`; each operation has its module:

* `sync`: `DotSyncOperator`, one connection's sync; its outlet is an Airflow `Asset` per
  connection (`sync_asset`).
* `history`: `DotHistoryExportOperator`, one day of conversation history per logical
  date, replaced in the warehouse exactly once, so `airflow backfill` and re-runs never
  duplicate rows (`day_request`: the export call for one closed day).
* `catalogue`: `DotCatalogueOperator`, Dot's external assets reconciled with a catalogue
  file.
* `notes`: `DotConfluenceNotesOperator`, Confluence pages into Dot's notes.
* `dbt`: `DotDbtRunResultsOperator`, dbt's `run_results.json` and `manifest.json` to Dot.
* `incidents`: `DotQualityIncidentsOperator`, check results as Dot quality incidents and
  resolutions.
* `questions`: `DotQuestionOperator`, ask Dot; deferrable, `DotAnswerTrigger` polls the
  conversation.

Every name is imported from here (`dot_orchestration.airflow.operators.DotSyncOperator`);
the modules are where the code lives.
"""

from dot_orchestration.airflow.operators._base import DotLink
from dot_orchestration.airflow.operators.catalogue import DotCatalogueOperator
from dot_orchestration.airflow.operators.dbt import DotDbtRunResultsOperator
from dot_orchestration.airflow.operators.history import DotHistoryExportOperator, day_request
from dot_orchestration.airflow.operators.incidents import DotQualityIncidentsOperator
from dot_orchestration.airflow.operators.notes import DotConfluenceNotesOperator
from dot_orchestration.airflow.operators.questions import DotQuestionOperator
from dot_orchestration.airflow.operators.sync import DotSyncOperator, sync_asset

__all__ = [
    "DotCatalogueOperator",
    "DotConfluenceNotesOperator",
    "DotDbtRunResultsOperator",
    "DotHistoryExportOperator",
    "DotLink",
    "DotQualityIncidentsOperator",
    "DotQuestionOperator",
    "DotSyncOperator",
    "day_request",
    "sync_asset",
]
