"""Finding a deployment's environment in Dot at run time, and clients that address it.

A per-branch environment is known by name until Dot gives it an id, so every step looks it
up in Dot's list (`GET /api/environments`, org-wide: it never carries the header). Only
the `dot/environment` asset creates it; the check, the syncs and the jobs refuse to run
before it exists instead of creating it as a side effect.
"""

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass

from dot_orchestration.client import DotClient
from dot_orchestration.client._environments import environment_names
from dot_orchestration.environments.deployment import (
    DeploymentEnvironment,
    deployment_environment,
)
from dot_orchestration.environments.settings import DotEnvironmentSettings
from dot_orchestration.resources import DotResource


class EnvironmentNotFoundError(LookupError):
    """The deployment's environment is not among Dot's (not created yet, or deleted)."""


class UnreadableEnvironmentsError(RuntimeError):
    """Dot's list of environments has a shape this package cannot read: nothing can be
    found in it, and nothing is created blindly."""


@contextmanager
def client_in(dot: DotResource, environment_id: str | None) -> Iterator[DotClient]:
    """A client of `dot` whose calls carry `X-Dot-Environment: environment_id` (none when
    None, whatever `dot.environment` or `dot.environment_name` say: for the listing and
    the create)."""
    update = {"environment": environment_id, "environment_name": None}
    with dot.model_copy(update=update).get_client() as client:
        yield client


def scoped_dot_resource(
    dot: DotResource, settings: DotEnvironmentSettings, *, env: Mapping[str, str] | None = None
) -> DotResource:
    """`dot` addressing the deployment's environment, for the operations that know nothing
    of environments (notes, catalogue, questions): their calls carry the header, while the
    history export stays org-wide (the client never scopes it).

    A fixed environment by its id (checked when a run sets the resource up); a per-branch
    one by its name, looked up whenever a client is made, since its id exists only once
    `dot/environment` created it: before that, those operations fail naming it instead of
    writing to production. Production: `dot` as it is. `env` as for
    `build_dot_environment_definitions` (a per-branch setting outside a branch deployment
    raises `ValueError`).
    """
    environment = deployment_environment(settings, env)
    if environment is None:
        return dot
    update = {"environment": environment.environment_id, "environment_name": environment.name}
    # Constructed, not `model_copy`-ed: Dagster rebuilds a resource from the config it
    # recorded at construction, which a copy's update never reaches. Iterating the model
    # keeps `EnvVar`s as references.
    return type(dot)(**{**dict(dot), **update})


def listed_environments(client: DotClient) -> dict[str, str]:
    """Dot's environments, by id, name and slug → id (`UnreadableEnvironmentsError`)."""
    listed = client.list_environments()
    names = environment_names(listed)
    if names is None:
        raise UnreadableEnvironmentsError(
            f"Dot's list of environments is unreadable (received {str(listed)[:200]!r}); "
            "the deployment's environment cannot be found in it"
        )
    return names


def find_environment(client: DotClient, environment: DeploymentEnvironment) -> str:
    """The id of the deployment's environment; `EnvironmentNotFoundError` when Dot does not
    list it (a fixed id is checked too: a typo must not address production)."""
    names = listed_environments(client)
    found = _match(names, environment)
    if found is None:
        raise _not_found(names, environment)
    return found


@dataclass(frozen=True)
class FoundEnvironment:
    """The deployment's environment as Dot lists it, and whether this run created it."""

    id: str
    name: str
    created: bool = False


def find_or_create_environment(
    client: DotClient, environment: DeploymentEnvironment
) -> FoundEnvironment:
    """The deployment's environment; only a per-branch one is created when missing (the
    create is verified by listing, and never re-sent)."""
    names = listed_environments(client)
    found = _match(names, environment)
    if found is not None:
        return FoundEnvironment(found, _name_of(names, found, environment))
    if environment.name is None:
        raise _not_found(names, environment)
    created = client.create_environment(environment.name, color=environment.settings.color)
    return FoundEnvironment(created, environment.name, created=True)


def _not_found(
    names: dict[str, str], environment: DeploymentEnvironment
) -> EnvironmentNotFoundError:
    known = ", ".join(sorted(set(names.values()))) or "none"
    hint = (
        "materialize the environment asset first"
        if environment.name
        else "check `environment_id` (Dot's Manage environments shows the ids)"
    )
    return EnvironmentNotFoundError(
        f"Dot has no environment {environment.label!r} (it lists {known}); {hint}"
    )


def _name_of(names: dict[str, str], environment_id: str, environment: DeploymentEnvironment) -> str:
    """The per-branch name, else the first name Dot lists for the id, else the id."""
    if environment.name is not None:
        return environment.name
    return next(
        (key for key, value in names.items() if value == environment_id and key != value),
        environment_id,
    )


def _match(names: dict[str, str], environment: DeploymentEnvironment) -> str | None:
    """The environment's id among `names`: a fixed id must be an id, a name any name."""
    if environment.environment_id is not None:
        return environment.environment_id if environment.environment_id in names.values() else None
    return names.get(environment.name or "")


__all__ = [
    "EnvironmentNotFoundError",
    "FoundEnvironment",
    "UnreadableEnvironmentsError",
    "client_in",
    "find_environment",
    "find_or_create_environment",
    "listed_environments",
    "scoped_dot_resource",
]
