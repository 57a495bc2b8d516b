"""`DotQualityIncidentsOperator`: check results on the tables Dot reads, as Dot quality
incidents (a failed check) and their resolutions (a passing one).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from dot_orchestration.airflow import airflow_required
from dot_orchestration.airflow.operators._base import DotOperatorBase, task_failure
from dot_orchestration.client import DotError
from dot_orchestration.notify.incidents import (
    TableNameCase,
    check_table_name_case,
    incident_item,
    report_incident_changes,
)

with airflow_required():
    from airflow.sdk.exceptions import AirflowException, AirflowFailException

if TYPE_CHECKING:
    from airflow.sdk import Context


class DotQualityIncidentsOperator(DotOperatorBase):
    """Report check results on the tables Dot reads as Dot quality incidents.

    `results` (templated, or an upstream task's output) is a list of mappings: `table` (as
    Dot knows it, e.g. `analytics.public.orders`), `check`, `passed`, and optionally
    `severity` (`error`, `warning`) and `details`. A failed check opens an incident, a
    passing one resolves it; resolutions go in their own request after the new incidents
    (Dot documents only new ones). A refused new incident fails the task; a resolution Dot
    refuses is logged and not sent again; one lost to an outage fails the task after the
    new incidents went through, so a retry sends it again.
    """

    template_fields: Sequence[str] = ("results",)

    def __init__(
        self,
        *,
        results: Sequence[Mapping[str, Any]] | str,
        source: str = "airflow",
        table_name_case: TableNameCase = "as_is",
        **kwargs: Any,
    ) -> None:
        check_table_name_case(table_name_case)
        super().__init__(**kwargs)
        self.results = results
        self.source = source
        self.table_name_case = table_name_case

    def execute(self, context: Context) -> dict[str, Any]:
        if isinstance(self.results, str):
            raise AirflowFailException(
                "DotQualityIncidentsOperator: `results` rendered to text, not a list; pass "
                "an upstream task's output or render the DAG's templates as native objects"
            )
        link = context["ti"].log_url
        changes = [
            (
                index,
                incident_item(
                    table=str(result["table"]),
                    check=str(result["check"]),
                    passed=bool(result["passed"]),
                    severity=result.get("severity", "error"),
                    details=result.get("details"),
                    link=link,
                    table_name_case=self.table_name_case,
                ),
            )
            for index, result in enumerate(self.results)
        ]
        try:
            with self.hook().get_client() as client:
                report = report_incident_changes(client, self.source, changes, self.log)
        except DotError as error:
            raise task_failure(
                f"Dot did not take the new incidents: {error}", error, may_have_happened=False
            ) from error
        self.log.info("Dot quality incidents: %s", report.summary())
        if report.unsent:
            raise AirflowException(f"Dot quality incidents: {report.summary()}")
        return {
            "opened": report.opened,
            "resolved": report.resolved,
            "resolutions_refused": report.resolutions_refused,
        }


__all__ = ["DotQualityIncidentsOperator"]
