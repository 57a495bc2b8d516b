"""The hostile run: the example pipeline against a Dot failing 20% of calls, then a person
re-materializing what it left.

What it proves is said by its readers: `test_fault_injection.py` (no work lost, no sync
sent twice unasked) and `test_scale_out.py` (the distributed calm run wrote what this
in-process run wrote). This module runs it once for both and records what they judge.

The fault plan (`_traffic.HOSTILE_DOT`) mixes 429 with Retry-After, 502 proxy pages, 503,
read timeouts and dropped connections over every API route, and one deterministic rule
(`LOST_SYNC_REPLY`) makes the outcome-unknown path run whatever the seed draws. The client
keeps its default attempts (5), its waits shortened (0.05 s first, 0.5 s longest, instead
of 0.5 s and 30 s) and its read timeouts too (2 s): when the client retries, and what, is
under test, not how long it waits. `DOT_RELIABILITY_FAULT_SEED=<seed>` reproduces a run.
"""

from __future__ import annotations

import logging
import os
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from dagster import DagsterEventType, DagsterInstance

from dot_demo.definitions import EXAMPLE_CONNECTIONS

from ._end_state import EndState
from ._pipeline import (
    NO_LOG_CAPTURE,
    Attempt,
    Deployment,
    Outcome,
    World,
    deployed,
    deployment_env,
    dot_run_config,
    outcome_of,
)
from ._traffic import FAULT_READ_TIMEOUT_S, HOSTILE_DOT, Control, Traffic, fault_rules

FAULT_SEED = int(os.environ.get("DOT_RELIABILITY_FAULT_SEED", "2714"))
SYNC_ROUTE = "/api/sync/{connection_type}/{connection_id}"
_LOST = EXAMPLE_CONNECTIONS[0]
#: Dot syncs, a gateway loses the answer: the outcome-unknown path, whatever the seed.
LOST_SYNC_REPLY = {
    "method": "POST",
    "path": f"/api/sync/{_LOST.type}/{_LOST.id}",
    "kind": "malformed",
    "malformed": "html",
    "status": 502,
    "phase": "after",
    "times": 1,
}
HOSTILE_CONFIG = dot_run_config(
    read_timeout_s=FAULT_READ_TIMEOUT_S,
    export_read_timeout_s=FAULT_READ_TIMEOUT_S,
    initial_backoff_s=0.05,
    max_backoff_s=0.5,
)
#: Re-executions the person tries before giving up (each sync fails again with p < 0.15).
PERSON_TRIES = 4
_RETRY_LOGGER = "dot_orchestration._http"


@dataclass(frozen=True)
class PersonPass:
    """One re-execution by the person: Dot's journal of it, and whether every run passed."""

    entries: list[dict[str, Any]]
    succeeded: bool


@dataclass(frozen=True)
class HostileRun:
    """What the hostile run did, pass by pass."""

    #: The pipeline's runs as its schedules start them, and what Dot saw of them.
    first: list[Attempt]
    first_traffic: Traffic
    first_sync_log: list[dict[str, Any]]
    passes: list[PersonPass]
    #: After the person's last pass.
    outcome: Outcome
    client_retries: int
    step_retries: dict[str, int]
    run_seconds: list[tuple[str, float]]

    def comparable_end_state(self) -> EndState:
        """The end state without one sync-log record per sync Dot carried out although the
        client saw it fail: sending that connection again was the person's choice. What
        remains is what a calm run leaves."""
        return self.outcome.end_state.without_syncs(synced_again_by_the_person(self.outcome))


class _RetryCounter(logging.Handler):
    """Counts the client's retries ("attempt N failed (...); retrying in S s")."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.retries = 0

    def emit(self, record: logging.LogRecord) -> None:
        if "retrying in" in record.getMessage():
            self.retries += 1


@contextmanager
def counting_retries() -> Iterator[_RetryCounter]:
    """The client's retries while the block runs."""
    counter = _RetryCounter()
    logger = logging.getLogger(_RETRY_LOGGER)
    logger.addHandler(counter)
    try:
        yield counter
    finally:
        logger.removeHandler(counter)


def run_hostile(home: Path, world: World, control: Control) -> HostileRun:
    """The pipeline and the person's re-executions under the hostile plan."""
    control.set_faults([LOST_SYNC_REPLY, *fault_rules(HOSTILE_DOT)], seed=FAULT_SEED)
    with (
        counting_retries() as counter,
        deployed(
            home, deployment_env(home, world), instance_overrides=NO_LOG_CAPTURE
        ) as deployment,
    ):
        first = deployment.run(run_config=HOSTILE_CONFIG)
        control.settle()
        first_traffic, first_sync_log = control.traffic(), sync_log(control)
        passes = the_person_rematerializes(deployment, control)
        outcome = outcome_of(deployment, control)
        steps, seconds = step_retries(deployment.instance), run_seconds(deployment)
    return HostileRun(
        first, first_traffic, first_sync_log, passes, outcome, counter.retries, steps, seconds
    )


def connection(entry: dict[str, Any]) -> str:
    """`type/id` of a sync request."""
    return str(entry["path"]).removeprefix("/api/sync/")


def synced_again_by_the_person(outcome: Outcome) -> list[tuple[str, str]]:
    """(type, id) of syncs Dot carried out although the client saw them fail."""
    syncs = [e for e in outcome.traffic.done_despite_fault() if e["route"] == SYNC_ROUTE]
    return [(kind, name) for kind, name in (connection(e).split("/", 1) for e in syncs)]


def sync_log(control: Control) -> list[dict[str, Any]]:
    """Dot's record of every sync it carried out."""
    return list(control.state()["sync_log"])


def the_person_rematerializes(deployment: Deployment, control: Control) -> list[PersonPass]:
    """Re-execute the failed runs' unmaterialized assets until none fails, at most
    `PERSON_TRIES` times; each pass with Dot's journal of it."""
    passes: list[PersonPass] = []
    while len(passes) < PERSON_TRIES and (not passes or not passes[-1].succeeded):
        before = max((e["seq"] for e in control.journal()), default=0)
        attempts = deployment.rematerialize_failures(HOSTILE_CONFIG)
        control.settle()
        entries = [e for e in control.journal() if e["seq"] > before]
        passes.append(PersonPass(entries, all(a.result.success for a in attempts)))
    return passes


def step_retries(instance: DagsterInstance) -> dict[str, int]:
    """Dagster's step retries (`STEP_UP_FOR_RETRY`) in every run, by step."""
    retried = Counter(
        entry.step_key
        for run in instance.get_runs()
        for entry in instance.all_logs(run.run_id, of_type=DagsterEventType.STEP_UP_FOR_RETRY)
    )
    return dict(sorted(retried.items()))


def run_seconds(deployment: Deployment) -> list[tuple[str, float]]:
    """Each run's wall time from its start and end events: where the run spends its time."""
    timed = []
    for attempt in deployment.attempts:
        stats = deployment.instance.get_run_stats(attempt.result.run_id)
        timed.append((attempt.step.name, round((stats.end_time or 0) - (stats.start_time or 0), 1)))
    return timed
