"""The layer between the socket and Dot's API: the request journal and fault injection.

Pure ASGI rather than `BaseHTTPMiddleware` because faults must control exactly which bytes
reach the client: nothing at all (`drop`), a body cut in half, or the handler's response
late. ASGI has no "close the connection" message, so a drop marks the request's scope and
`EmulatorApp` (see `app.py`) ends the ASGI call in a way that makes uvicorn close the
socket without writing a response.

The `/_emulator` control plane passes through untouched: it is never faulted or journaled.
"""

import asyncio
import json
import time
from collections.abc import Sequence
from typing import Any

from starlette.datastructures import Headers, QueryParams
from starlette.routing import BaseRoute, Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from dot_orchestration.emulator.auth import ENVIRONMENT_HEADER, presented_credential
from dot_orchestration.emulator.clock import isoformat_z, utcnow
from dot_orchestration.emulator.faults import InjectedFault, RawResponse, fault_response
from dot_orchestration.emulator.state import EmulatorState

CONTROL_PREFIX = "/_emulator"
DROP_SCOPE_KEY = "dot_emulator.drop"
_JOURNAL_BODY_LIMIT = 1 << 20
_REDACTED_QUERY_KEYS = {"api_token"}


class EmulatorMiddleware:
    """Journals every API request and applies the fault (if any) drawn for it.

    `routes` are the API's routes: the journal names the route template of every request,
    also of the ones a fault answers before FastAPI's router ever sees them.
    """

    def __init__(self, app: ASGIApp, state: EmulatorState, routes: Sequence[BaseRoute]) -> None:
        self.app = app
        self.state = state
        self.routes = list(routes)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"].startswith(CONTROL_PREFIX):
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        body = await _read_body(receive)
        fault = self.state.faults.draw(scope["method"], scope["path"])
        entry = self.state.journal.open(self._arrival(scope, body, fault))
        tap = _StatusTap(send)
        try:
            await self._respond(scope, _replay(body, receive), tap.send, fault)
        finally:
            elapsed_ms = round((time.perf_counter() - started) * 1000, 1)
            self.state.journal.close(entry, tap.status, elapsed_ms)

    async def _respond(
        self, scope: Scope, receive: Receive, send: Send, fault: InjectedFault | None
    ) -> None:
        """Let the handler answer, or apply the fault before or after it."""
        if fault is None:
            await self.app(scope, receive, send)
            return
        rule = fault.rule
        latency_s = rule.latency_ms / 1000
        if rule.phase == "before":
            await asyncio.sleep(latency_s)
            if rule.kind == "timeout":
                await self.app(scope, receive, send)
            else:
                await _emit(scope, send, fault_response(rule, None))
            return
        original = await _capture(self.app, scope, receive)
        await asyncio.sleep(latency_s)
        replacement = original if rule.kind == "timeout" else fault_response(rule, original)
        await _emit(scope, send, replacement)

    def _arrival(self, scope: Scope, body: bytes, fault: InjectedFault | None) -> dict[str, Any]:
        """What the journal knows about a request when it arrives."""
        headers = Headers(scope=scope)
        query = QueryParams(scope["query_string"])
        credential = presented_credential(headers, query)
        user = self.state.directory.token_user(credential.token) if credential else None
        return {
            "ts": isoformat_z(utcnow(), "microseconds"),
            "method": scope["method"],
            "path": scope["path"],
            "route": self._route_template(scope),
            "query": {
                key: "***" if key in _REDACTED_QUERY_KEYS else value for key, value in query.items()
            },
            "auth": credential.method.value if credential else None,
            "user": user.email if user else None,
            "environment": headers.get(ENVIRONMENT_HEADER),
            "body": _journal_body(body),
            "fault": fault.describe() if fault else None,
        }

    def _route_template(self, scope: Scope) -> str | None:
        """The path template of the route serving this path (any method), if there is one."""
        partial = None
        for route in self.routes:
            match, _ = route.matches(scope)
            if match is Match.FULL:
                return getattr(route, "path", None)
            if match is Match.PARTIAL and partial is None:
                partial = getattr(route, "path", None)
        return partial


class _StatusTap:
    """Passes messages through and remembers the status that was sent (None if none)."""

    def __init__(self, send: Send) -> None:
        self._send = send
        self.status: int | None = None

    async def send(self, message: Message) -> None:
        if message["type"] == "http.response.start":
            self.status = message["status"]
        await self._send(message)


async def _read_body(receive: Receive) -> bytes:
    """The whole request body (journaled even when a fault stops the handler from reading)."""
    chunks = []
    while True:
        message = await receive()
        if message["type"] != "http.request":
            break
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            break
    return b"".join(chunks)


def _replay(body: bytes, receive: Receive) -> Receive:
    """A `receive` that hands the already-read body to the app, then defers to the client."""
    delivered = False

    async def replay() -> Message:
        nonlocal delivered
        if delivered:
            return await receive()
        delivered = True
        return {"type": "http.request", "body": body, "more_body": False}

    return replay


async def _capture(app: ASGIApp, scope: Scope, receive: Receive) -> RawResponse:
    """Run the handler and keep its response instead of sending it."""
    response = RawResponse(status=500)
    chunks: list[bytes] = []

    async def keep(message: Message) -> None:
        if message["type"] == "http.response.start":
            response.status = message["status"]
            response.headers = list(message.get("headers", []))
        elif message["type"] == "http.response.body":
            chunks.append(message.get("body", b""))

    await app(scope, receive, keep)
    response.body = b"".join(chunks)
    return response


async def _emit(scope: Scope, send: Send, response: RawResponse | None) -> None:
    """Send a response; None drops the connection instead."""
    if response is None:
        scope[DROP_SCOPE_KEY] = True
        return
    headers = list(response.headers)
    if response.header(b"content-length") is None and response.header(b"transfer-encoding") is None:
        headers.append((b"content-length", str(len(response.body)).encode()))
    await send({"type": "http.response.start", "status": response.status, "headers": headers})
    await send({"type": "http.response.body", "body": response.body})


def _journal_body(body: bytes) -> Any:
    """The request body for the journal: JSON when it parses, else text; huge ones elided."""
    if not body:
        return None
    if len(body) > _JOURNAL_BODY_LIMIT:
        return f"<{len(body)} bytes>"
    try:
        return json.loads(body)
    except ValueError:
        return body.decode("utf-8", errors="replace")
