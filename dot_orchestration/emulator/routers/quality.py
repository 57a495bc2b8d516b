"""Data quality and dbt lineage: dbt run results, incidents from any tool, dbt exposures.

Roles: reporting (`run_results`, `incidents`) needs an admin, as Dot's docs say; reading
exposures needs a modeler (it is model metadata for the dbt project).

Incidents: Dot documents only `status: "open"`; how a pushing tool clears one is not
documented. The default profile guesses `status: "resolved"`; the **strict profile**
refuses any other status as FastAPI would for `status: Literal["open"]` (422, the whole
report, new incidents included), the worst case for a client that bundles them.
"""

from dataclasses import asdict
from typing import Annotated, Any, Literal

import yaml
from fastapi import Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from pydantic import BaseModel

from dot_orchestration.emulator.auth import AdminCaller, ModelerCaller, StateDep
from dot_orchestration.emulator.errors import BadRequest, NotFound
from dot_orchestration.emulator.exposures import build_exposures
from dot_orchestration.emulator.incidents import (
    DbtManifest,
    DbtRunResults,
    IncidentItem,
    dbt_findings,
)
from dot_orchestration.emulator.models import ConnectionType
from dot_orchestration.emulator.routers.base import dot_router
from dot_orchestration.emulator.state import EmulatorState

router = dot_router("quality")


class RunResultsBody(BaseModel):
    """Body of `POST /api/dbt/run_results`: dbt's own artifacts, as dbt wrote them."""

    run_results: DbtRunResults
    manifest: DbtManifest


class IncidentReport(BaseModel):
    """Body of `POST /api/quality/incidents`: one tool's findings."""

    source: str
    items: list[IncidentItem]


@router.post("/dbt/run_results", summary="Dbt Run Results")
async def dbt_run_results(body: RunResultsBody, caller: AdminCaller) -> dict[str, Any]:
    """Open incidents for failing models, tests and sources; resolve the ones that pass."""
    findings = dbt_findings(body.run_results, body.manifest)
    summary = caller.space.incidents.report("dbt", findings, record_unknown_resolved=False)
    return asdict(summary)


@router.post("/quality/incidents", summary="Report Quality Incidents")
async def report_incidents(
    body: IncidentReport, caller: AdminCaller, state: StateDep
) -> dict[str, Any]:
    """Upsert incidents keyed by (source, table, check)."""
    if state.config.strict:
        _only_documented_statuses(body.items)
    summary = caller.space.incidents.report(body.source, body.items, record_unknown_resolved=True)
    return asdict(summary)


@router.get("/dbt/exposures", summary="Dbt Exposures", response_model=None)
async def dbt_exposures(
    caller: ModelerCaller,
    state: StateDep,
    request: Request,
    output_format: Annotated[Literal["yaml", "json"], Query(alias="format")] = "yaml",
    connection_id: str | None = None,
) -> dict[str, Any] | Response:
    """dbt exposures for Dot's dashboards and model; YAML (a dbt properties file) or JSON.

    `connection_id` picks the dbt repository; Dot requires it only when the org has more
    than one connected (documented), and answers what then without it is a guess (400).
    """
    _check_dbt_connection(state, connection_id)
    document = build_exposures(
        dashboards=state.config.dashboards,
        dbt_models=state.config.dbt_models,
        base_url=str(request.base_url).rstrip("/"),
    )
    if output_format == "json":
        return document
    properties = {"version": document["version"], "exposures": document["exposures"]}
    return Response(yaml.safe_dump(properties, sort_keys=False), media_type="application/yaml")


def _only_documented_statuses(items: list[IncidentItem]) -> None:
    """Strict profile: the 422 a `status: Literal["open"]` field gives any other status."""
    errors = [
        {
            "type": "literal_error",
            "loc": ("body", "items", index, "status"),
            "msg": "Input should be 'open'",
            "input": item.status,
            "ctx": {"expected": "'open'"},
        }
        for index, item in enumerate(items)
        if item.status != "open"
    ]
    if errors:
        raise RequestValidationError(errors)


def _check_dbt_connection(state: EmulatorState, connection_id: str | None) -> None:
    """404 for a dbt connection the emulator was told it does not have; 400 without one
    when it was told of several dbt repositories."""
    known = state.config.known_connections
    if known is None:
        return
    repositories = [ref.id for ref in known if ref.type == ConnectionType.dbt.value]
    if connection_id is None:
        if len(repositories) > 1:
            raise BadRequest(
                "connection_id is required: more than one dbt repository is connected "
                f"({', '.join(repositories)})"
            )
        return
    if connection_id not in repositories:
        raise NotFound(f"Connection dbt/{connection_id} not found")
