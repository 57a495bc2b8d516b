"""The example pipeline distributed: every step in its own process, on a Postgres instance.

The runs load the code location exactly as `dagster dev`, a gRPC code server or a
Kubernetes run pod does (`dot_demo.definitions:defs`, configured by environment
variables only) and execute the whole example pipeline under the multiprocess executor,
in as few runs as Dagster allows (one per partition range; one today), with runs, events
and pool slots in a PostgreSQL cluster (`_postgres`). Steps sharing a pool
(`concurrency: pools: default_limit: 1`) are held apart by the pool alone:
`max_concurrent` is 4, more than the steps that are ready at once.
"""

from __future__ import annotations

import os
import time
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

import pytest
from dagster import (
    AssetKey,
    DagsterEventType,
    DagsterInstance,
    build_reconstructable_job,
    execute_job,
)

import dot_demo

from ._code_location import IMPORT_ROOT, asset_job
from ._pipeline import PIPELINE, Deployment

CODE_LOCATION = ("dot_demo.definitions", "defs")
#: Every asset of the code location as one job (what the implicit `__ASSET_JOB` holds).
EVERY_ASSET_JOB = "every_asset"
#: Steps start from a forkserver that imported the code location, the instance's storage
#: and dbt's selection graph once (the setting a deployment uses so each step does not pay
#: those imports again: dagster-dbt imports the graph, networkx with it, only when the
#: definitions load, half of a step's CPU); still one process per step, sharing nothing
#: in memory with the others.
PRELOAD = [CODE_LOCATION[0], "dagster_postgres", "dbt.graph.cli"]
MULTIPROCESS = {
    "execution": {
        "config": {
            "multiprocess": {
                "max_concurrent": 4,
                "start_method": {"forkserver": {"preload_modules": PRELOAD}},
            }
        }
    }
}
#: Where the forkserver finds the code location (the example's folder) and this suite.
#: It imports `PRELOAD` from `PYTHONPATH` before it applies the test process's `sys.path`
#: (Python 3.11), and silently skips a module it cannot import: every step then paid the
#: imports itself, two thirds of the run's CPU.
CODE_PATH = os.pathsep.join((str(Path(dot_demo.__file__).resolve().parents[1]), IMPORT_ROOT))
#: What a deployment sets in dagster.yaml besides storage: every pool one slot, per op.
POOLS = {"concurrency": {"pools": {"default_limit": 1, "granularity": "op"}}}
_STEP_END = (DagsterEventType.STEP_SUCCESS, DagsterEventType.STEP_FAILURE)


@dataclass(frozen=True)
class DistributedRun:
    """One multiprocess run as the event log recorded it."""

    run_id: str
    success: bool
    windows: dict[str, tuple[float, float]]
    blocked: dict[str, str]
    errors: list[str]
    unmaterialized: list[AssetKey]


@dataclass(frozen=True)
class ScaleOut:
    """The distributed runs of a pipeline, and the pools their steps ran in."""

    runs: list[DistributedRun]
    #: Step (node) name → pool, for every step that has one.
    pools: dict[str, str]
    #: Pool → slots, as the instance enforced them.
    limits: dict[str, int]


def step_pools(deployment: Deployment) -> dict[str, str]:
    """Step (node) name → pool, for every node of the asset job that has one."""
    job = deployment.defs.resolve_implicit_global_asset_job_def()
    return {
        node.name: node.definition.pool
        for node in job.nodes
        if getattr(node.definition, "pool", None)
    }


def step_windows(instance: DagsterInstance, run_id: str) -> dict[str, tuple[float, float]]:
    """Step key → (start, end) timestamps, from the run's events in the event log."""
    starts: dict[str, float] = {}
    windows: dict[str, tuple[float, float]] = {}
    for record in instance.all_logs(run_id):
        event = record.dagster_event
        if event is None or record.step_key is None:
            continue
        if event.event_type == DagsterEventType.STEP_START:
            starts[record.step_key] = record.timestamp
        elif event.event_type in _STEP_END:
            windows[record.step_key] = (starts[record.step_key], record.timestamp)
    return windows


def blocked_steps(instance: DagsterInstance, run_id: str) -> dict[str, str]:
    """Step key → pool, for each step the executor held back for its pool's limit."""
    return {
        record.step_key: record.user_message.rsplit(" ", 1)[-1]
        for record in instance.all_logs(run_id, of_type=DagsterEventType.ENGINE_EVENT)
        if record.step_key and record.user_message.startswith("Step blocked by limit for pool")
    }


def run_errors(instance: DagsterInstance, run_id: str) -> list[str]:
    """The message of every error the run's events carry (step, engine or run failure)."""
    errors = []
    for record in instance.all_logs(run_id):
        event = record.dagster_event
        error = getattr(event.event_specific_data, "error", None) if event else None
        if error is not None:
            errors.append(f"{record.step_key or 'run'}: {error.to_string()}")
    return errors


def not_materialized(
    instance: DagsterInstance, run_id: str, selection: list[AssetKey]
) -> list[AssetKey]:
    """The assets of `selection` the run did not materialize (a run can succeed while
    skipping steps, so success alone does not prove the work was done)."""
    events = instance.all_logs(run_id, of_type=DagsterEventType.ASSET_MATERIALIZATION)
    done = {record.dagster_event.asset_key for record in events if record.dagster_event}
    return [key for key in selection if key not in done]


def distributed_runs(deployment: Deployment) -> list[tuple[list[AssetKey], dict[str, str]]]:
    """The pipeline as few runs as Dagster allows: every step without tags in one run,
    steps with tags (a partition range) in one run per set of tags."""
    groups: dict[tuple[tuple[str, str], ...], set[AssetKey]] = defaultdict(set)
    for step in PIPELINE:
        groups[tuple(sorted(step.tags.items()))] |= step.asset_keys(deployment.defs)
    return [(sorted(keys), dict(tags)) for tags, keys in groups.items()]


def launch(deployment: Deployment) -> ScaleOut:
    """Run the pipeline from the code location, one process per step; the deployment's
    instance must hold its runs in Postgres and enforce `POOLS`."""
    job = build_reconstructable_job(
        asset_job.__module__,
        asset_job.__name__,
        reconstructable_args=(*CODE_LOCATION, EVERY_ASSET_JOB),
        reconstructor_working_directory=IMPORT_ROOT,
    )
    instance, runs, started = deployment.instance, [], time.monotonic()
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("PYTHONPATH", CODE_PATH, prepend=os.pathsep)
        for selection, tags in distributed_runs(deployment):
            with execute_job(
                job, instance, run_config=MULTIPROCESS, asset_selection=selection, tags=tags
            ) as result:
                run_id, success = result.run_id, result.success
            runs.append(
                DistributedRun(
                    run_id,
                    success,
                    step_windows(instance, run_id),
                    blocked_steps(instance, run_id),
                    run_errors(instance, run_id),
                    not_materialized(instance, run_id, selection),
                )
            )
    deployment.seconds += time.monotonic() - started
    limits = {pool.name: pool.limit for pool in instance.event_log_storage.get_pool_limits()}
    return ScaleOut(runs, step_pools(deployment), limits)
