"""Push dbt's artifacts to Dot after each build, so Dot opens and clears data incidents.

Dot reads `run_results.json` + `manifest.json` (`POST /api/dbt/run_results`) and marks the
dashboards on failing models or tests as having "data issues". Pushing from the same step
that ran dbt means the incident state in Dot always matches the build that just happened,
including failed builds — which is exactly when it matters.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from dagster import AssetExecutionContext, HookContext

from dot_orchestration.client import DotError
from dot_orchestration.resources import DotResource

if TYPE_CHECKING:  # an annotation only: dagster-dbt imports dbt-core, seconds of CPU
    from dagster_dbt import DbtCliInvocation


def push_dbt_run_results(
    context: AssetExecutionContext | HookContext, dot: DotResource, invocation: DbtCliInvocation
) -> bool:
    """Send the invocation's artifacts to Dot; a Dot outage is logged, never fails the build.

    `context` is the dbt step's (an `@dbt_assets` function pushing after its build) or the
    hook's that follows it (`DotDbtProjectComponent`); only its log is used.

    Returns whether Dot accepted them. The dbt build's own outcome decides the step's fate:
    failing a good build because an incident feed was unreachable would hide fresh data.
    """
    try:
        run_results = invocation.get_artifact("run_results.json")
        manifest = invocation.get_artifact("manifest.json")
    except FileNotFoundError:
        context.log.warning("dbt wrote no run_results.json; nothing to push to Dot")
        return False
    try:
        with dot.get_client() as client:
            client.push_dbt_run_results(run_results=dict(run_results), manifest=dict(manifest))
    except DotError as error:
        context.log.warning(f"Could not push dbt run results to Dot: {error}")
        return False
    context.log.info("Pushed dbt run_results.json and manifest.json to Dot")
    return True
