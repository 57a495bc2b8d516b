"""`create_app`: the emulator's FastAPI application.

Dot's API is a FastAPI app; so is the emulator, with the same paths, body models and
therefore the same 422 bodies and OpenAPI shapes. The API routers are mounted under `/api`
(one per domain), the control plane under `/_emulator` (hidden from the OpenAPI schema).
"""

from typing import cast

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from starlette.types import Receive, Scope, Send

from dot_orchestration import __version__
from dot_orchestration.emulator.config import EmulatorConfig
from dot_orchestration.emulator.errors import EmulatorError, Unauthorized
from dot_orchestration.emulator.middleware import DROP_SCOPE_KEY, EmulatorMiddleware
from dot_orchestration.emulator.routers import API_ROUTERS, control
from dot_orchestration.emulator.state import EmulatorState

_DESCRIPTION = (
    "A local emulator of Dot's API (getdot.ai) for development and tests. "
    "Authenticate with `X-API-KEY: dot-emulator-admin` (or -modeler, -user)."
)
# What the ASGI call returns to make uvicorn close the socket (see `EmulatorApp`).
_DROP_CONNECTION = "connection dropped by an injected fault"


class EmulatorApp(FastAPI):
    """The emulator's FastAPI app; its ASGI call can end by dropping the connection.

    ASGI has no message for "close the socket without answering". uvicorn (the emulator's
    server) closes the transport without writing anything when an application returns a
    value other than None, and logs that value; the `drop` fault uses exactly that.
    """

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await super().__call__(scope, receive, send)
        if scope.get(DROP_SCOPE_KEY):
            return cast(None, _DROP_CONNECTION)


async def _refusal(request: Request, exc: EmulatorError) -> JSONResponse:
    """A domain refusal as FastAPI's `HTTPException` would render it."""
    headers = {"WWW-Authenticate": "APIKey"} if isinstance(exc, Unauthorized) else None
    return JSONResponse({"detail": exc.detail}, status_code=exc.status_code, headers=headers)


def create_app(config: EmulatorConfig | None = None) -> FastAPI:
    """A new emulator app with its own state (`app.state.emulator`) seeded from `config`."""
    state = EmulatorState(config or EmulatorConfig())
    # strict_content_type=False: Dot's 2024 FastAPI parsed JSON bodies sent without a
    # Content-Type header (curl -d), so the emulator does too.
    app = EmulatorApp(
        title="Dot API (emulator)",
        version=__version__,
        description=_DESCRIPTION,
        strict_content_type=False,
    )
    app.state.emulator = state
    api_routes = [route for router in API_ROUTERS for route in router.routes]
    app.add_middleware(EmulatorMiddleware, state=state, routes=api_routes)
    app.add_exception_handler(EmulatorError, _refusal)  # type: ignore[arg-type]
    for router in API_ROUTERS:
        app.include_router(router)
    app.include_router(control.router)
    return app
