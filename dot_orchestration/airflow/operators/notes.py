"""`DotConfluenceNotesOperator`: Confluence pages into Dot's notes, the same
`ConfluenceNoteSync` the Dagster asset takes; the notes a sync owns are kept in an Airflow
Variable after every run.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from dot_orchestration.airflow import airflow_required
from dot_orchestration.airflow.hooks import ConfluenceHook
from dot_orchestration.airflow.operators._base import DotOperatorBase
from dot_orchestration.transforms.note_sync import (
    ConfluenceNoteSync,
    NoteRun,
    NoteSyncError,
    run_note_sync,
)
from dot_orchestration.transforms.org_notes import record_from_json, record_to_json

with airflow_required():
    from airflow.sdk import Variable
    from airflow.sdk.exceptions import AirflowException, AirflowFailException

if TYPE_CHECKING:
    from airflow.sdk import Context


class DotConfluenceNotesOperator(DotOperatorBase):
    """Sync Confluence pages into Dot's notes (`sync`: the pages, the note dialect, what
    happens to the notes of removed pages; the same `ConfluenceNoteSync` the Dagster asset
    takes).

    `page_ids` (templated) limits a run to those selected pages; `refresh` re-renders pages
    whose notes already hold their version. A page that fails keeps its notes as they were
    and every other page is still written; the task then fails naming each failed page.
    Only a transient failure (Dot or Confluence unavailable, a note create whose answer was
    lost) is retried: `retries` default to the sync's `step_retries`, and the retry adopts
    a note a lost create did make. The notes this sync owns are kept in the Airflow
    Variable `dot_notes_ownership.<name>` after every run, failed ones included, for when
    Dot drops the ownership marker. Run one note sync per name at a time
    (`max_active_tis_per_dag=1`, the default here): notes are read-modify-written.
    """

    template_fields: Sequence[str] = ("page_ids",)

    def __init__(
        self,
        *,
        sync: ConfluenceNoteSync,
        confluence_conn_id: str = ConfluenceHook.default_conn_name,
        page_ids: Sequence[str] | None = None,
        refresh: bool = False,
        max_concurrency: int = 4,
        **kwargs: Any,
    ) -> None:
        kwargs.setdefault("retries", sync.step_retries)
        kwargs.setdefault("retry_delay", timedelta(seconds=sync.step_retry_delay_s))
        kwargs.setdefault("retry_exponential_backoff", 2.0)
        kwargs.setdefault("max_active_tis_per_dag", 1)
        kwargs.setdefault(
            "doc_md",
            sync.description
            or f"Confluence pages ({sync.selection.describe()}) as Dot notes ({sync.dialect}).",
        )
        super().__init__(**kwargs)
        self.sync = sync
        self.confluence_conn_id = confluence_conn_id
        self.page_ids = page_ids
        self.refresh = refresh
        self.max_concurrency = max_concurrency

    @property
    def record_variable(self) -> str:
        """The Airflow Variable holding the notes this sync owns."""
        return f"dot_notes_ownership.{self.sync.name}"

    def execute(self, context: Context) -> dict[str, Any]:
        stored = Variable.get(self.record_variable, default={}, deserialize_json=True)
        record = record_from_json(stored)
        page_ids = [str(page) for page in self.page_ids] if self.page_ids else None
        try:
            with (
                ConfluenceHook(self.confluence_conn_id).get_client() as wiki,
                self.hook().get_client() as client,
            ):
                run = run_note_sync(
                    self.sync,
                    wiki,
                    client,
                    record,
                    _Warnings(self.log),
                    page_ids=page_ids,
                    refresh=self.refresh,
                    max_concurrency=self.max_concurrency,
                )
        except NoteSyncError as error:
            if error.run is not None:
                self._keep_record(error.run)
            failure = AirflowException if error.retryable else AirflowFailException
            raise failure(error.message) from (error.cause or error)
        self._keep_record(run)
        outcomes: dict[str, int] = {}
        for outcome in run.report.outcomes.values():
            outcomes[outcome] = outcomes.get(outcome, 0) + 1
        self.log.info("Confluence note sync %r: %s", self.sync.name, outcomes)
        return {"pages": outcomes, "left_in_dot": sorted(run.report.left)}

    def _keep_record(self, run: NoteRun) -> None:
        if run.report.record is not None:
            Variable.set(
                self.record_variable, record_to_json(run.report.record), serialize_json=True
            )


class _Warnings:
    """The task's log as the core's note sync writes to it: warnings, as text."""

    def __init__(self, log: Any) -> None:
        self._log = log

    def warning(self, msg: str) -> None:
        self._log.warning(msg)


__all__ = ["DotConfluenceNotesOperator"]
