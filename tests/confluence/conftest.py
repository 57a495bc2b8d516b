"""One Confluence emulator for the whole session, reset to its seed before every test."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from dot_orchestration.confluence import ConfluenceClient, HttpRetries
from dot_orchestration.emulator.confluence import DEFAULT_USERS, ConfluenceEmulatorServer

ClientFactory = Callable[..., ConfluenceClient]

#: Retries fast enough for tests; the Retry-After values tests inject stay below max_wait.
FAST_RETRY = HttpRetries(max_attempts=3, initial_backoff=0.01, max_backoff=0.05, max_wait=2.0)


@pytest.fixture(scope="session")
def confluence_site() -> Iterator[ConfluenceEmulatorServer]:
    with ConfluenceEmulatorServer() as site:
        yield site


@pytest.fixture(autouse=True)
def _fresh_site(confluence_site: ConfluenceEmulatorServer) -> None:
    confluence_site.state.reset()


@pytest.fixture
def make_client(confluence_site: ConfluenceEmulatorServer) -> Iterator[ClientFactory]:
    """`make_client("cloud" | "datacenter", user=..., **settings)`: a client on the
    emulator with the user's Cloud (basic) or Data Center (bearer) credentials."""
    clients: list[ConfluenceClient] = []

    def make(flavour: str = "cloud", *, user: Any = DEFAULT_USERS[0], **settings: Any) -> Any:
        credentials = (
            {"email": user.email, "api_token": user.api_token}
            if flavour == "cloud"
            else {"personal_access_token": user.personal_access_token}
        )
        settings = {"retry": FAST_RETRY, **credentials, **settings}
        client = ConfluenceClient(confluence_site.url, **settings)
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.close()


@pytest.fixture
def cloud(make_client: ClientFactory) -> ConfluenceClient:
    """The analyst on Cloud: basic auth, REST v2 (CQL through v1)."""
    return make_client("cloud")


@pytest.fixture
def datacenter(make_client: ClientFactory) -> ConfluenceClient:
    """The analyst on Data Center: bearer personal access token, REST v1."""
    return make_client("datacenter")
