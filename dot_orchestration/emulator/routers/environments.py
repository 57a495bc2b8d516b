"""Dot's environments API (docs: Environments, "For coding agents: CLI & API").

Documented routes and bodies: list, create `{name, color, source_env_id}`, diff, conflicts,
`PUT .../targets`, `POST .../sync_target`, merge `{"confirm": true}`, delete
`?confirm=true`. Role: modeler ("Environments are available to admins and modelers"; a
user token gets 403); merging needs an admin ("Modelers need the 'Can merge changes to
production' permission", off here). The model logic lives in `emulator/environments.py`.

Reply shapes are not documented; every one below is a guess listed in docs/ARCHITECTURE.md.
The list holds `{id, name}` (default: also color, source, targets, syncs), production left
out (it is the absence of `X-Dot-Environment`). A diff is `{"files": [{path, status}]}`,
conflicts `{"conflicts": [{path, production, environment}]}` in both profiles; the writes
answer the environment (create, targets, sync_target), `{"merged": [paths]}` and
`{"deleted": id}`, and `null` in the strict profile. A missing confirmation is a 400, a
merge with conflicts a 409 naming the files, a taken name a 409.
"""

from typing import Annotated, Any

from fastapi import Body, Query
from pydantic import BaseModel

from dot_orchestration.emulator.auth import AdminCaller, ModelerCaller, StateDep
from dot_orchestration.emulator.clock import utcnow
from dot_orchestration.emulator.errors import BadRequest
from dot_orchestration.emulator.routers.base import dot_router

router = dot_router("environments")


class CreateEnvironmentBody(BaseModel):
    """Body of `POST /api/environments` (documented: `{"name", "color", "source_env_id"}`)."""

    name: str
    color: str | None = None
    source_env_id: str | None = None


class MergeBody(BaseModel):
    """Body of `POST /api/environments/{id}/merge` (documented: `{"confirm": true}`)."""

    confirm: bool = False


@router.get("/environments", summary="List Environments")
async def list_environments(caller: ModelerCaller, state: StateDep) -> list[dict[str, Any]]:
    """Every environment but production (strict: `{id, name}` only)."""
    environments = state.environments.all()
    if state.config.strict:
        return [{"id": env.id, "name": env.name} for env in environments]
    return [env.public() for env in environments]


@router.post("/environments", summary="Create Environment")
async def create_environment(
    body: CreateEnvironmentBody, caller: ModelerCaller, state: StateDep
) -> dict[str, Any] | None:
    """Fork production (or `source_env_id`) into a new environment."""
    environment = state.environments.create(body.name, body.color, body.source_env_id)
    return None if state.config.strict else environment.public()


@router.get("/environments/{environment_id}/diff", summary="Environment Diff")
async def environment_diff(
    environment_id: str, caller: ModelerCaller, state: StateDep
) -> dict[str, Any]:
    """Every file the environment changed compared to production."""
    changed = state.environments.diff(environment_id)
    return {"files": [{"path": path, "status": status} for path, status in changed.items()]}


@router.get("/environments/{environment_id}/conflicts", summary="Environment Conflicts")
async def environment_conflicts(
    environment_id: str, caller: ModelerCaller, state: StateDep
) -> dict[str, Any]:
    """The files production changed too since the environment forked, differently."""
    conflicts = state.environments.conflicts(environment_id)
    return {
        "conflicts": [
            {"path": path, "production": production, "environment": ours}
            for path, (production, ours) in conflicts.items()
        ]
    }


@router.put("/environments/{environment_id}/targets", summary="Set Environment Targets")
async def set_environment_targets(
    environment_id: str,
    targets: Annotated[dict[str, Any], Body()],
    caller: ModelerCaller,
    state: StateDep,
) -> dict[str, Any] | None:
    """Replace the warehouse target overrides with the body, kept as sent."""
    environment = state.environments.get(environment_id)
    environment.targets = targets
    return None if state.config.strict else environment.public()


@router.post("/environments/{environment_id}/sync_target", summary="Sync Environment Target")
async def sync_environment_target(
    environment_id: str, caller: ModelerCaller, state: StateDep
) -> dict[str, Any] | None:
    """Record a sync from the dev target; 400 when the environment has no targets."""
    environment = state.environments.get(environment_id)
    if not environment.targets:
        raise BadRequest(f"Environment {environment_id} has no warehouse targets to sync from")
    environment.target_syncs += 1
    environment.last_synced_at = utcnow()
    return None if state.config.strict else environment.public()


@router.post("/environments/{environment_id}/merge", summary="Merge Environment")
async def merge_environment(
    environment_id: str, body: MergeBody, caller: AdminCaller, state: StateDep
) -> dict[str, Any] | None:
    """Write the environment's changes into production (400 unconfirmed, 409 conflicts)."""
    if not body.confirm:
        raise BadRequest('Merging to production needs {"confirm": true}')
    merged = state.environments.merge(environment_id)
    return None if state.config.strict else {"merged": merged}


@router.delete("/environments/{environment_id}", summary="Delete Environment")
async def delete_environment(
    environment_id: str,
    caller: ModelerCaller,
    state: StateDep,
    confirm: Annotated[bool, Query(description="must be true")] = False,
) -> dict[str, Any] | None:
    """Remove the environment and its model (400 without `confirm=true`)."""
    if not confirm:
        raise BadRequest("Deleting an environment needs ?confirm=true")
    deleted = state.environments.delete(environment_id)
    return None if state.config.strict else {"deleted": deleted.id}
