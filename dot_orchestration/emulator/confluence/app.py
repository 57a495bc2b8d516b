"""The Confluence emulator as one FastAPI app: v2 and v1 under `/wiki`, a control plane
under `/_emulator`, fault injection and a journal of every Confluence call."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from fastapi import FastAPI, Request, Response
from fastapi.exceptions import RequestValidationError

from dot_orchestration.emulator.confluence import control, v1, v2
from dot_orchestration.emulator.confluence._api import (
    ConfluenceAPIError,
    error_response,
    site_state,
)
from dot_orchestration.emulator.confluence.state import ConfluenceEmulatorConfig, ConfluenceState


def create_confluence_app(config: ConfluenceEmulatorConfig | None = None) -> FastAPI:
    """A new emulated site; its live state is `app.state.confluence`."""
    app = FastAPI(title="Confluence emulator", docs_url=None, redoc_url=None)
    app.state.confluence = ConfluenceState(config)
    app.include_router(v2.router)
    app.include_router(v1.router)
    app.include_router(control.router)
    app.add_exception_handler(ConfluenceAPIError, _api_error)  # type: ignore[arg-type]
    app.add_exception_handler(RequestValidationError, _invalid_request)  # type: ignore[arg-type]
    app.middleware("http")(_faults_and_journal)
    return app


async def _api_error(request: Request, error: ConfluenceAPIError) -> Response:
    return error_response(request.url.path, error)


async def _invalid_request(request: Request, error: RequestValidationError) -> Response:
    """Confluence answers a bad parameter (limit=0, depth=abc) with 400, not FastAPI's 422."""
    problems = "; ".join(
        f"{'.'.join(str(part) for part in problem['loc'])}: {problem['msg']}"
        for problem in error.errors()
    )
    return error_response(request.url.path, ConfluenceAPIError(400, problems))


async def _faults_and_journal(
    request: Request, call_next: Callable[[Request], Awaitable[Response]]
) -> Response:
    """Refuse the request if a fault rule says so, else serve it; journal either way."""
    path = request.url.path
    if path.startswith("/_emulator"):
        return await call_next(request)
    state: ConfluenceState = site_state(request)
    fault = state.take_fault(request.method, path)
    if fault is None:
        response = await call_next(request)
    else:
        headers = {} if fault.retry_after is None else {"Retry-After": f"{fault.retry_after:g}"}
        problem = ConfluenceAPIError(fault.status, "Injected fault (emulator)", headers)
        response = error_response(path, problem)
    state.record(
        method=request.method,
        path=path,
        query=request.url.query,
        status=response.status_code,
        auth=getattr(request.state, "auth", None),
        user=getattr(request.state, "user", None),
        fault=fault is not None,
    )
    return response
