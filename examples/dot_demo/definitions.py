"""The example code location: the demo dbt project on DuckDB wired to every Dot operation.

`workspace.yaml` loads `defs` from here (`dot_demo.definitions`, with `examples/` on the
path), `make demo` and the tests build it with their own settings. It lives outside the
package, as a user's own code location would: it imports `dot_orchestration` like any
project that installed it. Everything environment-specific comes from `ExampleSettings`,
so pointing the same definitions at a real Dot region or another warehouse is a change of
settings and resources, never of this code.
"""

import json
import os
import shutil
import sys
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any
from uuid import uuid4

from dagster import (
    AssetExecutionContext,
    AssetsDefinition,
    AssetSelection,
    Definitions,
    Failure,
    definitions,
)
from dagster_dbt import DbtCliResource, DbtProject, dbt_assets
from filelock import FileLock

from dot_orchestration.catalogue import (
    CatalogueSchedule,
    CatalogueSettings,
    ExposuresSettings,
    build_dot_catalogue_definitions,
)
from dot_orchestration.confluence import PageSelection
from dot_orchestration.dbt_run_results import push_dbt_run_results
from dot_orchestration.history import (
    DotHistoryDbtTranslator,
    DotHistorySettings,
    DuckDBWarehouse,
    HistoryFreshness,
    HistorySchedule,
    build_dot_history_definitions,
)
from dot_orchestration.monitoring import MonitoringSettings, build_dot_monitoring_definitions
from dot_orchestration.notes import (
    ConfluenceNoteSync,
    ConfluenceResource,
    DotNotesSettings,
    build_dot_notes_definitions,
)
from dot_orchestration.questions import (
    DotQuestion,
    DuckDBQuery,
    NumberExpectation,
    build_dot_question_definitions,
)
from dot_orchestration.resources import DotResource
from dot_orchestration.syncs import (
    DotConnection,
    SyncSchedule,
    SyncSettings,
    build_dot_sync_definitions,
    sync_assets_of,
    tables_read_by_dot,
)

#: `examples/`: the dbt project and the catalogue file sit beside this package.
EXAMPLES_DIR = Path(__file__).resolve().parents[1]
#: The checkout the example runs in; the demo's state goes to its `.demo/` (git-ignored).
REPO_ROOT = EXAMPLES_DIR.parent
DBT_TARGET = Path("target") / "dot_orchestration"
#: dbt's saved parse state (in a target folder), read by the next invocation that matches it.
PARTIAL_PARSE = "partial_parse.msgpack"
#: The models reading Dot's exported history (`models/dot_usage/`), built after the export.
USAGE_SELECT = "tag:dot_usage"
#: Every dbt invocation of the example parses with the history models on, so the manifest,
#: the nightly build and the usage build all see the same nodes.
DBT_VARS: Mapping[str, Any] = {"dot_usage_enabled": True}
#: A model the manifest has only when parsed with `DBT_VARS`: a manifest without it is stale.
USAGE_MODEL_ID = "model.dot_demo.dot_usage_daily"
#: DuckDB takes one writing process per file: dbt and the history export share this pool
#: (limit 1, see README "Pools").
DUCKDB_POOL = "dot_demo_duckdb"

EXAMPLE_CONNECTIONS = (
    DotConnection(type="duckdb", id="dot_demo", dbt_select="tag:dot", owners=("team:data",)),
    DotConnection(type="dbt", id="dot_demo", dbt_select="fqn:*", owners=("team:data",)),
)
#: Synced after each clean build (the automation sensor, running) and by the nightly
#: `dbt build → Dot syncs` job (stopped until someone starts it).
EXAMPLE_SYNC = SyncSettings(connections=EXAMPLE_CONNECTIONS, schedule=SyncSchedule())

# The whole history since the start of 2025 (the emulator's is the last 365 days), every
# workspace, in the warehouse file dbt builds: `dot_history.conversations` and `.messages`,
# exported daily (the last three closed days, for late reviews) and due by 06:00 UTC.
EXAMPLE_HISTORY = DotHistorySettings(
    start_date=date(2025, 1, 1),
    include_all_workspaces=True,  # not in Dot's documented API: an opt-in Dot may ignore
    pool=DUCKDB_POOL,
    owners=("team:data",),
    # the demo's default file; `history_definitions` points it at `ExampleSettings.duckdb_path`
    warehouse=DuckDBWarehouse(path=str(REPO_ROOT / ".demo" / "dot_demo.duckdb")),
    schedule=HistorySchedule(refresh_days=3),
    freshness=HistoryFreshness(),
)

