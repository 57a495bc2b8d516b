"""`POST /api/sync/{connection_type}/{connection_id}`: re-read a connection's metadata.

Role: admin, as Dot's permissions page has it (Connections: admin only; "Trigger and
schedule connection syncs" is a modeler permission an admin may grant, off by default:
`EmulatorConfig.modelers_may_sync`). URL auth allowed: dbt Cloud webhooks cannot
set headers. Any connection type is taken, as in Dot's spec (a plain string); Dot's docs
list eight. Each accepted call is recorded in `state.sync_log` as it arrives, then the
answer waits `sync_delay_s` (a slow warehouse): a client that times out meanwhile has
still synced once. Dot documents no reply body and never reports completion: the default
profile answers `{}`, the strict profile `null` (the spec's empty schema).
"""

import asyncio
from typing import Any

from dot_orchestration.emulator.auth import ModelerUrlCaller, StateDep
from dot_orchestration.emulator.clock import utcnow
from dot_orchestration.emulator.config import ConnectionRef
from dot_orchestration.emulator.errors import Forbidden, NotFound
from dot_orchestration.emulator.models import Role
from dot_orchestration.emulator.routers.base import dot_router
from dot_orchestration.emulator.state import SyncRecord

router = dot_router("sync")


@router.post(
    "/sync/{connection_type}/{connection_id}", summary="Sync connection with an API token."
)
async def sync_connection(
    connection_type: str, connection_id: str, caller: ModelerUrlCaller, state: StateDep
) -> dict[str, Any] | None:
    """Accept a sync, log it, take `sync_delay_s`, answer `{}` (strict: `null`).

    Unknown connections are a 404 when the emulator was configured with
    `known_connections` (a guess: Dot documents no error for them).
    """
    if caller.user.role is Role.modeler and not state.config.modelers_may_sync:
        raise Forbidden(
            f"Syncing connections needs the admin role; {caller.user.email} is a modeler "
            "without the 'Trigger and schedule connection syncs' permission"
        )
    known = state.config.known_connections
    if known is not None and ConnectionRef(type=connection_type, id=connection_id) not in known:
        raise NotFound(f"Connection {connection_type}/{connection_id} not found")
    state.record_sync(
        SyncRecord(
            connection_type=connection_type,
            connection_id=connection_id,
            timestamp=utcnow(),
            environment=caller.environment,
            user=caller.user.email,
            auth=caller.method.value,
        )
    )
    await asyncio.sleep(state.config.sync_delay_s)
    return None if state.config.strict else {}
