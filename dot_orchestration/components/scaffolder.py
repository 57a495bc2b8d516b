"""`dg scaffold defs dot_orchestration.DotComponent <path>`: a commented `defs.yaml`.

The file must load as written (so `dg check defs` passes right after scaffolding) and
teach the rest: every section the component knows is there, the optional ones commented
out. Secrets are written as environment references (`{{ env.DOT_API_KEY }}`), never as
values, because `defs.yaml` is committed with the code.

When a dbt component sits next to the new one (the usual `defs/dbt` + `defs/dot`), it is
listed in `upstream` and the example connection syncs after all its models; otherwise the
file starts with the catalogue, which needs nothing but Dot.
"""

import importlib
from pathlib import Path

import yaml
from dagster import Scaffolder, ScaffoldRequest
from pydantic import BaseModel, Field


class DotScaffoldParams(BaseModel):
    """`dg scaffold defs dot_orchestration.DotComponent dot --dbt-component dbt ...`"""

    dbt_component: str | None = Field(
        default=None,
        description="Path of the dbt component in the defs folder (default: a sibling "
        "folder holding a DbtProjectComponent, if there is one).",
    )
    connection_type: str = Field(default="snowflake", description="The Dot connection type.")
    connection_id: str = Field(default="prod", description="The connection's id in Dot.")
    region: str = Field(default="app", description="Dot region: app (US) or eu.")


class DotComponentScaffolder(Scaffolder[DotScaffoldParams]):
    """Writes the commented `defs.yaml` of a new `DotComponent`."""

    @classmethod
    def get_scaffold_params(cls) -> type[DotScaffoldParams]:
        return DotScaffoldParams

    def scaffold(self, request: ScaffoldRequest[DotScaffoldParams]) -> None:
        params = request.params
        dbt = params.dbt_component or sibling_dbt_component(request.target_path)
        text = render_defs_yaml(request.type_name, params, dbt)
        request.target_path.mkdir(parents=True, exist_ok=True)
        (request.target_path / "defs.yaml").write_text(text, encoding="utf-8")


def sibling_dbt_component(target: Path) -> str | None:
    """The folder name of a dbt component next to `target`, when there is exactly one."""
    found = [
        child.name
        for child in sorted(target.parent.iterdir())
        if child != target and _is_dbt_component(child / "defs.yaml")
    ]
    return found[0] if len(found) == 1 else None


def _is_dbt_component(defs_yaml: Path) -> bool:
    if not defs_yaml.is_file():
        return False
    try:
        documents = list(yaml.safe_load_all(defs_yaml.read_text(encoding="utf-8")))
    except yaml.YAMLError:
        return False
    return any(isinstance(doc, dict) and _is_dbt_type(doc.get("type")) for doc in documents)


def _is_dbt_type(type_name: object) -> bool:
    """`dagster_dbt.DbtProjectComponent`, its long name, or a subclass of it.

    dagster-dbt is imported here, not with the module: it imports dbt-core (seconds of
    CPU), and `DotComponent` imports this module in code locations without dbt."""
    if not isinstance(type_name, str) or type_name.startswith(".") or "." not in type_name:
        return False
    from dagster_dbt import DbtProjectComponent

    module, _, name = type_name.rpartition(".")
    try:
        found = getattr(importlib.import_module(module), name)
    except (ImportError, AttributeError):
        return False
    return isinstance(found, type) and issubclass(found, DbtProjectComponent)


def render_defs_yaml(type_name: str, params: DotScaffoldParams, dbt: str | None) -> str:
    """The scaffolded file: workspace, then syncs (with dbt) or the catalogue (without)."""
    on, off = "", "# "
    parts = [
        _HEADER.format(type_name=type_name, region=params.region),
        _UPSTREAM.format(upstream=f"[{dbt}]" if dbt else "[]   # e.g. [dbt]"),
        _SYNC.format(
            c=on if dbt else off,
            type=params.connection_type if dbt else "snowflake",
            id=params.connection_id if dbt else "prod",
        ),
        _CATALOGUE.format(c=off if dbt else on),
        _COMMENTED_SECTIONS,
    ]
    return "\n".join(parts)


# The templates are flush left: their indentation is YAML's.
_HEADER = """\
# Dot (getdot.ai) for this code location; `dg check defs` validates this file.
# Secrets are references to environment variables (a project's .env file works too),
# never values: this file is committed with the code. They are read when a run starts,
# so `dg check defs` needs none of them set.
type: {type_name}

# What a run needs from the environment (`dg list env` lists it).
requirements:
  env: [DOT_API_KEY]

attributes:
  # Where Dot is and how to talk to it: the `dot` resource of every Dot asset.
  # The token: Dot > Settings > Users > Create New Token. The region: app (US) or eu;
  # or instead an explicit base_url, e.g. the local emulator's.
  workspace:
    api_token: "{{{{ env.DOT_API_KEY }}}}"
    region: {region}
    # base_url: "{{{{ env.DOT_BASE_URL }}}}"
    # user_id: data@example.com   # the token owner's email, needed for auth_mode: url
    # auth_mode: header           # or url (query-string auth; sync, import, export only)
    # environment: staging        # a Dot environment id (sent as X-Dot-Environment)
    # max_concurrency: 8          # Dot calls one step makes at the same time
    # read_timeout_s: 60          # also connect_timeout_s, agentic_timeout_s, max_attempts,
    #                             # initial_backoff_s, max_backoff_s, max_wait_s
"""