# The Confluence emulator's seeded space: the data team's pages plus the runbooks in ENG.
EXAMPLE_NOTE_SYNC = ConfluenceNoteSync(
    selection=PageSelection(descendants_of=("100000",), cql=('space = ENG and label = "runbook"',)),
    owners=("team:data",),
)


#: The example's questions are asked after the syncs of the connections Dot answers from.
SYNC_KEYS = tuple(f"dot/sync/{c.type}/{c.id}" for c in EXAMPLE_CONNECTIONS)
#: The truth Dot's "revenue last month" is checked against: the month before the last
#: order's, summed from `orders` (what `daily_revenue`, which Dot reads, is built from).
REVENUE_LAST_MONTH_SQL = """\
select sum(amount) from orders
where status <> 'returned'
  and date_trunc('month', order_date) =
      (select date_trunc('month', max(order_date)) - interval 1 month from orders)"""


def example_questions(duckdb_path: Path) -> tuple[DotQuestion, ...]:
    """A weekly revenue summary landed as an asset (Mondays 07:00 UTC), and "revenue
    last month" asked after every sync (and daily at 06:00 UTC, an hour after the nightly
    build), its number checked on `daily_revenue` against `orders` in the warehouse at
    `duckdb_path`: a dbt change that gets the model wrong makes Dot's answer wrong, and
    this check says so. Both schedules are stopped until someone starts them."""
    return (
        DotQuestion(
            name="weekly_revenue_summary",
            question="Weekly revenue summary: revenue and orders of the last four weeks",
            deps=SYNC_KEYS,
            ask_after_deps=False,
            cron="0 7 * * 1",
            labels=("dagster", "weekly"),
            owners=("team:data",),
        ),
        DotQuestion(
            name="revenue_last_month",
            question="What was the revenue last month?",
            deps=SYNC_KEYS,
            cron="0 6 * * *",
            owners=("team:data",),
            expect=(
                NumberExpectation(
                    name="dot_revenue_last_month_matches_orders",
                    asset="daily_revenue",
                    sql=REVENUE_LAST_MONTH_SQL,
                    warehouse=DuckDBQuery(path=duckdb_path),
                    tolerance=0.01,
                ),
            ),
        ),
    )


@dataclass(frozen=True)
class ExampleSettings:
    """Where the example's state lives; defaults are the embedded ones (`.demo/`)."""

    dbt_project_dir: Path = EXAMPLES_DIR / "dbt_project"
    demo_home: Path = REPO_ROOT / ".demo"
    sync: SyncSettings = EXAMPLE_SYNC
    push_dbt_run_results: bool = True
    catalogue_file: Path = EXAMPLES_DIR / "dot_catalogue.yaml"
    note_sync: ConfluenceNoteSync = EXAMPLE_NOTE_SYNC
    history: DotHistorySettings = EXAMPLE_HISTORY
    env: Mapping[str, str] = field(default_factory=lambda: dict(os.environ))

    @property
    def duckdb_path(self) -> Path:
        """The one DuckDB file dbt builds into (`DOT_DEMO_DUCKDB_PATH` overrides it)."""
        override = self.env.get("DOT_DEMO_DUCKDB_PATH")
        return Path(override) if override else self.demo_home / "dot_demo.duckdb"

    @property
    def dbt_runs_dir(self) -> Path:
        """Where each dbt run's artifacts (run_results.json, logs) are kept."""
        return self.demo_home / "dbt_runs"

    @property
    def exposures_state(self) -> Path:
        """Dot's dbt exposures as last fetched (`DOT_EXPOSURES_STATE` overrides the path)."""
        override = self.env.get("DOT_EXPOSURES_STATE")
        return Path(override) if override else self.demo_home / "dot_exposures.json"

    @classmethod
    def from_env(cls) -> "ExampleSettings":
        """Settings from `DOT_DEMO_HOME` / `DOT_DBT_PROJECT_DIR` when set."""
        env = dict(os.environ)
        defaults = cls()
        return cls(
            dbt_project_dir=Path(env.get("DOT_DBT_PROJECT_DIR", defaults.dbt_project_dir)),
            demo_home=Path(env.get("DOT_DEMO_HOME", defaults.demo_home)),
            env=env,
        )


def dbt_executable() -> str:
    """`DOT_DEMO_DBT_EXECUTABLE` when set (another dbt, e.g. a wrapper that starts faster),
    else the `dbt` installed beside this interpreter, so an unactivated venv still finds it."""
    chosen = os.environ.get("DOT_DEMO_DBT_EXECUTABLE")
    if chosen:
        return chosen
    beside = Path(sys.executable).with_name("dbt")
    return str(beside) if beside.exists() else "dbt"


