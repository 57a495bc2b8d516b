"""The calm run: the example pipeline once, fault-free, header auth, default settings.

Where PostgreSQL runs it is the distributed deployment (`_distributed`: every step in its
own process, runs, events and pool slots in Postgres); elsewhere the same runs in this
process on SQLite. The instance logs httpx, httpcore and the package at DEBUG into the
event log (the token scan's setting; it changes what is logged, not what is run or
written), and what it kept is searched while it is open, stdout and stderr captured as
`capfd` would (child processes' too).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ._distributed import POOLS, ScaleOut, launch
from ._end_state import capture_end_state
from ._pipeline import (
    Deployment,
    Outcome,
    World,
    deployed,
    deployment_env,
    dot_run_config,
    outcome_of,
)
from ._postgres import PostgresCluster
from ._token_scan import DEBUG_PYTHON_LOGS, Sources, captured_output, searchable_sources
from ._traffic import Control


@dataclass(frozen=True)
class CalmRun:
    """The suite's fault-free run: its outcome, everything it left (to search), and, when
    it ran distributed, its runs and pools."""

    outcome: Outcome
    sources: Sources
    scale_out: ScaleOut | None


def run_calm(
    home: Path, world: World, control: Control, postgres: PostgresCluster | None
) -> CalmRun:
    """The pipeline on a fresh instance under `home`: distributed on `postgres`, or in this
    process without it."""
    overrides: dict[str, Any] = dict(DEBUG_PYTHON_LOGS)
    if postgres is not None:
        overrides |= {"storage": postgres.dagster_storage(), **POOLS}
    env = deployment_env(home, world)
    with (
        captured_output() as output,
        deployed(home, env, instance_overrides=overrides) as deployment,
    ):
        if postgres is None:
            deployment.run()
            scale_out, outcome = None, outcome_of(deployment, control)
        else:
            scale_out = launch(deployment)
            outcome = distributed_outcome(deployment, scale_out, control)
        sources = searchable_sources(deployment, dot_run_config())
    sources["stdout/stderr"] = [("stdout", output.out), ("stderr", output.err)]
    return CalmRun(outcome, sources, scale_out)


def distributed_outcome(deployment: Deployment, scale_out: ScaleOut, control: Control) -> Outcome:
    """What the distributed runs left in Dot and cost; failures and skipped assets by run."""
    failed = [
        f"{run.run_id}: {error}"
        for run in scale_out.runs
        if not run.success
        for error in run.errors or ["failed without an error event"]
    ]
    skipped = {
        run.run_id: sorted(key.to_user_string() for key in run.unmaterialized)
        for run in scale_out.runs
        if run.unmaterialized
    }
    return Outcome(
        end_state=capture_end_state(deployment.settings, control.state()),
        traffic=control.traffic(),
        seconds=deployment.seconds,
        failed_steps=failed,
        unmaterialized=skipped,
    )
