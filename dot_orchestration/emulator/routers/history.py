"""`GET /api/export_history`: every conversation of a date window, with its messages.

Role: admin (the export holds every user's questions and Dot's auto-review of them). URL
auth allowed. The response is a JSON list of conversation objects (shape: see
`dot_orchestration.emulator.conversation`), streamed day by day so a year of history never
sits in memory as one structure.

Documented: `start_date`, `end_date`; chat history is shared across environments, tagged
with the environment, so `X-Dot-Environment` does not narrow the export (both profiles).
Guessed: that an export covers the caller's workspace, and the `include_all_workspaces`
parameter widening it (no Dot document has it). **Strict profile**: that parameter does not
exist (ignored, as FastAPI ignores unknown query parameters) and the auto-review verdict is
the label alone.
"""

import json
import re
from collections.abc import Iterator
from datetime import date, timedelta
from typing import Annotated

from fastapi import Query
from fastapi.responses import StreamingResponse
from pydantic import BeforeValidator

from dot_orchestration.emulator.auth import AdminUrlCaller, StateDep
from dot_orchestration.emulator.clock import utc_today
from dot_orchestration.emulator.conversation import Chat
from dot_orchestration.emulator.errors import BadRequest
from dot_orchestration.emulator.routers.base import dot_router

router = dot_router("history")

_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


def _calendar_date_text(value: object) -> object:
    """Dot documents `YYYY-MM-DD`; pydantic alone would also take datetimes and timestamps."""
    if isinstance(value, str) and not _ISO_DATE.fullmatch(value):
        raise ValueError("Dates must be formatted YYYY-MM-DD")
    return value


IsoDate = Annotated[date, BeforeValidator(_calendar_date_text)]


@router.get("/export_history", summary="Get all historical chat messages.")
async def export_history(
    caller: AdminUrlCaller,
    state: StateDep,
    start_date: Annotated[
        IsoDate | None, Query(description="by default two weeks ago, format YYYY-MM-DD")
    ] = None,
    end_date: Annotated[
        IsoDate | None, Query(description="by default tomorrow, format YYYY-MM-DD")
    ] = None,
    include_all_workspaces: bool = False,
) -> StreamingResponse:
    """Conversations started in `[start_date, end_date)` (UTC days, end exclusive).

    Every environment's; only the caller's workspace unless `include_all_workspaces`
    (default profile only).
    """
    today = utc_today()
    start = start_date or today - timedelta(days=14)
    end = end_date or today + timedelta(days=1)
    if start > end:
        raise BadRequest("start_date must not be after end_date")
    strict = state.config.strict
    everyone = include_all_workspaces and not strict
    days = state.conversations(start, end, workspace=None if everyone else caller.user.workspace)
    return StreamingResponse(_json_array(days, strict=strict), media_type="application/json")


def _json_array(days: Iterator[list[Chat]], *, strict: bool) -> Iterator[bytes]:
    """Serialise day after day into one JSON array, one chunk per day."""
    yield b"["
    separator = b""
    for chats in days:
        if not chats:
            continue
        records = ",".join(
            json.dumps(chat.export_record(strict=strict), separators=(",", ":")) for chat in chats
        )
        yield separator + records.encode()
        separator = b","
    yield b"]"
