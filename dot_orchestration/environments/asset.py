"""The `dot/environment` asset: the deployment's environment exists and reads the dev
target. Materializing it again finds the environment (no second create) and sets the same
targets, so it is safe to run on every deploy of the branch."""

from dagster import AssetExecutionContext, AssetsDefinition, MaterializeResult, asset

from dot_orchestration.environments.deployment import DeploymentEnvironment
from dot_orchestration.environments.lookup import client_in, find_or_create_environment
from dot_orchestration.environments.metadata import DotEnvironmentMetadata, dot_web_url, reply_json
from dot_orchestration.resources import DotResource


def build_environment_asset(environment: DeploymentEnvironment) -> AssetsDefinition:
    """Finds (by name or id) or creates the environment, then sets its warehouse targets."""
    settings = environment.settings

    @asset(
        key=settings.asset_key,
        group_name=settings.group_name,
        kinds={"dot"},
        tags={"dot/operation": "environment"},
        description=f"The Dot environment {environment.label!r} this deployment works in, "
        "created from production when missing, its warehouse targets pointed at the dev "
        "target. Merge it with the `*_merge` job (run config `confirm: true`).",
    )
    def _environment(context: AssetExecutionContext, dot: DotResource) -> MaterializeResult:
        with client_in(dot, None) as client:  # listing and create: org-wide calls
            found = find_or_create_environment(client, environment)
        context.log.info(
            f"Dot environment {found.name!r} ({found.id}) "
            + ("created" if found.created else "found")
        )
        metadata = DotEnvironmentMetadata(
            environment_id=found.id,
            environment_name=found.name,
            environment_created=found.created,
            environment_url=dot_web_url(dot),
        )
        if environment.targets:
            with client_in(dot, found.id) as client:
                reply = client.set_environment_targets(found.id, environment.targets)
            metadata = metadata.model_copy(
                update={
                    "environment_targets": reply_json(environment.targets),
                    "environment_response": reply_json(reply),
                }
            )
        return MaterializeResult(metadata=dict(metadata))

    return _environment


__all__ = ["build_environment_asset"]
