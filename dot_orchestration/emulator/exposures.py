"""dbt exposures for Dot: what in Dot depends on which dbt model.

`GET /api/dbt/exposures` answers a dbt v2 properties file (`version: 2`, `exposures:`) in
the shape Dot documents (dbt Exposures page), in both profiles:

* one exposure per shared Dot dashboard (`type: dashboard`), named `dot_<name>`, with
  `url: <host>/apps/<app id>`, `description: 'Dot dashboard: <name>'`, an owner, the
  dbt models its queries read as `depends_on: [ref(...)]`, and `meta` keys `dot_app_id`
  (e.g. `_shared__orders-pulse`) and `dot_tables` (the tables it reads). A model missing
  from the dbt manifest is withheld from `depends_on` into `meta.dot_unresolved_models`;
  a table matching several table docs goes to `meta.dot_ambiguous_tables` (the seeded org
  has none);
* one aggregate `dot_model` exposure (`type: application`) over every dbt model Dot has a
  table doc for, with `meta: {dot_aggregate: true, dot_model_count: N}`.

Dashboards that use no dbt model cannot be exposures; the JSON form lists them in
`apps_without_dbt_models` (documented; the items' fields are not: `id`, `name`, `url` here).
Guessed: the schema part of `dot_tables` (`analytics.public.<model>`, as in Dot's example).
"""

import re
from typing import Any

from dot_orchestration.emulator.config import SeededDashboard

#: Where the seeded dbt models live in the warehouse, as in Dot's documented example.
TABLE_PREFIX = "analytics.public"
_AGGREGATE_DESCRIPTION = (
    "Dot AI data analyst — downstream consumer of every dbt model Dot has table "
    "documentation for. Changes to these models can affect Dot's answers, dashboards, and "
    "scheduled reports."
)


def build_exposures(
    *, dashboards: list[SeededDashboard], dbt_models: list[str], base_url: str
) -> dict[str, Any]:
    """The exposures document (JSON form; the YAML form drops `apps_without_dbt_models`)."""
    shared = [dashboard for dashboard in dashboards if dashboard.shared]
    exposures = [
        _dashboard_exposure(dashboard, dbt_models, base_url)
        for dashboard in shared
        if dashboard.models
    ]
    exposures.append(_dot_model_exposure(dbt_models, base_url))
    return {
        "version": 2,
        "exposures": exposures,
        "apps_without_dbt_models": [
            {"id": d.id, "name": d.name, "url": _app_url(d, base_url)}
            for d in shared
            if not d.models
        ],
    }


def _dashboard_exposure(
    dashboard: SeededDashboard, dbt_models: list[str], base_url: str
) -> dict[str, Any]:
    """One shared dashboard as a dbt exposure of type `dashboard` (documented shape)."""
    resolved = [model for model in dashboard.models if model in dbt_models]
    unresolved = sorted(set(dashboard.models) - set(resolved))
    meta: dict[str, Any] = {
        "dot_app_id": dashboard.id,
        "dot_tables": [f"{TABLE_PREFIX}.{model}" for model in sorted(set(dashboard.models))],
    }
    if unresolved:
        meta["dot_unresolved_models"] = unresolved
    return {
        "name": f"dot_{_identifier(dashboard.name)}",
        "label": dashboard.name,
        "type": "dashboard",
        "url": _app_url(dashboard, base_url),
        "description": f"Dot dashboard: {dashboard.name}",
        "owner": {"name": dashboard.owner_email, "email": dashboard.owner_email},
        "depends_on": _refs(resolved),
        "meta": meta,
    }


def _dot_model_exposure(dbt_models: list[str], base_url: str) -> dict[str, Any]:
    """Dot as a whole: one `application` exposure over every model it documents."""
    return {
        "name": "dot_model",
        "label": "Dot Model",
        "type": "application",
        "url": f"{base_url}/apps",
        "description": _AGGREGATE_DESCRIPTION,
        "owner": {"name": "Dot"},
        "depends_on": _refs(dbt_models),
        "meta": {"dot_aggregate": True, "dot_model_count": len(set(dbt_models))},
    }


def _refs(models: list[str]) -> list[str]:
    """`ref('model')` entries, sorted and without duplicates (deterministic output)."""
    return [f"ref('{model}')" for model in sorted(set(models))]


def _app_url(dashboard: SeededDashboard, base_url: str) -> str:
    """The dashboard's configured URL, or where Dot shows an app: `<host>/apps/<id>`."""
    return dashboard.url or f"{base_url}/apps/{dashboard.id}"


def _identifier(name: str) -> str:
    """A dbt-safe exposure name: lower-case words joined by underscores."""
    return re.sub(r"[^a-z0-9]+", "_", name.lower()).strip("_")
