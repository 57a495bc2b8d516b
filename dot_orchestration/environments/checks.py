"""`<name>_mergeable` (`dot_environment_mergeable`): what the environment would change in
production, and whether a merge would conflict with what production changed meanwhile."""

from collections.abc import Sequence

from dagster import (
    AssetCheckExecutionContext,
    AssetCheckResult,
    AssetChecksDefinition,
    AssetCheckSeverity,
    AssetKey,
    asset_check,
)

from dot_orchestration.client import changed_files
from dot_orchestration.environments.deployment import DeploymentEnvironment
from dot_orchestration.environments.lookup import (
    EnvironmentNotFoundError,
    client_in,
    find_environment,
)
from dot_orchestration.environments.metadata import DotEnvironmentMetadata, files_table
from dot_orchestration.resources import DotResource


def build_mergeable_check(
    environment: DeploymentEnvironment, after: Sequence[AssetKey] = ()
) -> AssetChecksDefinition:
    """Diff and conflicts as metadata (the files as tables); fails, severity ERROR, on any
    conflict, on a reply it cannot read, or when the environment does not exist. In a run
    that also materializes `after` (the syncs), it runs once they are done, so its diff
    holds what `sync_target` refreshed."""
    settings = environment.settings

    @asset_check(
        asset=settings.asset_key,
        name=f"{settings.name}_mergeable",
        additional_deps=after,
        description="The files the environment changed compared to production, and the "
        "merge conflicts Dot predicts (production changed the same files since). Fails on "
        "a conflict: resolve it in the environment before merging.",
    )
    def _mergeable(context: AssetCheckExecutionContext, dot: DotResource) -> AssetCheckResult:
        try:
            with client_in(dot, None) as client:
                environment_id = find_environment(client, environment)
        except EnvironmentNotFoundError as missing:
            return AssetCheckResult(
                passed=False, severity=AssetCheckSeverity.ERROR, description=str(missing)
            )
        with client_in(dot, environment_id) as client:
            diff_reply = client.environment_diff(environment_id)
            conflicts_reply = client.environment_conflicts(environment_id)
        diff, conflicts = changed_files(diff_reply), changed_files(conflicts_reply)
        if diff is None or conflicts is None:
            unreadable = {"diff": diff_reply} if diff is None else {"conflicts": conflicts_reply}
            return AssetCheckResult(
                passed=False,
                severity=AssetCheckSeverity.ERROR,
                description=f"Dot's reply is unreadable, so mergeability is unknown: "
                f"{str(unreadable)[:300]}",
                metadata=dict(DotEnvironmentMetadata(environment_id=environment_id)),
            )
        metadata = DotEnvironmentMetadata(
            environment_id=environment_id,
            environment_name=environment.name,
            environment_changed_files=files_table(diff),
            environment_changed_count=len(diff),
            environment_conflicts=files_table(conflicts),
            environment_conflict_count=len(conflicts),
        )
        description = (
            f"{len(conflicts)} file(s) conflict with production: "
            + ", ".join(file.path for file in conflicts)
            if conflicts
            else f"{len(diff)} file(s) changed, no conflict with production"
        )
        return AssetCheckResult(
            passed=not conflicts,
            severity=AssetCheckSeverity.ERROR,
            description=description,
            metadata=dict(metadata),
        )

    return _mergeable


__all__ = ["build_mergeable_check"]
