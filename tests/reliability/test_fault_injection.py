"""A hostile Dot: 20% of calls fail; a sync whose outcome is unknown waits for a person, and
once the person has re-run it the pipeline ends exactly like a calm run.

The fault plan (`_traffic.HOSTILE_DOT`) mixes 429 with Retry-After, 502 proxy pages, 503,
read timeouts and dropped connections over every API route. One more rule makes the
outcome-unknown path run whatever the seed draws: the first sync of the first example
connection is carried out by Dot and its answer replaced by a proxy's 502 (`phase: after`,
so Dot synced although the client saw a failure). The client makes its default 5 attempts;
its waits and read timeouts are shortened (resource config) so an injected fault costs a
fraction of a second, not seconds (`_hostile`, which runs it for this test and the
scale-out test).

First pass: the pipeline once, as its schedules run it. The client retries what is safe to
repeat; a note create that met a 5xx, a timeout or a dropped connection is not re-sent by
the client (Dot may have made the note) but by the note writer's Dagster retry policy,
which adopts the note by its marker. A sync POST that met a 5xx, a timeout or a dropped
connection is never re-sent (Dot may be syncing): its step fails with
`DotOutcomeUnknownError`. The test proves it from three sources: Dot's journal (no POST of a
connection's sync after such a fault), Dot's sync log (each connection synced at most
once), and the event log (each of those connections failed with `DotOutcomeUnknownError`,
and no other step failed).

Then the person re-materializes what the failed runs left (Dagster's "re-execute from asset
failure"), again until it succeeds, under the same hostile Dot. The end state then equals
the calm run's (`conftest.calm_run`, distributed where PostgreSQL runs: the scale-out test
compares the same two end states), except one sync-log record per sync Dot carried out
although the client saw it fail: sending that connection again was the person's choice.

Every hostile rule matches every API call, so the sequence of faults (the n-th request gets
the n-th draw) depends on the seed alone, whatever the pipeline calls (the deterministic rule
takes one draw, at the first sync). Which of several concurrent calls gets a given fault
depends on timing; the counts do not. Reproduce with
`DOT_RELIABILITY_FAULT_SEED=<seed> pytest -s tests/reliability -k hostile`.
"""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from typing import Any

import pytest

from dot_orchestration.client import _endpoints

from ._hostile import FAULT_SEED, PERSON_TRIES, SYNC_ROUTE, HostileRun, connection
from ._pipeline import Attempt, Outcome
from ._traffic import HOSTILE_DOT, Traffic

#: Creates: the client repeats them only after a 429, the one answer proving Dot did not
#: act. Any other failure may have created the object, so it is the caller's to resolve.
CREATE_ROUTES = frozenset(
    (endpoint.method, endpoint.path)
    for endpoint in vars(_endpoints).values()
    if isinstance(endpoint, _endpoints.Endpoint) and not endpoint.idempotent
)
OUTCOME_UNKNOWN = "DotOutcomeUnknownError"
#: The example's sync multi-asset (`build_dot_sync_assets`' default name): one step.
SYNC_STEP = "dot_connection_syncs"


def is_sure_refusal(traffic: Traffic, entry: dict[str, Any]) -> bool:
    """A 429: the one fault that proves Dot did not act."""
    return traffic.rules[entry["fault"]["rule"]].get("status") == 429


