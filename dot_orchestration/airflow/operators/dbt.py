"""`DotDbtRunResultsOperator`: dbt's `run_results.json` and `manifest.json` sent to Dot
after the dbt task, whatever its outcome; failing to reach Dot never changes the build's.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from dot_orchestration.airflow import airflow_required
from dot_orchestration.airflow.operators._base import DotOperatorBase, task_failure
from dot_orchestration.client import DotError

with airflow_required():
    from airflow.sdk.exceptions import AirflowSkipException

if TYPE_CHECKING:
    from airflow.sdk import Context


class DotDbtRunResultsOperator(DotOperatorBase):
    """Send dbt's `run_results.json` and `manifest.json` (in `target_path`, templated) to
    Dot, which opens and clears data incidents for models, tests and sources.

    Runs after the dbt task whatever its outcome (`trigger_rule="all_done"` by default): a
    failed build is exactly when Dot must hear of it. As with the Dagster integration, a
    failure to reach Dot never changes the dbt task's outcome: this task fails (and is
    retried as its `retries` say; Dot takes the same artifacts again), the build stays as
    it ended. No `run_results.json` (dbt stopped before running anything) skips the task.
    """

    template_fields: Sequence[str] = ("target_path",)

    def __init__(self, *, target_path: str | Path, **kwargs: Any) -> None:
        kwargs.setdefault("trigger_rule", "all_done")
        kwargs.setdefault("doc_md", "dbt's results of this run, sent to Dot's incidents.")
        super().__init__(**kwargs)
        self.target_path = str(target_path)

    def execute(self, context: Context) -> dict[str, Any]:
        target = Path(self.target_path)
        try:
            run_results = json.loads((target / "run_results.json").read_text())
            manifest = json.loads((target / "manifest.json").read_text())
        except FileNotFoundError as error:
            raise AirflowSkipException(
                f"dbt wrote no {Path(str(error.filename)).name} in {target}; nothing to push"
            ) from error
        try:
            with self.hook().get_client() as client:
                client.push_dbt_run_results(run_results=run_results, manifest=manifest)
        except DotError as error:
            raise task_failure(
                f"Could not push dbt run results to Dot: {error}", error, may_have_happened=False
            ) from error
        results = len(run_results.get("results", []))
        self.log.info("Pushed dbt's run_results.json (%d results) and manifest.json", results)
        return {"results": results}


__all__ = ["DotDbtRunResultsOperator"]
