"""dbt exposures for Dot: what in Dot depends on which dbt model.

`GET /api/dbt/exposures` answers a dbt properties file (`version: 2`, `exposures:`) with one
exposure per shared Dot dashboard, depending on the models the dashboard's charts query
(`ref('orders')`), plus one aggregate `dot_model` exposure for Dot's semantic model as a
whole. Dashboards that use no dbt model cannot be exposures; the JSON form lists them in
`apps_without_dbt_models` so a caller can see what lineage is missing.
"""

import re
from typing import Any

from dot_orchestration.emulator.config import SeededDashboard
from dot_orchestration.emulator.directory import User


def build_exposures(
    *,
    dashboards: list[SeededDashboard],
    dbt_models: list[str],
    owner: User,
    base_url: str,
    connection_id: str | None,
) -> dict[str, Any]:
    """The exposures document (JSON form; the YAML form drops `apps_without_dbt_models`)."""
    shared = [dashboard for dashboard in dashboards if dashboard.shared]
    meta = {"dot_connection_id": connection_id} if connection_id else {}
    exposures = [
        _dashboard_exposure(dashboard, base_url, meta) for dashboard in shared if dashboard.models
    ]
    exposures.append(_dot_model_exposure(dbt_models, owner, base_url, meta))
    return {
        "version": 2,
        "exposures": exposures,
        "apps_without_dbt_models": [
            {"id": d.id, "name": d.name, "url": _dashboard_url(d, base_url)}
            for d in shared
            if not d.models
        ],
    }


def _dashboard_exposure(
    dashboard: SeededDashboard, base_url: str, meta: dict[str, Any]
) -> dict[str, Any]:
    """One shared dashboard as a dbt exposure of type `dashboard`."""
    return {
        "name": f"dot_{_identifier(dashboard.name)}",
        "label": dashboard.name,
        "type": "dashboard",
        "maturity": "medium",
        "url": _dashboard_url(dashboard, base_url),
        "description": dashboard.description,
        "depends_on": _refs(dashboard.models),
        "owner": {"name": dashboard.owner_name, "email": dashboard.owner_email},
        "meta": {"dot_dashboard_id": dashboard.id, **meta},
    }


def _dot_model_exposure(
    dbt_models: list[str], owner: User, base_url: str, meta: dict[str, Any]
) -> dict[str, Any]:
    """Dot's semantic model as one `application` exposure over every model it uses."""
    return {
        "name": "dot_model",
        "label": "Dot semantic model",
        "type": "application",
        "maturity": "high",
        "url": base_url,
        "description": "Every dbt model Dot answers questions from.",
        "depends_on": _refs(dbt_models),
        "owner": {"name": owner.realname, "email": owner.email},
        "meta": dict(meta),
    }


def _refs(models: list[str]) -> list[str]:
    """`ref('model')` entries, sorted and without duplicates."""
    return [f"ref('{model}')" for model in sorted(set(models))]


def _dashboard_url(dashboard: SeededDashboard, base_url: str) -> str:
    """The dashboard's configured URL, or where the emulator would show it."""
    return dashboard.url or f"{base_url}/dashboards/{dashboard.id}"


def _identifier(name: str) -> str:
    """A dbt-safe exposure name: lower-case words joined by underscores."""
    return re.sub(r"[^a-z0-9]+", "_", name.lower()).strip("_")
