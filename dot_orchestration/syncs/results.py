"""What a sync step reports: each connection's result as a materialization or a failed
check, and the step's Failure naming every connection that did not sync.

All metadata is under the `dot/` namespace (`DotSyncMetadata`), with `sync_` names that no
other operation uses.
"""

from collections.abc import Mapping

from dagster import (
    AssetCheckResult,
    AssetCheckSpec,
    AssetKey,
    Failure,
    JsonMetadataValue,
    MaterializeResult,
    MetadataValue,
)

from dot_orchestration._compat import NamespacedMetadataSet
from dot_orchestration.client import DotError, SyncAccepted
from dot_orchestration.syncing import describe_failures, outcome_of
from dot_orchestration.syncs.translator import SYNC_ACCEPTED_CHECK

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
        description="Dot accepted this run's sync call (a 2xx, retries included). When it "
        "fails, its description holds Dot's answer; the asset's description says what to do.",
    )


def accepted_sync(
    key: AssetKey, accepted: SyncAccepted, seconds: float, *, checked: bool
) -> MaterializeResult:
    """What Dot said, and nothing guessed: Dot documents no web page per connection, so
    no link is shown, and `dot/sync_response` is whatever 2xx body Dot sent (often empty)."""
    timing = DotSyncMetadata(sync_duration_s=round(seconds, 3), sync_attempts=accepted.attempts)
    check = AssetCheckResult(
        asset_key=key, check_name=SYNC_ACCEPTED_CHECK, passed=True, metadata=dict(timing)
    )
    metadata = DotSyncMetadata(
        connection=f"{accepted.connection_type}/{accepted.connection_id}",
        sync_response=MetadataValue.json(accepted.response or {}),
        sync_duration_s=timing.sync_duration_s,
        sync_attempts=timing.sync_attempts,
    )
    return MaterializeResult(
        asset_key=key, metadata=dict(metadata), check_results=[check] if checked else None
    )


def refused_sync_check(key: AssetKey, error: DotError) -> AssetCheckResult:
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
    return AssetCheckResult(
        asset_key=key,
        check_name=SYNC_ACCEPTED_CHECK,
        passed=False,
        description=f"{heading}: {error}",
        metadata=dict(metadata),
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
    "refused_sync_check",
    "sync_accepted_check_spec",
    "syncs_failed",
]
