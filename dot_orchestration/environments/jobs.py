"""The merge and delete jobs: launched by a person, never by a schedule or sensor, and
each refuses to call Dot unless its run config says `confirm: true`.

A merge also refuses while Dot predicts a conflict (or its prediction is unreadable):
Dot's docs say conflicts are predicted before a merge, not what a merge does with them.
"""

from collections.abc import Callable

from dagster import Config, Failure, JobDefinition, OpExecutionContext, job, op
from pydantic import Field

from dot_orchestration.client import DotClient, changed_files
from dot_orchestration.environments.deployment import DeploymentEnvironment
from dot_orchestration.environments.lookup import client_in, find_environment
from dot_orchestration.environments.metadata import DotEnvironmentMetadata, reply_json
from dot_orchestration.resources import DotResource


class ConfirmConfig(Config):
    """The run config of the merge and delete jobs."""

    confirm: bool = Field(
        default=False, description="Must be true: the job changes production or deletes."
    )


def build_merge_job(environment: DeploymentEnvironment) -> JobDefinition:
    """`<name>_merge`: merges the environment into production."""

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
        reply = client.merge_environment(environment_id)
        return DotEnvironmentMetadata(environment_response=reply_json(reply))

    return _confirmed_job(environment, "merge", "Merges the environment into production.", merge)


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
