"""A reverse proxy in front of the Dot emulator that answers chosen routes itself.

The emulator's faults break bodies (truncated JSON, an HTML page) but never send a
well-formed answer of the wrong shape. This proxy does, as a misconfigured gateway or a
changed API would: requests for the routes in `answers` get the canned response and
never reach the emulator; every other request is forwarded unchanged (and journaled by
the emulator as usual). Loopback only; `close()` stops it.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from urllib.parse import urlsplit

import httpx

_HOP_BY_HOP = frozenset(
    {"connection", "keep-alive", "transfer-encoding", "content-length", "host", "content-encoding"}
)
_FORWARD_TIMEOUT_S = 30.0
_STOP_TIMEOUT_S = 10.0


@dataclass(frozen=True)
class CannedAnswer:
    """The response a proxy gives instead of Dot's."""

    status: int
    body: bytes
    content_type: str = "application/json"


class AnsweringProxy:
    """`url` behaves like the emulator at `upstream`, except for `answers` by (method, path)."""

    def __init__(self, upstream: str, answers: Mapping[tuple[str, str], CannedAnswer]) -> None:
        self._upstream = httpx.Client(base_url=upstream, timeout=_FORWARD_TIMEOUT_S)
        self._answers = dict(answers)
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler_class())
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def __enter__(self) -> AnsweringProxy:
        self._thread.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(_STOP_TIMEOUT_S)
        self._upstream.close()

    def respond(
        self, method: str, target: str, headers: Mapping[str, str], body: bytes
    ) -> tuple[int, list[tuple[str, str]], bytes]:
        """The canned answer for this route, or the emulator's."""
        canned = self._answers.get((method, urlsplit(target).path))
        if canned is not None:
            return canned.status, [("Content-Type", canned.content_type)], canned.body
        forwarded = {k: v for k, v in headers.items() if k.lower() not in _HOP_BY_HOP}
        reply = self._upstream.request(method, target, headers=forwarded, content=body)
        kept = [(k, v) for k, v in reply.headers.items() if k.lower() not in _HOP_BY_HOP]
        return reply.status_code, kept, reply.content

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            def _relay(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                status, headers, content = proxy.respond(
                    self.command, self.path, dict(self.headers.items()), body
                )
                self.send_response(status)
                for name, value in headers:
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(content)))
                self.end_headers()
                self.wfile.write(content)

            do_GET = do_POST = do_PUT = do_DELETE = _relay

            def log_message(self, format: str, *args: object) -> None:
                """Silent: request lines carry URL-auth tokens, and tests read stderr."""

        return Handler