_UPSTREAM = """\
  # Paths in the defs folder of the components whose assets Dot reads: the dbt
  # component (for `dbt_select`) and BI integrations (for the catalogue).
  upstream: {upstream}
"""

_SYNC = """\
  # Re-sync Dot's connections once the dbt models they read were rebuilt cleanly. Each
  # connection: its type and id in Dot (Settings > Connections), and the models it reads
  # as a dbt selection (e.g. tag:dot), or other upstream assets as asset_keys.
  {c}sync:
  {c}  connections:
  {c}    - type: {type}
  {c}      id: {id}
  {c}      dbt_select: "fqn:*"
  #       dbt_exclude: tag:private
  #       asset_keys: [bi/revenue_extract]
  #       owners: [team:data]
  {c}  automation: true        # a sensor (running) syncs after each clean dbt build
  #   schedule:              # and/or a nightly `dbt build, then Dot syncs` job
  #     cron_schedule: "0 5 * * *"
  #     timezone: UTC
  #     default_status: RUNNING
"""

_CATALOGUE = """\
  # Dot's external assets (dashboards, data apps) kept in step with YAML catalogues
  # and the BI dashboards of the upstream components; the ids it owns start `dagster:`.
  {c}catalogue:
  {c}  dagster_assets: true
  #   files: [dot_catalogue.yaml]   # relative to this folder
  #   on_removed: deactivate        # or delete, keep
  #   schedule:                     # reconcile on a cron; stopped when deployed
  #     cron_schedule: "0 5 * * *"
"""

_COMMENTED_SECTIONS = """\
  # Dot's shared dashboards downstream of their dbt models. Dot's exposures are Dagster
  # defs state: `dg utils refresh-defs-state` fetches them (loading never calls Dot).
  # exposures: {}

  # Dot's conversation history in a warehouse, one partition per day. For the dbt models
  # reading it to run after the export, make the dbt component a
  # dot_orchestration.DotDbtProjectComponent with `dot_history: {}`.
  # history:
  #   start_date: 2025-01-01
  #   timezone: UTC
  #   warehouse:
  #     path: "{{ env.DOT_HISTORY_DUCKDB }}"
  #   # or, instead of `warehouse`, a PostgreSQL database:
  #   # postgres:
  #   #   host: "{{ env.DOT_HISTORY_PGHOST }}"
  #   #   dbname: analytics
  #   #   user: "{{ env.DOT_HISTORY_PGUSER }}"
  #   #   password: "{{ env.DOT_HISTORY_PGPASSWORD }}"
  #   # or Snowflake (likewise `redshift`, `bigquery`, `databricks`: see the README):
  #   # snowflake:
  #   #   account: "{{ env.SNOWFLAKE_ACCOUNT }}"
  #   #   user: DOT_EXPORT
  #   #   database: ANALYTICS
  #   #   warehouse: TRANSFORMING
  #   #   password: "{{ env.SNOWFLAKE_PASSWORD }}"
  #   schedule:
  #     hour_of_day: 1
  #     downstream_dbt_select: tag:dot_usage
  #   freshness:
  #     deadline_cron: "0 6 * * *"

  # Confluence pages as Dot notes.
  # confluence:
  #   site:
  #     base_url: "{{ env.CONFLUENCE_BASE_URL }}"
  #     email: "{{ env.CONFLUENCE_EMAIL }}"
  #     api_token: "{{ env.CONFLUENCE_API_TOKEN }}"
  #   syncs:
  #     - name: metrics
  #       selection:
  #         descendants_of: ["123456"]
  #       dialect: org_notes

  # Questions Dot answers as assets (dot/questions/<name>), on a cron or after the assets
  # they read, and checks of the answers: a number against SQL on the warehouse (kind:
  # number), phrases (phrases) or the tables the answer read (tables).
  # questions:
  #   - name: weekly_revenue_summary
  #     question: "Weekly revenue summary: revenue and orders of the last four weeks"
  #     cron: "0 7 * * 1"
  #   - name: revenue_last_month
  #     question: What was the revenue last month?
  #     deps: [dot/sync/duckdb/prod]   # the syncs it answers from: asked after each
  #     expect:
  #       - kind: number
  #         name: dot_revenue_matches_orders
  #         asset: daily_revenue       # the dbt model the answer reads (a warning)
  #         sql: |
  #           select sum(amount) from orders
  #           where order_date >= date '2026-02-01' and order_date < date '2026-03-01'
  #         warehouse:
  #           path: "{{ env.DOT_DEMO_DUCKDB_PATH }}"
  #         relative_tolerance: 0.005

  # Freshness from the schedules above (an asset a schedule refreshes is late one
  # interval plus the grace after a missed run), alerts on failed runs and checks (to
  # Slack and/or Teams; logged without a channel), and Dot quality incidents while a
  # dbt test on a table Dot reads fails.
  # monitoring:
  #   freshness_grace_minutes: 60     # or schedule_freshness: false
  #   ui_url: https://dagster.example.com
  #   alerts:
  #     slack_token: "{{ env.DOT_ALERTS_SLACK_TOKEN }}"
  #     slack_channel: "#data-ops"

  # Keys, groups, owners and tags of every Dot asset. Templates see `spec` and
  # `operation` (sync, catalogue, dashboard, exposures_snapshot, history, notes).
  # translation:
  #   group_name: dot
  #   owners: [team:data]
  #   tags:
  #     dot/team: data
"""


__all__ = ["DotComponentScaffolder", "DotScaffoldParams", "render_defs_yaml"]