def prepared_dbt_project(settings: ExampleSettings) -> DbtProject:
    """The dbt project with a current manifest, parsed again when a project file is newer.

    dagster-dbt re-parses only under `dagster dev`; the demo, the tests and `dagster dev`
    all go through here, so an edited model is never loaded from a stale manifest.
    """
    # A target folder of its own: a hand-run `dbt parse --vars ...` in the default `target/`
    # must not change which models these definitions load.
    project = DbtProject(project_dir=settings.dbt_project_dir, target_path=DBT_TARGET)
    # dbt-duckdb reads its file from the profile's env var, in dbt's own process.
    os.environ.setdefault("DOT_DEMO_DUCKDB_PATH", str(settings.duckdb_path))
    # Code servers, `dagster dev` and parallel tests load this at once: one parses, the
    # others wait for it instead of reading a half-written manifest.
    target = project.project_dir / project.target_path
    target.mkdir(parents=True, exist_ok=True)
    with FileLock(target / ".parse.lock"):
        if _manifest_is_stale(project):
            dbt = DbtCliResource(project_dir=project, dbt_executable=dbt_executable())
            parse = ["parse", "--quiet", "--vars", json.dumps(DBT_VARS)]
            dbt.cli(parse, target_path=project.target_path).wait()
    return project


def _manifest_is_stale(project: DbtProject) -> bool:
    """Missing, parsed without `DBT_VARS`, or older than a file of the project."""
    if not project.manifest_path.exists():
        return True
    if USAGE_MODEL_ID not in json.loads(project.manifest_path.read_text()).get("nodes", {}):
        return True
    built = project.manifest_path.stat().st_mtime
    sources = (
        path
        for pattern in ("*.sql", "*.yml", "*.csv")
        for path in project.project_dir.rglob(pattern)
        if project.target_path.parts[0] not in path.relative_to(project.project_dir).parts
    )
    return any(path.stat().st_mtime > built for path in sources)


def build_example_dbt_assets(
    project: DbtProject,
    *,
    push_run_results: bool,
    name: str = "dot_demo_dbt",
    select: str = "fqn:*",
    exclude: str | None = USAGE_SELECT,
    history: DotHistorySettings = EXAMPLE_HISTORY,
    runs_dir: Path | None = None,
) -> AssetsDefinition:
    """`dbt build` of the selected models streamed into Dagster; its artifacts optionally
    pushed to Dot afterwards. The dbt sources reading the history export are its asset.

    Each run's dbt artifacts go to a folder of their own under `runs_dir` (dagster-dbt's
    default is the project's `target/`, where they pile up and are copied with the project
    by `dg`); None keeps dagster-dbt's default.
    """

    @dbt_assets(
        manifest=project.manifest_path,
        project=project,
        name=name,
        select=select,
        exclude=exclude,
        dagster_dbt_translator=DotHistoryDbtTranslator(history),
        pool=history.pool,
    )
    def _dbt_build(
        context: AssetExecutionContext,
        dbt: DbtCliResource,
        dot: DotResource,
    ) -> Iterator[Any]:
        args = ["build", "--vars", json.dumps(DBT_VARS)]
        target = run_target(context, runs_dir, project)
        invocation = dbt.cli(args, context=context, raise_on_error=False, target_path=target)
        yield from invocation.stream()
        if target is not None and runs_dir is not None:
            keep_parse_state(target, runs_dir)
        if push_run_results:
            push_dbt_run_results(context, dot, invocation)
        if not invocation.is_successful():
            raise Failure(
                description="dbt build failed; the assets downstream of it will not run",
                metadata={"dbt_error": str(invocation.get_error())},
            )

    return _dbt_build


def run_target(
    context: AssetExecutionContext, runs_dir: Path | None, project: DbtProject
) -> Path | None:
    """A folder of this step's own under `runs_dir` (a retried step gets a new one), holding
    dbt's parse state from before, so the build parses only what changed since.

    dbt re-parses the whole project when its target folder has no `partial_parse.msgpack`,
    and dagster-dbt copies one into a run's folder only from `target/` or `DBT_TARGET_PATH`,
    not from where these definitions parse (`DBT_TARGET`). The state is the last build's
    under `runs_dir` (`keep_parse_state`), else the definitions' own parse. dbt
    checks it before use (same dbt, `--vars`, profile and project files, else it parses
    in full), so a stale copy costs a full parse, never a wrong manifest.
    """
    if runs_dir is None:
        return None
    target = runs_dir / f"{context.op_def.name}-{context.run.run_id[:8]}-{uuid4().hex[:7]}"
    saved = (runs_dir / PARTIAL_PARSE, project.project_dir / project.target_path / PARTIAL_PARSE)
    state = next((path for path in saved if path.exists()), None)
    if state is not None:
        target.mkdir(parents=True)
        shutil.copyfile(state, target / PARTIAL_PARSE)
    return target


