"""`GET /api/environments`: the environments of the org (docs: Environments, "List
environments"), for callers that check an `X-Dot-Environment` id before using it.

Role: modeler ("Environments are available to admins and modelers"); a user token gets 403.
Dot documents the route, not its reply: the emulator answers a JSON list of
`{"id", "name"}`, production not included (it is the absence of the header). The rest of
Dot's environments API (create, diff, merge, ...) is not emulated here.
"""

from typing import Any

from dot_orchestration.emulator.auth import ModelerCaller, StateDep
from dot_orchestration.emulator.routers.base import dot_router

router = dot_router("environments")


@router.get("/environments", summary="List Environments")
async def list_environments(caller: ModelerCaller, state: StateDep) -> list[dict[str, Any]]:
    """Every environment but production."""
    return [{"id": environment, "name": environment} for environment in state.config.environments]
