"""`build_dot_environment_definitions`: the one way to wire a deployment's Dot environment,
from Python or from a `DotComponent`'s `environment:` section."""

from collections.abc import Iterable, Mapping

from dagster import AssetKey, Definitions

from dot_orchestration.environments.asset import build_environment_asset
from dot_orchestration.environments.checks import build_mergeable_check
from dot_orchestration.environments.deployment import deployment_environment
from dot_orchestration.environments.jobs import build_delete_job, build_merge_job
from dot_orchestration.environments.settings import DotEnvironmentSettings


def build_dot_environment_definitions(
    settings: DotEnvironmentSettings,
    *,
    check_after: Iterable[AssetKey] = (),
    env: Mapping[str, str] | None = None,
) -> Definitions:
    """The environment asset, its `<name>_mergeable` check and the `<name>_merge` and
    `<name>_delete` jobs (names from the settings' key: `dot_environment_...`).

    In production (`mode: production`) nothing: no asset, no job, no call to Dot's
    environments API. A per-branch setting outside a branch deployment raises
    `ValueError` here, at load. `check_after` (the sync assets' keys) makes the check run
    after them in a run materializing both, so it sees what `sync_target` refreshed. `env`
    stands for the process's variables (tests). Merge it with definitions providing `dot`
    (`DotResource`).
    """
    environment = deployment_environment(settings, env)
    if environment is None:
        return Definitions()
    return Definitions(
        assets=[build_environment_asset(environment)],
        asset_checks=[build_mergeable_check(environment, tuple(check_after))],
        jobs=[build_merge_job(environment), build_delete_job(environment)],
    )


__all__ = ["build_dot_environment_definitions"]
