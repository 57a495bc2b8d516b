"""Run the Confluence emulator on a real socket, in a background thread of this process.

Real HTTP (not an ASGI test transport) so that the client's timeouts, retries and auth
headers are exercised exactly as against a Confluence site, while tests still reach the
live `state` directly.
"""

from __future__ import annotations

import socket
import threading
import time
from types import TracebackType

import uvicorn

from dot_orchestration.emulator.confluence._api import WIKI
from dot_orchestration.emulator.confluence.app import create_confluence_app
from dot_orchestration.emulator.confluence.state import ConfluenceEmulatorConfig, ConfluenceState

__all__ = ["ConfluenceEmulatorServer"]

_START_TIMEOUT_S = 10.0
_GRACEFUL_SHUTDOWN_S = 1  # requests still running at shutdown are cancelled after this


class ConfluenceEmulatorServer:
    """``with ConfluenceEmulatorServer() as site: site.url`` -> ``http://127.0.0.1:PORT/wiki``.

    Port 0 (the default) takes a free port, bound before the thread starts so that `url`
    is known and nothing can race for it.
    """

    def __init__(
        self,
        config: ConfluenceEmulatorConfig | None = None,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        self.app = create_confluence_app(config)
        self.state: ConfluenceState = self.app.state.confluence
        self._host = host
        self._port = port
        self._socket: socket.socket | None = None
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        """The site base URL, as a Cloud site's `https://example.atlassian.net/wiki`."""
        if self._socket is None:
            raise RuntimeError("the emulator is not running; call start() or use `with`")
        return f"http://{self._host}:{self._socket.getsockname()[1]}{WIKI}"

    def start(self) -> ConfluenceEmulatorServer:
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            listener.bind((self._host, self._port))
        except OSError:
            listener.close()
            raise
        config = uvicorn.Config(
            self.app,
            lifespan="off",
            log_level="warning",
            log_config=None,  # leave the host process's logging setup alone
            access_log=False,
            timeout_graceful_shutdown=_GRACEFUL_SHUTDOWN_S,
        )
        server = uvicorn.Server(config)
        thread = threading.Thread(
            target=server.run, kwargs={"sockets": [listener]}, name="confluence-emulator"
        )
        thread.daemon = True
        self._socket, self._server, self._thread = listener, server, thread
        thread.start()
        deadline = time.monotonic() + _START_TIMEOUT_S
        while not server.started:
            if not thread.is_alive() or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError("the Confluence emulator did not start")
            time.sleep(0.01)
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(_START_TIMEOUT_S)
        if self._socket is not None:
            self._socket.close()
        self._socket = self._server = self._thread = None

    def __enter__(self) -> ConfluenceEmulatorServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()
