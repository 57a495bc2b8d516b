"""Fixtures: clients on the emulator and its control plane."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from dot_orchestration.client import DotClient

from ._support import ADMIN_EMAIL, ADMIN_TOKEN, FAST_RETRY, Control


@pytest.fixture(scope="session")
def _control_plane(dot_emulator_server: Any) -> Iterator[Control]:
    plane = Control(dot_emulator_server.url)
    yield plane
    plane.close()


@pytest.fixture
def control(dot_emulator: Any, _control_plane: Control) -> Control:
    """The control plane of the emulator, reset for this test."""
    return _control_plane


@pytest.fixture
def make_dot(dot_emulator: Any) -> Iterator[Callable[..., DotClient]]:
    """Build clients on the emulator (admin, header auth, fast retries unless overridden);
    all are closed after the test."""
    clients: list[DotClient] = []

    def make(**overrides: Any) -> DotClient:
        settings = {"api_token": ADMIN_TOKEN, "base_url": dot_emulator.url, "retry": FAST_RETRY}
        client = DotClient(**(settings | overrides))
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.close()


@pytest.fixture
def dot(make_dot: Callable[..., DotClient]) -> DotClient:
    """An admin client with header auth."""
    return make_dot()


@pytest.fixture
def dot_url(make_dot: Callable[..., DotClient]) -> DotClient:
    """An admin client with URL auth (token in the query string)."""
    return make_dot(auth_mode="url", user_id=ADMIN_EMAIL)
