"""The merge and delete jobs: launched by a person, never by a schedule or sensor, and
each refuses to call Dot unless its run config says `confirm: true`.

A merge also refuses while Dot predicts a conflict (or its prediction is unreadable):
Dot's docs say conflicts are predicted before a merge, not what a merge does with them.
Its reply is undocumented too, so the merge is verified by the diff: none of the files
the environment changed may still differ from production afterwards.
"""

from collections.abc import Callable

from dagster import Config, Failure, JobDefinition, OpExecutionContext, job, op
from pydantic import Field

from dot_orchestration.client import (
    ChangedFile,
    DotClient,
    DotEffectNotObservedError,
    changed_files,
)
from dot_orchestration.environments.deployment import DeploymentEnvironment
from dot_orchestration.environments.lookup import client_in, find_environment
from dot_orchestration.environments.metadata import (
    DotEnvironmentMetadata,
    files_table,
    reply_json,
)
from dot_orchestration.resources import DotResource


class ConfirmConfig(Config):
    """The run config of the merge and delete jobs."""

    confirm: bool = Field(
        default=False, description="Must be true: the job changes production or deletes."
    )


def build_merge_job(environment: DeploymentEnvironment) -> JobDefinition:
    """`<name>_merge`: merges the environment into production, then checks that none of
    the files it changed still differs from production (Dot documents no merge reply)."""

    def merge(client: DotClient, environment_id: str) -> DotEnvironmentMetadata:
        conflicts = changed_files(client.environment_conflicts(environment_id))
        if conflicts is None or conflicts:
            raise Failure(
                f"not merging {environment.label!r}: "
                + (
                    "Dot's conflicts reply is unreadable"
                    if conflicts is None
                    else "it conflicts with production in " + ", ".join(f.path for f in conflicts)
                )
                + "; resolve in the environment, then run the job again"
            )
        before = _diff(client, environment_id)
        reply = client.merge_environment(environment_id)
        after = _diff(client, environment_id)
        left = sorted({file.path for file in before} & {file.path for file in after})
        if left:
            raise DotEffectNotObservedError(
                f"merge of {environment.label!r}: Dot accepted it, but {', '.join(left)} still "
                "differ from production; look at the environment in Dot before merging again",
                expected=dict.fromkeys(left, "merged"),
                observed=dict.fromkeys(left, "changed"),
            )
        return DotEnvironmentMetadata(
            environment_changed_files=files_table(before),
            environment_changed_count=len(before),
            environment_response=reply_json(reply),
        )

    return _confirmed_job(environment, "merge", "Merges the environment into production.", merge)


def _diff(client: DotClient, environment_id: str) -> tuple[ChangedFile, ...]:
    """The environment's changed files; a Failure when Dot's reply is unreadable."""
    reply = client.environment_diff(environment_id)
    files = changed_files(reply)
    if files is None:
        raise Failure(f"Dot's diff reply is unreadable: {str(reply)[:300]}")
    return files


def build_delete_job(environment: DeploymentEnvironment) -> JobDefinition:
    """`<name>_delete`: deletes the environment (verified: Dot no longer lists it)."""

    def delete(client: DotClient, environment_id: str) -> DotEnvironmentMetadata:
        client.delete_environment(environment_id)
        return DotEnvironmentMetadata()

    return _confirmed_job(environment, "delete", "Deletes the environment in Dot.", delete)


def _confirmed_job(
    environment: DeploymentEnvironment,
    action: str,
    description: str,
    call: Callable[[DotClient, str], DotEnvironmentMetadata],
) -> JobDefinition:
    """A one-op job running `call` in the environment once the run config confirms it."""
    name = f"{environment.settings.name}_{action}"

    @op(name=name, description=description, tags={"dot/operation": f"environment_{action}"})
    def _op(context: OpExecutionContext, config: ConfirmConfig, dot: DotResource) -> None:
        if not config.confirm:
            raise Failure(
                f"refusing to {action} Dot environment {environment.label!r}: the run config "
                f"must say `ops: {{{name}: {{config: {{confirm: true}}}}}}`"
            )
        with client_in(dot, None) as client:
            environment_id = find_environment(client, environment)
        with client_in(dot, environment_id) as client:
            metadata = call(client, environment_id)
        context.log.info(f"Dot environment {environment.label!r} ({environment_id}): {action}d")
        context.add_output_metadata(
            dict(metadata.model_copy(update={"environment_id": environment_id}))
        )

    @job(name=name, description=f"{description} Needs `confirm: true` in the run config.")
    def _job() -> None:
        _op()

    return _job


__all__ = ["ConfirmConfig", "build_delete_job", "build_merge_job"]
