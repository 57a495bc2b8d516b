"""The sync automation in a branch's environment: the sync also reads the environment
asset, so a model rebuilt before the environment exists requests nothing (its sync would
fail), and the environment's first materialization, like each clean rebuild after it,
requests `sync_target` once. Ticks as tests/sync/test_automation.py evaluates them."""

import pytest
from dagster import AssetKey, DagsterInstance
from sync.test_automation import Ticks

from dot_orchestration.emulator import EmulatorServer

from .test_lifecycle import BRANCH, PER_BRANCH, SYNC_TARGET, definitions, routes
from .test_modes import ENVIRONMENT, SYNC

MODEL = AssetKey("dim_customers")


def test_the_sync_waits_for_the_environment_then_follows_each_build(
    dot_emulator: EmulatorServer, instance: DagsterInstance, monkeypatch: pytest.MonkeyPatch
) -> None:
    ticks = Ticks(definitions(dot_emulator, PER_BRANCH, BRANCH, monkeypatch), instance)
    assert ticks.build(MODEL).success
    assert ticks.requested() == set(), "no environment yet: the sync must wait for it"

    assert ticks.build(ENVIRONMENT).success
    assert ticks.requested() == {SYNC}, "the environment exists: its target is synced"
    assert ticks.requested() == set(), "and not again on the next tick"

    assert ticks.build(MODEL).success
    assert ticks.requested() == {SYNC}, "a clean rebuild of the model syncs the target"
    assert routes(dot_emulator, SYNC_TARGET) == [], "evaluating conditions sends nothing"
