"""A Dot with a small, fixed history; a Dagster instance; an export wired like the example.

The session's emulator holds twelve days of generated history (2025-03-01 to 2025-03-12),
about six conversations a day, so every test can compare what landed with the emulator's
own truth. `StubDot` is a second, hand-driven Dot over HTTP for the answers the emulator
never gives (other response shapes, data outside the window, slow answers).
"""

import re
import threading
from collections.abc import Callable, Iterator
from datetime import date
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

import pytest
from dagster import DagsterInstance

from dot_orchestration.emulator import EmulatorConfig, EmulatorServer
from dot_orchestration.history import DotHistorySettings, DuckDBWarehouse

from ._support import (
    EXPORT_ROUTE,
    FIRST_DAY,
    HISTORY_END,
    Export,
    StubDot,
    build_export,
)


@pytest.fixture(scope="session")
def history_server() -> Iterator[EmulatorServer]:
    config = EmulatorConfig(
        seed=7,
        history_days=(HISTORY_END - FIRST_DAY).days,
        history_end=HISTORY_END,
        history_conversations_per_day=6,
        answer_delay_s=0,
    )
    with EmulatorServer(config, port=0) as server:
        yield server


@pytest.fixture
def dot(history_server: EmulatorServer) -> EmulatorServer:
    """The history emulator, back at its seeded start (no faults, empty journal)."""
    history_server.state.reset()
    return history_server


@pytest.fixture
def export_for(
    tmp_path: Path, session_instance: DagsterInstance, request: pytest.FixtureRequest
) -> Callable[..., Export]:
    """`export_for(base_url, **settings)`: an export into this test's DuckDB file, under an
    asset key of its own (`<test name>/history`), so the tests share one instance."""
    test_key = re.sub(r"\W+", "_", request.node.name).strip("_")[:80]

    def make(base_url: str, **options: Any) -> Export:
        dot_keys = ("max_concurrency", "environment", "read_timeout_s", "export_read_timeout_s")
        dot_options = {k: options.pop(k) for k in dot_keys if k in options}
        db = tmp_path / "warehouse.duckdb"
        settings = DotHistorySettings(
            **{
                "start_date": date(2025, 2, 20),
                "key": (test_key, "history"),
                "warehouse": DuckDBWarehouse(path=str(db)),
                **options,
            }
        )
        return build_export(settings, base_url, db, session_instance, **dot_options)

    return make


@pytest.fixture
def export(dot: EmulatorServer, export_for: Callable[..., Export]) -> Export:
    """The default export (UTC days, the token user's workspace) from the history emulator."""
    return export_for(dot.url)


@pytest.fixture
def stub_dot() -> Iterator[StubDot]:
    stub = StubDot()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            url = urlparse(self.path)
            if url.path != EXPORT_ROUTE:
                self.send_error(404)
                return
            body = stub.respond(parse_qs(url.query))
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *_: object) -> None:
            """Quiet: pytest shows failures, not access logs."""

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    # `shutdown()` waits for the loop to look: every 0.05 s, not the default 0.5 s.
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    stub.url = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        yield stub
    finally:
        server.shutdown()
        server.server_close()
