"""What the v1 and v2 routers share: errors in Confluence's shapes, auth, pagination."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Sequence
from datetime import datetime
from http import HTTPStatus
from typing import Any, TypeVar
from urllib.parse import quote_plus

from fastapi import Request
from fastapi.responses import JSONResponse

from dot_orchestration.emulator.clock import isoformat_z
from dot_orchestration.emulator.confluence.state import (
    ConfluenceState,
    EmulatorUser,
    PageRecord,
)

#: Where Cloud serves Confluence on a site; the emulator's `.url` ends with it.
WIKI = "/wiki"
V2_PREFIX = f"{WIKI}/api/v2"

Item = TypeVar("Item")


class ConfluenceAPIError(Exception):
    """An error answer; rendered in v1's or v2's body shape depending on the path."""

    def __init__(self, status: int, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.headers = headers or {}


def error_response(path: str, error: ConfluenceAPIError) -> JSONResponse:
    """v2 answers `{"errors": [...]}`; v1 `{"statusCode", "data", "message", "reason"}`."""
    phrase = HTTPStatus(error.status).phrase
    if path.startswith(V2_PREFIX):
        code = phrase.upper().replace(" ", "_")
        problem = {"status": error.status, "code": code, "title": phrase, "detail": error.message}
        body: dict[str, Any] = {"errors": [problem]}
    else:
        data = {"authorized": error.status not in {401, 403}, "valid": True, "errors": []}
        body = {
            "statusCode": error.status,
            "data": {**data, "successful": False},
            "message": error.message,
            "reason": phrase,
        }
    return JSONResponse(body, status_code=error.status, headers=error.headers)


def site_state(request: Request) -> ConfluenceState:
    state: ConfluenceState = request.app.state.confluence
    return state


def current_user(request: Request) -> EmulatorUser:
    """The caller, from Cloud basic auth (email:API token) or a DC bearer PAT.

    The scheme and user are left on `request.state` for the journal.
    """
    scheme, _, credentials = request.headers.get("Authorization", "").partition(" ")
    scheme = scheme.lower()
    state = site_state(request)
    user: EmulatorUser | None = None
    if scheme == "basic":
        email, _, token = _decode_basic(credentials).partition(":")
        user = state.user_by_basic(email, token)
    elif scheme == "bearer":
        user = state.user_by_pat(credentials.strip())
    request.state.auth = scheme if scheme in {"basic", "bearer"} else None
    request.state.user = user.username if user else None
    if user is None:
        raise ConfluenceAPIError(
            401,
            "Client must be authenticated to access this resource.",
            {"WWW-Authenticate": 'Basic realm="Confluence"'},
        )
    return user


def _decode_basic(credentials: str) -> str:
    try:
        return base64.b64decode(credentials.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return ""


def viewable_page(state: ConfluenceState, page_id: str, user: EmulatorUser) -> PageRecord:
    """The page, or 404 when there is none (or it is trashed), 403 when it is restricted.

    (Real Confluence often answers 404 for restricted pages too, so as not to reveal them;
    the client maps both.)
    """
    page = state.page(page_id)
    if page is None:
        raise ConfluenceAPIError(404, f"No content found with id: {page_id}")
    if not state.can_view(page, user):
        raise ConfluenceAPIError(403, f"User {user.username} cannot view content {page_id}")
    return page


def site_base(request: Request) -> str:
    """`_links.base`: the site URL as the client reached it, e.g. http://host:port/wiki."""
    return f"{str(request.base_url).rstrip('/')}{WIKI}"


def webui(page: PageRecord) -> str:
    """Cloud's page path below the site base: /spaces/KEY/pages/ID/Title+With+Plus."""
    return f"/spaces/{page.space_key}/pages/{page.id}/{quote_plus(page.title)}"


def timestamp(moment: datetime) -> str:
    """Confluence's instants: ISO 8601 in UTC with milliseconds, `2026-01-12T16:45:00.000Z`."""
    return isoformat_z(moment, timespec="milliseconds")


def encode_cursor(offset: int) -> str:
    """An opaque cursor, like Cloud's: clients must pass it back, never build one."""
    return base64.urlsafe_b64encode(f"offset:{offset}".encode()).decode().rstrip("=")


def decode_cursor(cursor: str | None) -> int:
    if not cursor:
        return 0
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        prefix, _, offset = base64.urlsafe_b64decode(padded).decode().partition(":")
        if prefix == "offset" and offset.isdigit():
            return int(offset)
    except (binascii.Error, UnicodeDecodeError):
        pass
    raise ConfluenceAPIError(400, f"Invalid cursor: {cursor}")


def window(items: Sequence[Item], offset: int, limit: int) -> tuple[list[Item], int | None]:
    """Items `offset` to `offset + limit` and the next offset (None on the last window)."""
    end = offset + limit
    return list(items[offset:end]), end if end < len(items) else None


def with_query(request: Request, **changes: str | int) -> str:
    """This request's path and query with some parameters replaced: a `next` link."""
    params = dict(request.query_params) | {key: str(value) for key, value in changes.items()}
    query = "&".join(f"{quote_plus(key)}={quote_plus(value)}" for key, value in params.items())
    return f"{request.url.path}?{query}"
