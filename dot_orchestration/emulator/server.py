"""`EmulatorServer`: the emulator on a real uvicorn server, in the background or foreground.

Tests and the demo need a real socket, not an in-process transport: retries, timeouts,
dropped connections and truncated bodies only behave like production over TCP. The server
listens on its own socket first, so `port=0` yields a free port that is known (`.url`)
before the first request, and a port already in use fails with a plain `OSError`.
"""

import socket
import threading
import time
from collections.abc import Callable
from types import TracebackType
from typing import cast

import uvicorn
from fastapi import FastAPI
from typing_extensions import Self

from dot_orchestration.emulator.app import create_app
from dot_orchestration.emulator.config import EmulatorConfig
from dot_orchestration.emulator.state import EmulatorState

# Requests still running after this long at shutdown (a `timeout` fault sleeping) are
# cancelled, so stopping a test server never hangs on them.
_GRACEFUL_SHUTDOWN_S = 1
_STARTUP_TIMEOUT_S = 10.0
_STOP_TIMEOUT_S = 10.0


class AppServer:
    """Any ASGI app on a real uvicorn server: the shared machinery of both emulators.

    A context manager; `start()` serves in a daemon thread and returns once connections are
    accepted, `serve_forever()` serves in the calling thread. `verbose=True` logs like
    uvicorn does on the command line (info level, access log); otherwise only warnings are
    logged, through the host process's own logging setup.
    """

    #: Appended to `http://host:port` in `url` (Confluence sites live under `/wiki`).
    url_path = ""
    #: Name of the serving thread, as seen in thread dumps.
    thread_name = "emulator"

    def __init__(
        self, app: FastAPI, *, host: str = "127.0.0.1", port: int = 0, verbose: bool = False
    ) -> None:
        self.app = app
        self.host = host
        self._requested_port = port
        self._verbose = verbose
        self._socket: socket.socket | None = None
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        """The bound port (the free one picked for `port=0`)."""
        if self._socket is None:
            raise RuntimeError("The emulator is not listening yet; call start()")
        return int(self._socket.getsockname()[1])

    @property
    def url(self) -> str:
        """The base URL clients are configured with."""
        return f"http://{self.host}:{self.port}{self.url_path}"

    def start(self) -> Self:
        """Serve in a background thread; returns once the server accepts connections."""
        server = self._prepare()
        self._thread = threading.Thread(
            target=server.run,
            kwargs={"sockets": [self._socket]},
            name=self.thread_name,
            daemon=True,
        )
        self._thread.start()
        deadline = time.monotonic() + _STARTUP_TIMEOUT_S
        while not server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"The {self.thread_name} did not start")
            time.sleep(0.01)
        return self

    def serve_forever(self, on_ready: Callable[[Self], None] | None = None) -> None:
        """Serve in the calling thread until SIGINT/SIGTERM (the command line).

        `on_ready` is called once the port is bound, e.g. to print the URL.
        """
        server = self._prepare()
        if on_ready is not None:
            on_ready(self)
        try:
            server.run(sockets=[self._socket])  # type: ignore[list-item]
        finally:
            self._close_socket()

    def stop(self) -> None:
        """Shut down gracefully and wait for the server thread to finish."""
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(_STOP_TIMEOUT_S)
        self._server = self._thread = None
        self._close_socket()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    def _prepare(self) -> uvicorn.Server:
        """Bind the socket and build (not run) the uvicorn server."""
        if self._server is not None:
            raise RuntimeError("The emulator is already running")
        self._socket = _listening_socket(self.host, self._requested_port)
        log_settings = (
            {"log_level": "info", "access_log": True}
            if self._verbose
            else {"log_level": "warning", "access_log": False, "log_config": None}
        )
        config = uvicorn.Config(
            self.app,
            host=self.host,
            port=self.port,
            timeout_graceful_shutdown=_GRACEFUL_SHUTDOWN_S,
            **log_settings,  # type: ignore[arg-type]
        )
        self._server = uvicorn.Server(config)
        return self._server

    def _close_socket(self) -> None:
        """Release the listening socket (uvicorn closes it too; closing twice is harmless)."""
        if self._socket is not None:
            self._socket.close()
        self._socket = None


class EmulatorServer(AppServer):
    """A Dot API emulator on `host:port`; a context manager that starts and stops it.

    ```python
    with EmulatorServer(EmulatorConfig(seed=42), port=0) as server:
        httpx.get(f"{server.url}/api/auth/me", headers={"X-API-KEY": "dot-emulator-admin"})
        server.state.sync_log  # the live state, for assertions
    ```
    The URL is Dot's base URL: API paths start with `/api`.
    """

    thread_name = "dot-emulator"

    def __init__(
        self,
        config: EmulatorConfig | None = None,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        verbose: bool = False,
    ) -> None:
        self.config = config or EmulatorConfig()
        super().__init__(create_app(self.config), host=host, port=port, verbose=verbose)

    @property
    def state(self) -> EmulatorState:
        """The live in-memory state served by this server."""
        return cast(EmulatorState, self.app.state.emulator)


def _listening_socket(host: str, port: int) -> socket.socket:
    """A listening TCP socket for uvicorn; `port=0` picks a free port.

    Listening right away means a client that connects as soon as the URL is known (the
    command line prints it before uvicorn runs) waits in the backlog instead of being
    refused.
    """
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
        sock.listen()
    except OSError:
        sock.close()
        raise
    return sock
