"""The same definitions, distributed: every step in its own process, a Postgres instance.

Where PostgreSQL runs, the suite's calm run is this deployment (`_distributed`, run by
`conftest.calm_run`): the code location loaded exactly as `dagster dev`, a gRPC code
server or a Kubernetes run pod loads it (`dot_demo.definitions:defs`, configured by
environment variables only), the whole example pipeline under the multiprocess executor in
as few runs as Dagster allows (one per partition range), runs, events and pool slots in a
throwaway PostgreSQL cluster. It must write exactly what the pipeline writes in one process
(so no step relies on state another step left in memory): the suite's in-process run is the
hostile one, whose end state, once the person has re-run what failed, is a calm run's
(`test_fault_injection.py` holds it to the same comparison). Steps that share a pool
(`concurrency: pools: default_limit: 1`) must never overlap.

`max_concurrent` is 4, more than the steps that are ready at once, so the executor itself
would start the pool's steps together: only the pool keeps them apart, and the run's
events must show a step blocked by its pool.
"""

from __future__ import annotations

import json
from collections import defaultdict
from datetime import datetime, timezone
from typing import Any

import pytest

from ._calm import CalmRun
from ._distributed import DistributedRun, ScaleOut
from ._hostile import HostileRun


def overlaps(windows: list[tuple[str, float, float]]) -> list[tuple[str, str]]:
    """Pairs of steps whose windows intersect."""
    ordered = sorted(windows, key=lambda window: window[1])
    return [
        (first[0], second[0])
        for i, first in enumerate(ordered)
        for second in ordered[i + 1 :]
        if second[1] < first[2]
    ]


def _clock(timestamp: float) -> str:
    return datetime.fromtimestamp(timestamp, timezone.utc).strftime("%H:%M:%S.%f")[:-3]


def pool_windows(scale_out: ScaleOut) -> dict[str, list[tuple[str, float, float]]]:
    """Pool → (step, start, end) of every step in it, across the runs."""
    by_pool: dict[str, list[tuple[str, float, float]]] = defaultdict(list)
    for run in scale_out.runs:
        for step, (start, end) in run.windows.items():
            if step in scale_out.pools:
                by_pool[scale_out.pools[step]].append((step, start, end))
    return by_pool


def publish(
    runs: list[DistributedRun],
    by_pool: dict[str, Any],
    limits: dict[str, int],
    record_property: Any,
) -> None:
    """Print the pool timeline for `-s` and put it into the test report."""
    timeline = {
        pool: [f"{step} {_clock(start)}-{_clock(end)}" for step, start, end in sorted(steps)]
        for pool, steps in by_pool.items()
    }
    blocked = {step: pool for run in runs for step, pool in run.blocked.items()}
    seconds = [
        round(max(e for _, e in run.windows.values()) - min(s for s, _ in run.windows.values()), 1)
        for run in runs
    ]
    print(f"\nmultiprocess runs {[run.run_id for run in runs]} ({seconds} s), pools {limits}")
    print(json.dumps(timeline, indent=1))
    print(f"held back by their pool: {blocked}")
    record_property("pool_limits", json.dumps(limits))
    record_property("blocked_by_pool", json.dumps(blocked))
    record_property("pool_timeline", json.dumps(timeline))
    record_property("run_seconds", json.dumps(seconds))


#: The first reader of the calm and hostile runs pays for both (session fixtures, timed
#: within the test that asks first).
@pytest.mark.timeout(600)
def test_the_pipeline_runs_distributed_on_postgres_with_pools_enforced(
    calm_run: CalmRun, request: pytest.FixtureRequest, record_property: Any
) -> None:
    scale_out = calm_run.scale_out
    if scale_out is None:
        pytest.skip("PostgreSQL cannot run here: the calm run ran in one process")
    by_pool, limits, runs = pool_windows(scale_out), scale_out.limits, scale_out.runs
    publish(runs, by_pool, limits, record_property)

    failed = {run.run_id: run.errors for run in runs if not run.success}
    assert not failed, f"failed: {json.dumps(failed, indent=1)}"
    skipped = {run.run_id: run.unmaterialized for run in runs if run.unmaterialized}
    assert not skipped, f"the distributed runs skipped work: {skipped}"
    in_process: HostileRun = request.getfixturevalue("hostile_run")
    difference = calm_run.outcome.end_state.differences(in_process.comparable_end_state())
    assert not difference, f"the distributed run wrote something else:\n{difference}"
    shared = {pool: steps for pool, steps in by_pool.items() if len(steps) > 1}
    assert shared, "no pool had two steps in this run: the pool check would prove nothing"
    assert all(limits.get(pool) == 1 for pool in shared), limits
    blocked_pools = {pool for run in runs for pool in run.blocked.values()}
    assert blocked_pools & set(shared), "no step waited for its pool: nothing contended"
    clashes = {pool: overlaps(steps) for pool, steps in shared.items() if overlaps(steps)}
    assert not clashes, f"steps of one pool overlapped: {clashes}"