def keep_parse_state(target: Path, runs_dir: Path) -> None:
    """Keep a build's parse state for the next build under `runs_dir`.

    Every build of the example passes the same `--vars` (`DBT_VARS`; the dbt project's
    failure switches are environment variables, which leave the parse valid), so the last
    build's parse is the next one's; the file is replaced whole, so a build starting
    meanwhile reads the old or the new one.
    """
    state = target / PARTIAL_PARSE
    if state.exists():
        partial = runs_dir / f".{PARTIAL_PARSE}.{uuid4().hex[:7]}"
        shutil.copyfile(state, partial)
        partial.replace(runs_dir / PARTIAL_PARSE)


def build_definitions(settings: ExampleSettings) -> Definitions:
    """Every asset, check, job, schedule and sensor of the example, with its resources."""
    project = prepared_dbt_project(settings)
    dbt = build_example_dbt_assets(
        project,
        push_run_results=settings.push_dbt_run_results,
        history=settings.history,
        runs_dir=settings.dbt_runs_dir,
    )
    sync = build_dot_sync_definitions(settings.sync, upstream=[dbt])
    syncs = sync_assets_of(sync)
    core = Definitions(
        assets=[dbt],
        resources={
            "dbt": DbtCliResource(project_dir=project, dbt_executable=dbt_executable()),
            "dot": DotResource.from_env(settings.env),
        },
    )
    usage = build_example_dbt_assets(
        project,
        push_run_results=False,
        name="dot_usage_dbt",
        select=USAGE_SELECT,
        exclude=None,
        history=settings.history,
        runs_dir=settings.dbt_runs_dir,
    )
    example = Definitions.merge(
        core,
        sync,
        history_definitions(settings, usage),
        catalogue_definitions(settings, dbt_assets=[dbt, usage], syncs=syncs),
        build_dot_question_definitions(example_questions(settings.duckdb_path)),
        *optional_definitions(settings),
    )
    return build_dot_monitoring_definitions(
        example, MonitoringSettings.from_env(settings.env), dot_tables=tables_read_by_dot(syncs)
    )


def history_definitions(settings: ExampleSettings, usage: AssetsDefinition) -> Definitions:
    """The daily history export into the dbt warehouse, then the usage models reading it."""
    # The tables go to the file dbt builds, wherever `DOT_DEMO_DUCKDB_PATH` moved it.
    warehouse = DuckDBWarehouse(path=str(settings.duckdb_path))
    history = settings.history.model_copy(update={"warehouse": warehouse, "postgres": None})
    return Definitions.merge(
        build_dot_history_definitions(history, downstream=AssetSelection.assets(usage)),
        Definitions(assets=[usage]),
    )


def catalogue_definitions(
    settings: ExampleSettings, *, dbt_assets: list[AssetsDefinition], syncs: AssetsDefinition
) -> Definitions:
    """Dot's dashboards in the lineage (from the exposures file the snapshot asset and
    `dot-orchestration refresh-exposures` write), and Dot's catalogue reconciled with the
    catalogue file and the graph every morning (`dot_catalogue_daily`, stopped)."""
    return build_dot_catalogue_definitions(
        CatalogueSettings(
            files=(str(settings.catalogue_file),),
            owners=("team:data",),
            schedule=CatalogueSchedule(),
        ),
        exposures=ExposuresSettings(
            state_path=str(settings.exposures_state), owners=("team:data",)
        ),
        upstream=[*dbt_assets, syncs],
    )


def optional_definitions(settings: ExampleSettings) -> list[Definitions]:
    """Operations that need a system beyond Dot: present only when it is configured."""
    extra = []
    if settings.env.get("CONFLUENCE_BASE_URL"):
        notes = DotNotesSettings(
            site=ConfluenceResource.from_env(settings.env), syncs=(settings.note_sync,)
        )
        extra.append(build_dot_notes_definitions(notes))
    return extra


@definitions
def defs() -> Definitions:
    """Entry point for `dagster dev -w workspace.yaml` and `dg`."""
    return build_definitions(ExampleSettings.from_env())
