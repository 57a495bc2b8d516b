"""Run the Confluence emulator on a real socket, in a background thread of this process.

Real HTTP (not an ASGI test transport) so that the client's timeouts, retries and auth
headers are exercised exactly as against a Confluence site, while tests still reach the
live `state` directly. The serving machinery is the Dot emulator's `AppServer`.
"""

from typing import cast

from dot_orchestration.emulator.confluence._api import WIKI
from dot_orchestration.emulator.confluence.app import create_confluence_app
from dot_orchestration.emulator.confluence.state import ConfluenceEmulatorConfig, ConfluenceState
from dot_orchestration.emulator.server import AppServer

__all__ = ["ConfluenceEmulatorServer"]


class ConfluenceEmulatorServer(AppServer):
    """``with ConfluenceEmulatorServer() as site: site.url`` -> ``http://127.0.0.1:PORT/wiki``.

    Port 0 (the default) takes a free port, bound before the thread starts so that `url`
    is known and nothing can race for it.
    """

    url_path = WIKI
    thread_name = "confluence-emulator"

    def __init__(
        self,
        config: ConfluenceEmulatorConfig | None = None,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        verbose: bool = False,
    ) -> None:
        super().__init__(create_confluence_app(config), host=host, port=port, verbose=verbose)

    @property
    def state(self) -> ConfluenceState:
        """The live in-memory state served by this server."""
        return cast(ConfluenceState, self.app.state.confluence)
