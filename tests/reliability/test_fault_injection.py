"""A hostile Dot: 20% of calls fail, the pipeline still completes and ends like a calm run.

The fault plan (`_traffic.HOSTILE_DOT`) mixes 429 with Retry-After, 502 proxy pages, 503,
read timeouts and dropped connections over every API route. The run uses the package's
retry defaults (5 attempts, 0.5 s first backoff, 30 s longest); only the read timeout is
shortened (`read_timeout_s`, resource config) so an injected timeout costs seconds, not a
minute. No run is re-executed: a note create that got a 5xx, a timeout or a dropped
connection is not re-sent by the client (Dot may have made the note), so the note writer's
own Dagster retry policy runs the step again, and the retry adopts the note by its marker.

Every rule matches every API call, so the sequence of faults (the n-th request gets the
n-th draw) depends on the seed alone, whatever the pipeline calls: seed 2714 puts each
kind of fault into the first 13 requests, so growing the pipeline only adds draws. Which
of several concurrent calls gets a given fault depends on timing; the counts do not.
Reproduce with `DOT_RELIABILITY_FAULT_SEED=<seed> pytest -s tests/reliability -k hostile`.
"""

from __future__ import annotations

import json
import logging
import os
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from dagster import DagsterEventType, DagsterInstance

from dot_orchestration.client import _endpoints

from ._pipeline import Outcome, World, dot_run_config, run_pipeline
from ._traffic import FAULT_READ_TIMEOUT_S, HOSTILE_DOT, Control, Traffic, fault_rules

FAULT_SEED = int(os.environ.get("DOT_RELIABILITY_FAULT_SEED", "2714"))
SYNC_ROUTE = "/api/sync/{connection_type}/{connection_id}"
#: Creates: the client repeats them only after a 429, the one answer proving Dot did not
#: act. Any other failure may have created the object, so it is the caller's to resolve.
CREATE_ROUTES = frozenset(
    (endpoint.method, endpoint.path)
    for endpoint in vars(_endpoints).values()
    if isinstance(endpoint, _endpoints.Endpoint) and not endpoint.idempotent
)
SHORT_READ_TIMEOUT = dot_run_config(read_timeout_s=FAULT_READ_TIMEOUT_S)


def late_syncs(traffic: Traffic) -> list[tuple[str, str]]:
    """(type, id) of syncs Dot carried out after the client had timed out and retried."""
    syncs = [e["path"].rsplit("/", 2) for e in traffic.late_writes() if e["route"] == SYNC_ROUTE]
    return [(ctype, cid) for _, ctype, cid in syncs]


def must_not_retry(traffic: Traffic) -> int:
    """Faults on creates that the client must leave alone (all but 429)."""
    return sum(
        1
        for entry in traffic.faulted()
        if (entry["method"], entry["route"]) in CREATE_ROUTES
        and traffic.rules[entry["fault"]["rule"]].get("status") != 429
    )


def client_retries(caplog: pytest.LogCaptureFixture) -> int:
    """Retries the client logged ("attempt N failed (...); retrying in S s")."""
    return sum(
        1
        for record in caplog.records
        if record.name == "dot_orchestration._http" and "retrying in" in record.getMessage()
    )


def step_retries(home: Path) -> dict[str, int]:
    """Dagster's step retries (`STEP_UP_FOR_RETRY`) in every run of the pipeline, by step,
    read back from the event log the deployment left in `home` (`_pipeline.deployed`
    keeps its instance in `home / "dagster_home"`)."""
    with DagsterInstance.from_config(str(home / "dagster_home")) as instance:
        retried = Counter(
            entry.step_key
            for run in instance.get_runs()
            for entry in instance.all_logs(run.run_id, of_type=DagsterEventType.STEP_UP_FOR_RETRY)
        )
    return dict(sorted(retried.items()))


def report(
    outcome: Outcome, baseline: Outcome, retries: int, steps_retried: dict[str, int]
) -> dict[str, Any]:
    """The numbers the closing note quotes."""
    return {
        "seed": FAULT_SEED,
        "fault_rate": sum(entry.share for entry in HOSTILE_DOT),
        **outcome.traffic.summary(),
        "client_retries": retries,
        "step_retries": steps_retried,
        "baseline_requests": baseline.traffic.requests,
        "extra_requests": outcome.traffic.retries_beyond(baseline.traffic),
        "runtime_s": round(outcome.seconds, 1),
        "baseline_runtime_s": round(baseline.seconds, 1),
        "end_state": outcome.end_state.summary(),
    }


def publish(numbers: dict[str, Any], record_property: Any) -> None:
    """Print for `-s` and put each number into the test report (junit `<property>`)."""
    print("\nfault injection:", json.dumps(numbers, indent=1))
    for name, value in numbers.items():
        record_property(name, json.dumps(value) if isinstance(value, dict | list) else value)


@pytest.mark.timeout(240)
def test_the_pipeline_survives_a_hostile_dot_and_ends_exactly_like_a_calm_run(
    baseline: Outcome,
    control: Control,
    world: World,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
    record_property: Any,
) -> None:
    caplog.set_level(logging.WARNING, logger="dot_orchestration._http")
    control.set_faults(fault_rules(HOSTILE_DOT), seed=FAULT_SEED)
    outcome = run_pipeline(tmp_path, control, world, run_config=SHORT_READ_TIMEOUT)
    traffic, retries = outcome.traffic, client_retries(caplog)
    publish(report(outcome, baseline, retries, step_retries(tmp_path)), record_property)

    assert not outcome.failed_steps, f"seed {FAULT_SEED}: {outcome.failed_steps} failed"
    assert not outcome.unmaterialized, f"seed {FAULT_SEED}: skipped {outcome.unmaterialized}"
    assert traffic.injected > 0, f"seed {FAULT_SEED} injected no fault: pick another"
    assert traffic.injected == sum(1 for _ in traffic.faulted()), "journal and counts disagree"
    assert retries == traffic.injected - must_not_retry(traffic), (
        f"seed {FAULT_SEED}: the client should retry every fault but those on creates"
    )
    end_state = outcome.end_state.without_syncs(late_syncs(traffic))
    difference = end_state.differences(baseline.end_state)
    assert not difference, f"seed {FAULT_SEED}: end state differs:\n{difference}"
