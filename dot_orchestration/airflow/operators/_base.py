"""What every Dot operator shares: the failure policy (`task_failure`), the link to Dot's web
app (`DotLink`) and the base class (`DotOperatorBase`: the `dot` connection, the link, the
colour).

The policy lives here once so the operators cannot drift apart on it: a failure after
which the call may have done its work in Dot is an `AirflowFailException` (no retry by
Airflow), any other a plain `AirflowException`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from dot_orchestration.airflow import airflow_required
from dot_orchestration.airflow.hooks import DotHook

with airflow_required():
    from airflow.sdk import BaseOperator, BaseOperatorLink
    from airflow.sdk.exceptions import AirflowException, AirflowFailException

if TYPE_CHECKING:
    from airflow.sdk.types import TaskInstanceKey

#: How a failed task's message tells the person on call to run it again.
RERUN = "clear this task in Airflow"
UI_COLOR = "#e8f0fe"


def task_failure(message: str, error: Exception, *, may_have_happened: bool) -> AirflowException:
    """The task's failure: not retried by Airflow when the call may have done its work."""
    text = f"{message} ({type(error).__name__})"
    return AirflowFailException(text) if may_have_happened else AirflowException(text)


class DotLink(BaseOperatorLink):
    """The task's button to Dot's web app (the region's, or the connection's base URL)."""

    name = "Dot"

    def get_link(self, operator: BaseOperator, *, ti_key: TaskInstanceKey) -> str:
        return DotHook(getattr(operator, "dot_conn_id", DotHook.default_conn_name)).web_url()


class DotOperatorBase(BaseOperator):
    """What every Dot operator shares: the connection, the link, the colour."""

    operator_extra_links = (DotLink(),)
    ui_color = UI_COLOR

    def __init__(self, *, dot_conn_id: str = DotHook.default_conn_name, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.dot_conn_id = dot_conn_id

    def hook(self) -> DotHook:
        return DotHook(self.dot_conn_id)
