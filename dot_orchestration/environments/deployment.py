"""Which environment this deployment addresses, decided once at definition load from the
settings and the deployment's variables (Dagster+ sets them in branch deployments).

Deciding at load, not in a run, is the safety: a per-branch setting loaded by a
deployment that is no branch deployment fails before any definition (or any merge or
delete job) exists, naming the variables it saw.
"""

import os
from collections.abc import Mapping
from dataclasses import dataclass, field

from dot_orchestration.environments.settings import DotEnvironmentSettings, placeholders

#: What Dagster+ sets in a branch deployment (and what the load error shows).
BRANCH_DEPLOYMENT_VARIABLES = (
    "DAGSTER_CLOUD_IS_BRANCH_DEPLOYMENT",
    "DAGSTER_CLOUD_GIT_BRANCH",
    "DAGSTER_CLOUD_PULL_REQUEST_ID",
)


@dataclass(frozen=True)
class DeploymentEnvironment:
    """The Dot environment of one deployment: known by id (`fixed`) or by the name it is
    found or created under (`per_branch`), never both."""

    settings: DotEnvironmentSettings
    environment_id: str | None = None
    name: str | None = None
    #: The settings' targets, a per-branch one's `{branch}` and `{pull_request_id}` filled.
    targets: dict[str, dict[str, str]] = field(default_factory=dict)

    @property
    def label(self) -> str:
        """How messages name it: its name, else its id."""
        return self.name or self.environment_id or ""


def is_branch_deployment(env: Mapping[str, str]) -> bool:
    """Whether Dagster+ says this is a branch deployment (`1` or `true`)."""
    return env.get("DAGSTER_CLOUD_IS_BRANCH_DEPLOYMENT", "").strip().lower() in {"1", "true"}


def deployment_environment(
    settings: DotEnvironmentSettings, env: Mapping[str, str] | None = None
) -> DeploymentEnvironment | None:
    """The environment `settings` address in a deployment whose variables are `env`
    (default: this process's); None in production.

    `ValueError` for a per-branch setting with no explicit `branch` outside a branch
    deployment (or in one that names no branch), naming the variables seen.
    """
    if settings.mode == "production":
        return None
    if settings.mode == "fixed":
        return DeploymentEnvironment(
            settings, environment_id=settings.environment_id, targets=settings.targets
        )
    env = os.environ if env is None else env
    seen = ", ".join(f"{name}={env.get(name)!r}" for name in BRANCH_DEPLOYMENT_VARIABLES)
    branch = settings.branch
    if branch is None and is_branch_deployment(env):
        branch = env.get("DAGSTER_CLOUD_GIT_BRANCH", "").strip() or None
    if branch is None:
        raise ValueError(
            "Dot environment mode 'per_branch' outside a branch deployment: refusing to load, "
            f"so that this deployment cannot work in a branch's environment ({seen}). Use "
            "mode 'production' here, set `branch` for a local dev target, or load it in a "
            "Dagster+ branch deployment (DAGSTER_CLOUD_IS_BRANCH_DEPLOYMENT=1 with "
            "DAGSTER_CLOUD_GIT_BRANCH)."
        )
    values = {"branch": branch, "pull_request_id": env.get("DAGSTER_CLOUD_PULL_REQUEST_ID", "")}
    targets = {
        connection: {key: _fill(value, values, seen) for key, value in fields.items()}
        for connection, fields in settings.targets.items()
    }
    name = settings.name_template.format(branch=branch)
    return DeploymentEnvironment(settings, name=name, targets=targets)


def _fill(template: str, values: Mapping[str, str], seen: str) -> str:
    """A target value with its placeholders filled; refused when one has no value."""
    empty = sorted(name for name in placeholders(template) if not values[name].strip())
    if empty:
        raise ValueError(
            f"Dot environment target {template!r} names {', '.join(empty)}, which this "
            f"deployment does not set ({seen})"
        )
    return template.format(**values)


__all__ = [
    "BRANCH_DEPLOYMENT_VARIABLES",
    "DeploymentEnvironment",
    "deployment_environment",
    "is_branch_deployment",
]
