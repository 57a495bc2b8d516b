"""The example pipeline as a deployment runs it, for the reliability tests.

A deployment of `dot_demo.definitions` is a set of environment variables (token,
Dot URL, where the warehouse and the instance live) and the runs its schedules start.
`PIPELINE` is the table of those runs, in order; adding an operation to the example
definitions means adding its row here, and every reliability test (fault injection, token
leak, scale-out) then covers it.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from _dbt_builds import empty_duckdb
from _instances import OneEngineEventLogStorage, OneEngineRunStorage
from _warm_dbt import EXAMPLE_DBT, SESSION_CLIENT
from dagster import (
    AssetKey,
    DagsterInstance,
    Definitions,
    ExecuteInProcessResult,
    instance_for_test,
)

from dot_demo.definitions import (
    EXAMPLE_CONNECTIONS,
    EXAMPLE_HISTORY,
    ExampleSettings,
    build_definitions,
)
from dot_demo.demo import HISTORY_SCHEDULE, NOTES_JOB
from dot_orchestration.catalogue import CATALOGUE_ASSET_KEY, EXPOSURES_SNAPSHOT_KEY
from dot_orchestration.emulator import DEFAULT_TOKENS, Role, TokenSpec
from dot_orchestration.emulator.confluence import DEFAULT_USERS as CONFLUENCE_USERS
from dot_orchestration.syncs import DotSyncProps, DotSyncTranslator

from ._end_state import EndState, capture_end_state
from ._killable_export import partition_range
from ._traffic import Control, Traffic

#: A token found nowhere else, so any hit in a log or an error is a leak. It belongs to an
#: admin, so every pipeline step is allowed to run with it.
CANARY_TOKEN = "dot-emulator-canary-Zq7Kx2Vm9Lp4"
CANARY_EMAIL = "canary@example.com"
RELIABILITY_TOKENS = (
    TokenSpec(token=CANARY_TOKEN, email=CANARY_EMAIL, role=Role.admin),
    *DEFAULT_TOKENS,
)

#: The run tags linking a re-execution to the run it re-executes, as the UI sets them
#: (Dagster keeps their names in a private module; the tags themselves are stored with runs).
PARENT_RUN_ID_TAG = "dagster/parent_run_id"
ROOT_RUN_ID_TAG = "dagster/root_run_id"

#: A deployment sets some variables with these prefixes and unsets the rest, so the
#: developer's own shell (a real token, alert channels) never leaks into a test.
DEPLOYMENT_PREFIXES = ("DOT_", "CONFLUENCE_")
#: Kept all the same: which dbt this machine runs (the session's warm dbt), not a setting of
#: the deployment. Unset, every dbt call imported dbt afresh, ~3.5 s of CPU each.
MACHINE_VARIABLES = frozenset({EXAMPLE_DBT, SESSION_CLIENT})
#: The Confluence user the example reads pages as; its token is a secret too.
WIKI_USER = CONFLUENCE_USERS[0]


@dataclass(frozen=True)
class PipelineStep:
    """One run a deployment starts: a named job, or assets of the implicit asset job."""

    name: str
    job: str | None = None
    assets: tuple[AssetKey, ...] = ()
    tags: Mapping[str, str] = field(default_factory=dict)

    def run(
        self,
        defs: Definitions,
        instance: DagsterInstance,
        run_config: Mapping[str, Any] | None = None,
    ) -> ExecuteInProcessResult:
        """Execute in this process; failures are returned, not raised, so tests see them."""
        job = (
            defs.resolve_job_def(self.job)
            if self.job
            else defs.resolve_implicit_global_asset_job_def()
        )
        return job.execute_in_process(
            instance=instance,
            run_config=dict(run_config or {}),
            asset_selection=list(self.assets) or None,
            tags=dict(self.tags),
            raise_on_error=False,
        )

    def asset_keys(self, defs: Definitions) -> set[AssetKey]:
        """What the step materializes (a named job's whole selection)."""
        if not self.job:
            return set(self.assets)
        return set(defs.resolve_job_def(self.job).asset_layer.selected_asset_keys)

    def unfinished_by(self, failed: ExecuteInProcessResult, defs: Definitions) -> PipelineStep:
        """The step again for the assets `failed` planned and did not materialize.

        This is Dagster's "re-execute from asset failure": a sync step that failed for one
        connection reports the others materialized, so only the failed one is sent again
        (re-executing the whole failed step, "from failure", would sync the others twice).
        The run is tagged as a re-execution of `failed`, as the UI tags one.
        """
        left = self.unmaterialized_by(failed, defs)
        assert left, f"{self.name} failed, yet every asset of it was materialized"
        root = failed.dagster_run.tags.get(ROOT_RUN_ID_TAG, failed.run_id)
        lineage = {PARENT_RUN_ID_TAG: failed.run_id, ROOT_RUN_ID_TAG: root}
        return PipelineStep(self.name, assets=left, tags={**self.tags, **lineage})

    def unmaterialized_by(
        self, result: ExecuteInProcessResult, defs: Definitions
    ) -> tuple[AssetKey, ...]:
        """The assets of this step that `result` did not materialize."""
        done = {event.asset_key for event in result.get_asset_materialization_events()}
        return tuple(sorted(self.asset_keys(defs) - done, key=AssetKey.to_user_string))


DBT_THEN_SYNCS = PipelineStep("dbt build, then Dot syncs", job="dbt_build_then_dot_sync")
CATALOGUE = PipelineStep("Dot external-asset catalogue", assets=(CATALOGUE_ASSET_KEY,))
EXPOSURES = PipelineStep("Dot exposures snapshot", assets=(EXPOSURES_SNAPSHOT_KEY,))
NOTES = PipelineStep("Confluence pages to Dot notes", job=NOTES_JOB)
#: The run `dot_history_daily` starts (`refresh_days=3`): the last three closed UTC days,
#: which the emulator's generated history covers, then `dot_usage_daily` built from them.
_TODAY = datetime.now(timezone.utc).date()
HISTORY = PipelineStep(
    "Dot history export, then the usage models",
    job=f"{HISTORY_SCHEDULE}_job",
    tags=partition_range(_TODAY - timedelta(days=3), _TODAY - timedelta(days=1)),
)

#: The syncs of the example's connections alone (the second half of `DBT_THEN_SYNCS`).
SYNCS = PipelineStep(
    "Dot syncs",
    assets=tuple(
        DotSyncTranslator().get_asset_spec(DotSyncProps(c, ())).key for c in EXAMPLE_CONNECTIONS
    ),
)
#: The history export alone (the first half of `HISTORY`), for the same days.
HISTORY_EXPORT = PipelineStep(
    "Dot history export", assets=(AssetKey(EXAMPLE_HISTORY.key),), tags=HISTORY.tags
)

#: The example pipeline in the order its schedules run it (`make demo` runs the same
#: runs; the exposures snapshot is its scheduled refresh).
PIPELINE: tuple[PipelineStep, ...] = (DBT_THEN_SYNCS, CATALOGUE, NOTES, HISTORY, EXPOSURES)


def dot_run_config(*, auth_mode: str = "header", **settings: Any) -> dict[str, Any]:
    """Run config changing `DotResource` settings.

    Run config replaces a resource's config whole (fields it leaves out fall back to the
    class defaults, not to the values the definitions gave), so everything the example
    sets is repeated: the `EnvVar` ones by reference (`{"env": ...}`, read in the step).
    """
    given: dict[str, Any] = {
        "api_token": {"env": "DOT_API_KEY"},
        "base_url": {"env": "DOT_BASE_URL"},
    }
    if auth_mode == "url":
        given |= {"auth_mode": "url", "user_id": {"env": "DOT_USER_ID"}}
    return {"resources": {"dot": {"config": {**given, **settings}}}}


@dataclass(frozen=True)
class World:
    """What a deployment talks to: Dot and Confluence (emulated), its dbt project, and the
    DuckDB file dbt builds into.

    The warehouse is one path for every deployment of a worker (`deployed` empties it
    first): dbt reuses its saved parse only while the rendered profile, which holds that
    path, is unchanged, and a new path per deployment made each one's first build parse
    the whole project again.
    """

    dot: str
    wiki: str
    dbt_project: Path
    warehouse: Path


def deployment_env(
    home: Path, world: World, *, token: str = CANARY_TOKEN, auth_mode: str = "header"
) -> dict[str, str]:
    """The variables a deployment sets (README, "Configuration"), pointed at `home`."""
    env = {
        "DOT_BASE_URL": world.dot,
        "DOT_API_KEY": token,
        "DOT_DEMO_HOME": str(home),
        "DOT_DEMO_DUCKDB_PATH": str(world.warehouse),
        "DOT_DBT_PROJECT_DIR": str(world.dbt_project),
        "CONFLUENCE_BASE_URL": world.wiki,
        "CONFLUENCE_EMAIL": WIKI_USER.email,
        "CONFLUENCE_API_TOKEN": WIKI_USER.api_token,
    }
    if auth_mode == "url":
        env |= {"DOT_AUTH_MODE": "url", "DOT_USER_ID": CANARY_EMAIL}
    return env


@contextmanager
def environment(env: Mapping[str, str]) -> Iterator[None]:
    """`env` set and every other deployment variable (not `MACHINE_VARIABLES`) unset,
    restored afterwards.

    Step processes of the multiprocess executor inherit it, as pods inherit theirs.
    """
    with pytest.MonkeyPatch.context() as patch:
        for name in [
            name
            for name in os.environ
            if name.startswith(DEPLOYMENT_PREFIXES) and name not in MACHINE_VARIABLES
        ]:
            patch.delenv(name)
        for name, value in env.items():
            patch.setenv(name, value)
        yield


@dataclass(frozen=True)
class Attempt:
    """One run of a pipeline step; `rematerializes` is the failed run it re-executes."""

    step: PipelineStep
    result: ExecuteInProcessResult
    rematerializes: str | None = None


@dataclass
class Deployment:
    """The example definitions loaded as a code location would, on their own instance."""

    settings: ExampleSettings
    defs: Definitions
    instance: DagsterInstance
    instance_dir: Path
    attempts: list[Attempt] = field(default_factory=list)
    seconds: float = 0.0

    def run(
        self,
        steps: Sequence[PipelineStep] = PIPELINE,
        run_config: Mapping[str, Any] | None = None,
    ) -> list[Attempt]:
        """Run `steps` one after the other, as the schedules would, and time them."""
        return self._timed([(step, step, None) for step in steps], run_config)

    def rematerialize_failures(self, run_config: Mapping[str, Any] | None = None) -> list[Attempt]:
        """What a person does after reading the failures: materialize again what each failed
        run (not yet re-executed) left unmaterialized, one re-execution per failed run."""
        handled = {attempt.rematerializes for attempt in self.attempts}
        todo = [
            (attempt.step, attempt.step.unfinished_by(attempt.result, self.defs), attempt.result)
            for attempt in self.attempts
            if not attempt.result.success and attempt.result.run_id not in handled
        ]
        return self._timed([(step, run, failed.run_id) for step, run, failed in todo], run_config)

    def _timed(
        self,
        runs: Sequence[tuple[PipelineStep, PipelineStep, str | None]],
        run_config: Mapping[str, Any] | None,
    ) -> list[Attempt]:
        """Execute each `(step, what to run, run it re-executes)` and record its attempt."""
        started, done = time.monotonic(), []
        for step, run, parent in runs:
            done.append(Attempt(step, run.run(self.defs, self.instance, run_config), parent))
        self.attempts += done
        self.seconds += time.monotonic() - started
        return done

    def failed_steps(self) -> list[str]:
        """Steps whose last attempt failed, for assertion messages."""
        last = {attempt.step.name: attempt.result.success for attempt in self.attempts}
        return [name for name, success in last.items() if not success]

    def unmaterialized(self) -> dict[str, list[str]]:
        """Assets each step should have materialized and did not, over all its attempts.

        A run can succeed while skipping steps (an upstream output never yielded), so
        success alone does not prove the work was done.
        """
        done: dict[str, set[AssetKey]] = {}
        steps: dict[str, PipelineStep] = {}
        for attempt in self.attempts:
            steps.setdefault(attempt.step.name, attempt.step)
            events = attempt.result.get_asset_materialization_events()
            done.setdefault(attempt.step.name, set()).update(e.asset_key for e in events)
        missing = {name: step.asset_keys(self.defs) - done[name] for name, step in steps.items()}
        return {
            name: sorted(map(AssetKey.to_user_string, keys))
            for name, keys in missing.items()
            if keys
        }


@contextmanager
def deployed(
    home: Path,
    env: Mapping[str, str],
    *,
    instance_overrides: Mapping[str, Any] | None = None,
) -> Iterator[Deployment]:
    """Load the definitions from `env` (as `dot_demo.definitions:defs` does) on a
    fresh instance under `home`, with an empty warehouse (whatever an earlier deployment
    built there is deleted); the environment stays set until the block ends. The instance
    keeps its runs in SQLite (`one_engine_storage`) unless the overrides choose the storage
    (`storage:`, e.g. the calm run's Postgres)."""
    instance_dir = home / "dagster_home"
    instance_dir.mkdir(parents=True, exist_ok=True)
    empty_duckdb(Path(env["DOT_DEMO_DUCKDB_PATH"]))
    chosen = instance_overrides or {}
    overrides = {**({} if "storage" in chosen else one_engine_storage(instance_dir)), **chosen}
    with (
        environment(env),
        levels_kept(chosen.get("python_logs", {}).get("managed_python_loggers", ())),
        instance_for_test(overrides=overrides, temp_dir=str(instance_dir)) as instance,
    ):
        settings = ExampleSettings.from_env()
        yield Deployment(settings, build_definitions(settings), instance, instance_dir)


#: No capture of each run's stdout and stderr, for deployments whose output nobody reads
#: (the token scan reads it): Dagster's capture starts two `tail` processes and two
#: watchers per run.
NO_LOG_CAPTURE = {
    "compute_logs": {
        "module": "dagster._core.storage.noop_compute_log_manager",
        "class": "NoOpComputeLogManager",
    }
}


def one_engine_storage(home: Path) -> dict[str, Any]:
    """Runs and events in SQLite under `home`, where the token scan searches, one database
    of events, each storage with one SQLAlchemy engine (`_instances`: Dagster's own builds
    an engine per event stored, most of the CPU of a materialization)."""

    def storage(cls: type, folder: Path) -> dict[str, Any]:
        return {
            "module": cls.__module__,
            "class": cls.__name__,
            "config": {"base_dir": str(folder)},
        }

    return {
        "event_log_storage": storage(OneEngineEventLogStorage, home / "events"),
        "run_storage": storage(OneEngineRunStorage, home / "runs"),
    }


@contextmanager
def levels_kept(names: Iterable[str]) -> Iterator[None]:
    """The levels of these Python loggers set back afterwards.

    An instance's `python_logs` sets the level of each logger it manages and never sets it
    back: after a DEBUG run every later test of the worker made httpx's and httpcore's
    DEBUG records, and pytest's log capture formatted each one.
    """
    saved = {name: logging.getLogger(name).level for name in names}
    try:
        yield
    finally:
        for name, level in saved.items():
            logging.getLogger(name).setLevel(level)


@dataclass(frozen=True)
class Outcome:
    """What one deployment's pipeline left behind and what it cost."""

    end_state: EndState
    traffic: Traffic
    seconds: float
    failed_steps: list[str]
    unmaterialized: dict[str, list[str]]


def outcome_of(deployment: Deployment, control: Control) -> Outcome:
    """What the deployment's runs so far left in Dot and cost."""
    return Outcome(
        end_state=capture_end_state(deployment.settings, control.state()),
        traffic=control.traffic(),
        seconds=deployment.seconds,
        failed_steps=deployment.failed_steps(),
        unmaterialized=deployment.unmaterialized(),
    )
