"""`DotSyncOperator`: one connection's schema sync, and `sync_asset`, the Airflow asset
it updates, so downstream DAGs can be scheduled on a connection's syncs.

A sync whose outcome is unknown is never sent again (not by the client, not by Airflow's
retries): Dot may be syncing already.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from dot_orchestration.airflow import airflow_required
from dot_orchestration.airflow.operators._base import RERUN, DotOperatorBase, task_failure
from dot_orchestration.client import DotError, connection_type_problem
from dot_orchestration.syncing import describe_failures, outcome_of

with airflow_required():
    from airflow.sdk import Asset

if TYPE_CHECKING:
    from airflow.sdk import Context


def sync_asset(connection_type: str, connection_id: str) -> Asset:
    """The Airflow asset a sync of `type/id` updates; schedule downstream DAGs on it."""
    return Asset(f"dot://sync/{connection_type}/{connection_id}")


class DotSyncOperator(DotOperatorBase):
    """Ask Dot to re-read one connection's schema (`POST /api/sync/{type}/{id}`).

    Dot does not report completion: success means Dot accepted the sync. The connection is
    fixed when the DAG is parsed, since it names the task's outlet asset
    (`dot://sync/<type>/<id>`, `sync_asset`). Failures:

    * **Outcome unknown** (a read timeout, a dropped connection, a 5xx after sending): Dot
      may be syncing, so the sync is not sent again, neither by the client nor by Airflow's
      retries (`AirflowFailException`); look at the connection in Dot, then clear the task
      if it did not sync.
    * **Refused** (Dot's 4xx, a failed connect, an unknown environment): Dot certainly did
      not sync. A plain failure, retried as the task's `retries` say.
    """

    def __init__(
        self,
        *,
        connection_type: str,
        connection_id: str,
        outlets: Iterable[Asset] = (),
        **kwargs: Any,
    ) -> None:
        problem = connection_type_problem(connection_type)
        if problem is not None or not connection_id:
            raise ValueError(f"DotSyncOperator: {problem or 'connection_id is empty'}")
        kwargs.setdefault(
            "doc_md",
            f"Dot re-reads the schema of connection `{connection_type}/{connection_id}`. "
            "Failed with the outcome unknown: check the connection in Dot before clearing.",
        )
        super().__init__(outlets=[*outlets, sync_asset(connection_type, connection_id)], **kwargs)
        self.connection_type = connection_type
        self.connection_id = connection_id

    def execute(self, context: Context) -> dict[str, Any]:
        label = f"{self.connection_type}/{self.connection_id}"
        try:
            with self.hook().get_client() as client:
                accepted = client.sync_connection(self.connection_type, self.connection_id)
        except DotError as error:
            raise task_failure(
                describe_failures({label: error}, 1, rerun=RERUN),
                error,
                may_have_happened=outcome_of(error) == "unknown",
            ) from error
        self.log.info("Dot accepted the sync of %s (%d attempt(s))", label, accepted.attempts)
        return {
            "connection": label,
            "attempts": accepted.attempts,
            "duration_s": round(accepted.duration_s, 3),
        }


__all__ = ["DotSyncOperator", "sync_asset"]
