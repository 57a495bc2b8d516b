"""`POST /api/sync/{connection_type}/{connection_id}`: re-read a connection's metadata.

Role: modeler (syncing changes Dot's model). URL auth allowed: dbt Cloud webhooks cannot
set headers. Dot answers `{}` and never reports completion; the emulator records each
accepted call in `state.sync_log`.
"""

from typing import Any

from dot_orchestration.emulator.auth import ModelerUrlCaller, StateDep
from dot_orchestration.emulator.clock import utcnow
from dot_orchestration.emulator.config import ConnectionRef
from dot_orchestration.emulator.errors import NotFound
from dot_orchestration.emulator.models import ConnectionType
from dot_orchestration.emulator.routers.base import dot_router
from dot_orchestration.emulator.state import SyncRecord

router = dot_router("sync")


@router.post(
    "/sync/{connection_type}/{connection_id}", summary="Sync connection with an API token."
)
async def sync_connection(
    connection_type: ConnectionType, connection_id: str, caller: ModelerUrlCaller, state: StateDep
) -> dict[str, Any]:
    """Accept a sync and log it; answers `{}` like Dot.

    Unknown connection types are a 422 (the path parameter is an enum); unknown connections
    are a 404 when the emulator was configured with `known_connections`.
    """
    known = state.config.known_connections
    if known is not None and ConnectionRef(type=connection_type, id=connection_id) not in known:
        raise NotFound(f"Connection {connection_type.value}/{connection_id} not found")
    state.record_sync(
        SyncRecord(
            connection_type=connection_type.value,
            connection_id=connection_id,
            timestamp=utcnow(),
            environment=caller.environment,
            user=caller.user.email,
            auth=caller.method.value,
        )
    )
    return {}
