"""Both emulators over HTTP and a real Dagster instance, for the note-sync tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from dagster import DagsterInstance

from dot_orchestration.emulator import EmulatorServer
from dot_orchestration.emulator.confluence import ConfluenceEmulatorServer

from ._support import REQUEST_HOOKS, NoteHarness


@pytest.fixture
def site(confluence_server: ConfluenceEmulatorServer) -> ConfluenceEmulatorServer:
    """The session's Confluence emulator, back at its seeded pages."""
    confluence_server.state.reset()
    return confluence_server


@pytest.fixture
def notes_instance(session_instance: DagsterInstance) -> DagsterInstance:
    """The worker's shared instance without the history of any note sync asset: the sync
    keeps its ownership record in the asset's last materialization (or observation), and
    the emulator hands out the same note ids after each reset, so a record left by another
    test could claim a note of this one. Other suites' assets are left alone."""
    notes = [key for key in session_instance.get_asset_keys() if key.path[:2] == ["dot", "notes"]]
    session_instance.wipe_assets(notes)
    return session_instance


@pytest.fixture(params=["org_notes", "single_note"])
def dialect(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def _harness(
    dot: EmulatorServer, site: ConfluenceEmulatorServer, instance: DagsterInstance
) -> Iterator[NoteHarness]:
    """A harness on `dot`; request hooks a test installed are removed after it."""
    yield NoteHarness(dot, site, instance)
    REQUEST_HOOKS.clear()


@pytest.fixture
def notes(
    dot_emulator: EmulatorServer, site: ConfluenceEmulatorServer, notes_instance: DagsterInstance
) -> Iterator[NoteHarness]:
    yield from _harness(dot_emulator, site, notes_instance)


@pytest.fixture
def any_notes(
    any_dot_emulator: EmulatorServer,
    site: ConfluenceEmulatorServer,
    notes_instance: DagsterInstance,
) -> Iterator[NoteHarness]:
    """The harness against each Dot profile in turn: default, then strict."""
    yield from _harness(any_dot_emulator, site, notes_instance)


@pytest.fixture
def strict_notes(
    strict_dot_emulator: EmulatorServer,
    site: ConfluenceEmulatorServer,
    notes_instance: DagsterInstance,
) -> Iterator[NoteHarness]:
    """The harness against the strict profile: only what Dot documents."""
    yield from _harness(strict_dot_emulator, site, notes_instance)
