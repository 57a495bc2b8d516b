"""`DotCatalogueOperator`: Dot's external assets reconciled with a YAML catalogue file,
checked when the DAG is parsed and read again by each run; every write verified, a failed
one never stopping the others.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from dot_orchestration.airflow import airflow_required
from dot_orchestration.airflow.operators._base import RERUN, DotOperatorBase, task_failure
from dot_orchestration.catalogue_runs import CatalogueFile, reconcile_dot_catalogue
from dot_orchestration.client import DotError
from dot_orchestration.transforms.catalogue import (
    DEFAULT_ID_PREFIX,
    CatalogueError,
    RemovalPolicy,
    UnreadableListingError,
    check_reconcile_settings,
)

with airflow_required():
    from airflow.sdk.exceptions import AirflowException, AirflowFailException

if TYPE_CHECKING:
    from airflow.sdk import Context


class DotCatalogueOperator(DotOperatorBase):
    """Make Dot's external assets match a YAML catalogue (`catalogue_path`).

    The file is checked when the DAG is parsed (a bad entry is a DAG import error naming
    the file, the entry and the field) and read again by each run. Ids starting with
    `id_prefix` are this operator's; those the file no longer lists are `on_removed`
    (`deactivate`, `delete`, `keep`). Every write is verified against Dot's list read
    afterwards; a failed write never stops the others, and the task then fails naming each
    failed id (re-running is cheap: unchanged assets are skipped). A source or listing
    problem fails before anything is written.
    """

    def __init__(
        self,
        *,
        catalogue_path: str | Path,
        id_prefix: str = DEFAULT_ID_PREFIX,
        on_removed: RemovalPolicy = "deactivate",
        **kwargs: Any,
    ) -> None:
        check_reconcile_settings(id_prefix, on_removed)
        catalogue = CatalogueFile(catalogue_path)
        kwargs.setdefault(
            "doc_md", f"Dot's external assets `{id_prefix}*` reconciled with {catalogue.name}."
        )
        super().__init__(**kwargs)
        self.catalogue = catalogue
        self.id_prefix = id_prefix
        self.on_removed = on_removed

    def execute(self, context: Context) -> dict[str, Any]:
        try:
            with self.hook().get_client() as client:
                run = reconcile_dot_catalogue(
                    client, [self.catalogue], id_prefix=self.id_prefix, on_removed=self.on_removed
                )
        except CatalogueError as error:
            raise AirflowFailException(f"{error}; nothing was written to Dot") from error
        except (UnreadableListingError, DotError) as error:
            raise task_failure(
                f"{error}; nothing was written to Dot", error, may_have_happened=False
            ) from error
        counts: dict[str, int] = {}
        for change in run.plan.changes:
            if change.asset_id not in run.failures:
                counts[change.action] = counts.get(change.action, 0) + 1
        self.log.info("Dot catalogue: %s", counts or "nothing to do")
        if run.failures:
            for asset_id, write_error in sorted(run.failures.items()):
                self.log.error("Dot external asset %s: %s", asset_id, write_error)
            failed = sorted(run.failures)
            raise AirflowException(
                f"{len(failed)} of {len(run.plan.writes)} Dot external asset writes failed: "
                f"{', '.join(failed)}; the others were applied ({RERUN} to write them again)"
            ) from run.failures[failed[0]]
        return {"counts": counts, "writes": len(run.plan.writes)}


__all__ = ["DotCatalogueOperator"]
