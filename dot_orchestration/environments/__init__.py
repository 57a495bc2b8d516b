"""Dot environments for Dagster deployments: a branch deployment (or a local dev target)
works in its own Dot environment, pointed at the dev schema, checked and merged on release.

Start with `build_dot_environment_definitions(DotEnvironmentSettings(mode="per_branch",
targets={...}))`; the modules hold one concern each: `settings` (which environment),
`deployment` (decided at load from the deployment's variables), `lookup` (found or created
in Dot at run time), `asset`, `checks`, `jobs` (merge and delete, confirmed), `metadata`,
`definitions` (the wiring). The calls are the client's (`DotClient.create_environment`...).
`scoped_dot_resource(dot, settings)` is the `dot` resource for everything else (notes,
catalogue, questions): their calls carry the environment's header, the history export none.
"""

from dot_orchestration.environments.dbt_targets import with_dbt_targets
from dot_orchestration.environments.definitions import build_dot_environment_definitions
from dot_orchestration.environments.deployment import (
    BRANCH_DEPLOYMENT_VARIABLES,
    DeploymentEnvironment,
    deployment_environment,
    is_branch_deployment,
)
from dot_orchestration.environments.jobs import ConfirmConfig
from dot_orchestration.environments.lookup import (
    EnvironmentNotFoundError,
    UnreadableEnvironmentsError,
    scoped_dot_resource,
)
from dot_orchestration.environments.metadata import DotEnvironmentMetadata
from dot_orchestration.environments.settings import DotEnvironmentSettings, EnvironmentMode

__all__ = [
    "BRANCH_DEPLOYMENT_VARIABLES",
    "ConfirmConfig",
    "DeploymentEnvironment",
    "DotEnvironmentMetadata",
    "DotEnvironmentSettings",
    "EnvironmentMode",
    "EnvironmentNotFoundError",
    "UnreadableEnvironmentsError",
    "build_dot_environment_definitions",
    "deployment_environment",
    "is_branch_deployment",
    "scoped_dot_resource",
    "with_dbt_targets",
]
