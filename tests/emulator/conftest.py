"""Fixtures for the emulator's own tests: HTTP clients per role, the control plane, and a
second emulator with a non-default configuration."""

from collections.abc import Callable, Iterator
from datetime import date
from typing import Any

import httpx
import pytest

from dot_orchestration.emulator import (
    ADMIN_TOKEN,
    ConnectionRef,
    ConnectionType,
    EmulatorConfig,
    EmulatorServer,
    FaultRule,
)

Client = Callable[..., httpx.Client]

#: A fixed history end, so windows in tests do not move with the calendar.
HISTORY_END = date(2025, 3, 1)

CONFIGURED = EmulatorConfig(
    seed=7,
    answer_delay_s=0.2,
    environments=["staging", "dev"],
    history_end=HISTORY_END,
    history_days=60,
    history_conversations_per_day=30,
    known_connections=[
        ConnectionRef(type=ConnectionType.snowflake, id="prod"),
        ConnectionRef(type=ConnectionType.dbt, id="dbt-main"),
    ],
    allow_embedded_login=False,
    faults=[FaultRule(path="/api/org", kind="status", status=503)],
)


@pytest.fixture(scope="session")
def transport() -> Iterator[httpx.HTTPTransport]:
    """One connection pool for every test client: a new `httpx.Client` builds an SSL context
    (~0.1 s), which hundreds of short tests cannot afford; loopback HTTP needs none."""
    with httpx.HTTPTransport() as shared:
        yield shared


@pytest.fixture
def client(dot_emulator: EmulatorServer, transport: httpx.HTTPTransport) -> Client:
    """`client(token=ADMIN_TOKEN, **headers)`: an httpx client on the session emulator."""

    def make(token: str | None = ADMIN_TOKEN, **headers: str) -> httpx.Client:
        auth = {"X-API-KEY": token} if token else {}
        return httpx.Client(
            base_url=dot_emulator.url, headers=auth | headers, transport=transport, timeout=10
        )

    return make


@pytest.fixture
def api(client: Client) -> httpx.Client:
    """An admin client (header auth) on the session emulator."""
    return client()


@pytest.fixture
def control(dot_emulator: EmulatorServer, transport: httpx.HTTPTransport) -> httpx.Client:
    """The `/_emulator` control plane of the session emulator."""
    return httpx.Client(base_url=f"{dot_emulator.url}/_emulator", transport=transport, timeout=10)


def journal(control: httpx.Client) -> list[dict[str, Any]]:
    """Every journaled request."""
    entries: list[dict[str, Any]] = control.get("/journal").json()["entries"]
    return entries


@pytest.fixture(scope="session")
def configured_server() -> Iterator[EmulatorServer]:
    """An emulator with every non-default knob turned (see `CONFIGURED`)."""
    with EmulatorServer(CONFIGURED, port=0) as server:
        yield server


@pytest.fixture
def configured(configured_server: EmulatorServer) -> EmulatorServer:
    """The configured emulator, reset to its seeded start."""
    configured_server.state.reset()
    return configured_server


@pytest.fixture
def configured_api(configured: EmulatorServer, transport: httpx.HTTPTransport) -> httpx.Client:
    """An admin client on the configured emulator."""
    headers = {"X-API-KEY": ADMIN_TOKEN}
    return httpx.Client(base_url=configured.url, headers=headers, transport=transport, timeout=10)
