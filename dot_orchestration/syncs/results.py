"""What a sync step reports: each connection's result as a materialization and a check
evaluation, and the step's Failure naming every connection that did not sync.

All metadata is under the `dot/` namespace (`DotSyncMetadata`), with `sync_` names that no
other operation uses.

The step yields its checks as `AssetCheckEvaluation`s, not `AssetCheckResult`s: Dagster
resolves each `AssetCheckResult` with an event-log query for the asset's latest
materialization and a pass over every output of the step, and stores an output event for
it; for a 200-connection run that was a third of its CPU and one of its six events per
connection. An evaluation is stored as it is. The accepted syncs' evaluations come once
every call ended, naming the materializations they are about from one query
(`accepted_sync_checks`). Dagster then notes, at INFO, that the step did not yield the
checks' outputs.
"""

from collections.abc import Mapping

from dagster import (
    AssetCheckEvaluation,
    AssetCheckSpec,
    AssetKey,
    DagsterInstance,
    Failure,
    JsonMetadataValue,
    MaterializeResult,
    MetadataValue,
)

from dot_orchestration._compat import (
    AssetCheckEvaluationTargetMaterializationData,
    NamespacedMetadataSet,
)
from dot_orchestration.client import DotError, SyncAccepted
from dot_orchestration.syncing import describe_failures, outcome_of
from dot_orchestration.syncs.translator import SYNC_ACCEPTED_CHECK

#: A refused sync does not stop what reads the asset: the data it would read is unchanged.
_BLOCKING = False
#: How a person re-sends only the failed syncs, in the Dagster UI's words.
_RERUN = (
    "select their assets, or Re-execute > From asset failure: 'From failure' re-runs the "
    "whole step, syncs that succeeded included"
)


class DotSyncMetadata(NamespacedMetadataSet):
    """What a sync run records: on the materialization, the check and the step's failure.

    On a failed step, `sync_error_class`, `sync_outcome` and `failed_connections` map each
    failed connection's label to its value; on a failed check they hold that one value.
    """

    connection: str | None = None
    sync_response: JsonMetadataValue | None = None
    sync_duration_s: float | None = None
    sync_attempts: int | None = None
    sync_error: str | None = None
    sync_error_class: str | JsonMetadataValue | None = None
    sync_outcome: str | JsonMetadataValue | None = None
    failed_connections: JsonMetadataValue | None = None

    @classmethod
    def namespace(cls) -> str:
        return "dot"


def sync_accepted_check_spec(key: AssetKey) -> AssetCheckSpec:
    """The check a sync asset reports from its own step, so a refused sync shows on the asset."""
    return AssetCheckSpec(
        name=SYNC_ACCEPTED_CHECK,
        asset=key,
        blocking=_BLOCKING,
        description="Dot accepted this run's sync call (a 2xx, retries included). When it "
        "fails, its description holds Dot's answer; the asset's description says what to do.",
    )


def sync_timing(accepted: SyncAccepted, seconds: float) -> DotSyncMetadata:
    """How long an accepted sync took and in how many attempts: its check's metadata."""
    return DotSyncMetadata(sync_duration_s=round(seconds, 3), sync_attempts=accepted.attempts)


def accepted_sync(key: AssetKey, accepted: SyncAccepted, seconds: float) -> MaterializeResult:
    """What Dot said, and nothing guessed: Dot documents no web page per connection, so
    no link is shown, and `dot/sync_response` is whatever 2xx body Dot sent (often empty)."""
    timing = sync_timing(accepted, seconds)
    metadata = DotSyncMetadata(
        connection=f"{accepted.connection_type}/{accepted.connection_id}",
        sync_response=MetadataValue.json(accepted.response or {}),
        sync_duration_s=timing.sync_duration_s,
        sync_attempts=timing.sync_attempts,
    )
    return MaterializeResult(asset_key=key, metadata=dict(metadata))


def accepted_sync_checks(
    instance: DagsterInstance, run_id: str, timings: Mapping[AssetKey, DotSyncMetadata]
) -> list[AssetCheckEvaluation]:
    """The passed checks of syncs run `run_id` just materialized, each with its timing and
    the materialization it is about, all looked up in one query. An asset whose latest
    materialization is another run's (an event store that lags) gets no target rather
    than a wrong one."""
    if not timings:
        return []
    latest = {
        record.asset_entry.asset_key: record.asset_entry.last_materialization_record
        for record in instance.get_asset_records(list(timings))
    }
    evaluations = []
    for key, timing in timings.items():
        materialization = latest.get(key)
        target = (
            AssetCheckEvaluationTargetMaterializationData(
                storage_id=materialization.storage_id,
                run_id=run_id,
                timestamp=materialization.timestamp,
            )
            if materialization is not None and materialization.run_id == run_id
            else None
        )
        evaluations.append(
            AssetCheckEvaluation(
                asset_key=key,
                check_name=SYNC_ACCEPTED_CHECK,
                passed=True,
                metadata=dict(timing),
                target_materialization_data=target,
                blocking=_BLOCKING,
            )
        )
    return evaluations


def refused_sync_check(key: AssetKey, error: DotError) -> AssetCheckEvaluation:
    """The failed check of one connection, with Dot's answer and whether it may have synced."""
    outcome = outcome_of(error)
    heading = (
        "Outcome unknown: the sync request may have reached Dot (not re-sent)"
        if outcome == "unknown"
        else "Dot did not accept the sync"
    )
    metadata = DotSyncMetadata(
        sync_error=str(error), sync_error_class=type(error).__name__, sync_outcome=outcome
    )
    return AssetCheckEvaluation(
        asset_key=key,
        check_name=SYNC_ACCEPTED_CHECK,
        passed=False,
        description=f"{heading}: {error}",
        metadata=dict(metadata),
        blocking=_BLOCKING,
    )


def syncs_failed(failures: Mapping[str, DotError], selected: int) -> Failure:
    """The step's Failure, naming every failed connection.

    The caller chains it to the first failure by label, so the exact Dot error class
    (`DotAuthError`, `DotServerError`, ...) reaches the step's error chain in the event
    log, where alerts and tests read it; a chain holds one error, so `dot/sync_error_class`
    gives every connection's. The texts are the errors' own, which never hold the token.
    """
    labels = sorted(failures)
    metadata = DotSyncMetadata(
        failed_connections=MetadataValue.json({c: str(failures[c]) for c in labels}),
        sync_error_class=MetadataValue.json({c: type(failures[c]).__name__ for c in labels}),
        sync_outcome=MetadataValue.json({c: outcome_of(failures[c]) for c in labels}),
    )
    return Failure(
        description=describe_failures(failures, selected, rerun=_RERUN), metadata=dict(metadata)
    )


__all__ = [
    "DotSyncMetadata",
    "accepted_sync",
    "accepted_sync_checks",
    "refused_sync_check",
    "sync_accepted_check_spec",
    "sync_timing",
    "syncs_failed",
]