def sync_posts(entries: Iterable[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    """Each connection's sync requests, in the order Dot received them."""
    by_connection: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for entry in sorted(entries, key=lambda e: e["seq"]):
        if entry["route"] == SYNC_ROUTE:
            by_connection[connection(entry)].append(entry)
    return by_connection


def unknown_outcomes(traffic: Traffic, entries: Iterable[dict[str, Any]]) -> set[str]:
    """Connections whose last sync request of a pass met a fault that leaves the outcome
    unknown (anything but a 429)."""
    return {
        label
        for label, posts in sync_posts(entries).items()
        if posts[-1]["fault"] is not None and not is_sure_refusal(traffic, posts[-1])
    }


def resent_syncs(traffic: Traffic, entries: Iterable[dict[str, Any]]) -> list[str]:
    """Connections whose sync was sent again, within one pass, after a fault that may have
    let it reach Dot: what the client must never do."""
    return [
        label
        for label, posts in sync_posts(entries).items()
        if any(p["fault"] and not is_sure_refusal(traffic, p) for p in posts[:-1])
    ]


def outcome_unknown_in_event_log(attempts: Sequence[Attempt]) -> set[str]:
    """Connections the failed sync steps of these runs name as `DotOutcomeUnknownError`
    (the step failure's `dot/sync_error_class` metadata, one class per connection)."""
    named = set()
    for attempt in attempts:
        for event in attempt.result.all_events:
            failure = event.step_failure_data if event.is_step_failure else None
            user = failure.user_failure_data if failure else None
            if user is None or "dot/sync_error_class" not in user.metadata:
                continue
            classes = user.metadata["dot/sync_error_class"].value
            named |= {label for label, name in classes.items() if name == OUTCOME_UNKNOWN}
    return named


def failed_step_keys(attempts: Sequence[Attempt]) -> set[str]:
    return {
        event.step_key or ""
        for attempt in attempts
        for event in attempt.result.all_events
        if event.is_step_failure
    }


def must_not_retry(traffic: Traffic) -> int:
    """Faults on creates that the client must leave alone (all but 429)."""
    return sum(
        1
        for entry in traffic.faulted()
        if (entry["method"], entry["route"]) in CREATE_ROUTES
        and not is_sure_refusal(traffic, entry)
    )


def publish(numbers: dict[str, Any], record_property: Any) -> None:
    """Print for `-s` and put each number into the test report (junit `<property>`)."""
    print("\nfault injection:", json.dumps(numbers, indent=1))
    for name, value in numbers.items():
        record_property(name, json.dumps(value) if isinstance(value, dict | list) else value)


def first_pass_checks(run: HostileRun) -> dict[str, Any]:
    """The at-most-once contract before the person acts; returns what it saw."""
    traffic = run.first_traffic
    resent = resent_syncs(traffic, traffic.entries)
    assert not resent, f"the client re-sent the sync of {resent} after an unclear failure"
    synced = Counter(f"{r['connection_type']}/{r['connection_id']}" for r in run.first_sync_log)
    assert max(synced.values()) == 1, f"a connection synced more than once: {dict(synced)}"
    unknown = unknown_outcomes(traffic, traffic.entries)
    assert unknown, "no sync met a fault: the outcome-unknown path did not run"
    failed = [attempt for attempt in run.first if not attempt.result.success]
    assert outcome_unknown_in_event_log(failed) == unknown, (
        f"the event log should name {OUTCOME_UNKNOWN} for exactly {sorted(unknown)}"
    )
    steps = failed_step_keys(failed)
    assert steps == {SYNC_STEP}, f"expected only {SYNC_STEP} to fail, got {sorted(steps)}"
    by_seed = sum(1 for e in traffic.faulted() if e["route"] == SYNC_ROUTE and e["fault"]["rule"])
    if not by_seed:
        print(f"\nseed {FAULT_SEED} put no fault on a sync; only LOST_SYNC_REPLY did")
    return {"outcome_unknown": sorted(unknown), "seeded_faults_on_syncs": by_seed}


def report(run: HostileRun, baseline: Outcome) -> dict[str, Any]:
    """The numbers the closing note quotes."""
    traffic = run.outcome.traffic
    return {
        "seed": FAULT_SEED,
        "fault_rate": sum(entry.share for entry in HOSTILE_DOT),
        **traffic.summary(),
        "client_retries": run.client_retries,
        "step_retries": run.step_retries,
        "person_reexecutions": len(run.passes),
        "baseline_requests": baseline.traffic.requests,
        "extra_requests": traffic.retries_beyond(baseline.traffic),
        "runtime_s": round(run.outcome.seconds, 1),
        "run_seconds": run.run_seconds,
        "baseline_runtime_s": round(baseline.seconds, 1),
        "end_state": run.outcome.end_state.summary(),
    }


#: The first reader of the calm and hostile runs pays for both (session fixtures, timed
#: within the test that asks first).
@pytest.mark.timeout(600)
def test_a_hostile_dot_loses_no_work_and_never_syncs_twice_unasked(
    hostile_run: HostileRun, baseline: Outcome, record_property: Any
) -> None:
    run, outcome = hostile_run, hostile_run.outcome
    seen = first_pass_checks(run)
    publish({**report(run, baseline), **seen}, record_property)
    for number, person in enumerate(run.passes, 1):
        resent = resent_syncs(outcome.traffic, person.entries)
        assert not resent, f"re-execution {number} re-sent the sync of {resent}"
    assert run.passes[-1].succeeded, f"still failing after {PERSON_TRIES} re-executions"

    assert not outcome.failed_steps, f"seed {FAULT_SEED}: {outcome.failed_steps}"
    assert not outcome.unmaterialized, f"skipped {outcome.unmaterialized}"
    traffic = outcome.traffic
    assert traffic.injected == sum(1 for _ in traffic.faulted()), "journal and counts disagree"
    assert run.client_retries == traffic.injected - must_not_retry(traffic), (
        f"seed {FAULT_SEED}: the client should retry every fault but those on creates"
    )
    difference = run.comparable_end_state().differences(baseline.end_state)
    assert not difference, f"seed {FAULT_SEED}: end state differs:\n{difference}"
