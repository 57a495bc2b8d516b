"""The operations that know nothing of environments, scoped by `scoped_dot_resource`:
in a branch, notes, the catalogue and questions carry the environment's header (and fail, naming it,
before it exists), the history export stays org-wide; in production nothing is scoped.

Over real HTTP against the Dot and Confluence emulators; the Dot journal is the witness.
"""

from datetime import date
from pathlib import Path

import pytest
from catalogue._catalogue_api import EXAMPLE_CATALOGUE, IMPORT
from dagster import DagsterInstance, ExecuteInProcessResult, materialize
from history._support import EXPORT_ROUTE, build_export
from notes._support import NOTE_WRITE_ROUTES, REVENUE, confluence_resource, sync_of

from dot_orchestration.catalogue import CatalogueFile, build_dot_catalogue_asset
from dot_orchestration.emulator import ADMIN_TOKEN, EmulatorServer
from dot_orchestration.emulator.confluence import ConfluenceEmulatorServer
from dot_orchestration.environments import (
    DotEnvironmentSettings,
    build_dot_environment_definitions,
    scoped_dot_resource,
)
from dot_orchestration.history import DotHistorySettings, DuckDBWarehouse
from dot_orchestration.notes import build_confluence_note_asset, note_sync_run_config
from dot_orchestration.questions import DotQuestion, build_dot_question_definitions
from dot_orchestration.resources import DotResource

from .test_lifecycle import BRANCH, ENVIRONMENTS, PER_BRANCH, journal
from .test_modes import listed

NOTES = sync_of(page_ids=[REVENUE])


@pytest.fixture
def site(confluence_server: ConfluenceEmulatorServer) -> ConfluenceEmulatorServer:
    confluence_server.state.reset()
    return confluence_server


def resource(server: EmulatorServer, settings: DotEnvironmentSettings) -> DotResource:
    dot = DotResource(api_token=ADMIN_TOKEN, base_url=server.url, max_attempts=2)
    return scoped_dot_resource(dot, settings, env=BRANCH)


def run_notes(
    dot: DotResource, site: ConfluenceEmulatorServer, instance: DagsterInstance
) -> ExecuteInProcessResult:
    return materialize(
        [build_confluence_note_asset(NOTES)],
        run_config=note_sync_run_config(NOTES),
        resources={"dot": dot, "confluence": confluence_resource(site)},
        instance=instance,
        raise_on_error=False,
    )


def run_catalogue(dot: DotResource, instance: DagsterInstance) -> ExecuteInProcessResult:
    return materialize(
        [build_dot_catalogue_asset([CatalogueFile(EXAMPLE_CATALOGUE)])],
        resources={"dot": dot},
        instance=instance,
        raise_on_error=False,
    )


def run_history(
    server: EmulatorServer, dot: DotResource, tmp_path: Path, instance: DagsterInstance
) -> ExecuteInProcessResult:
    settings = DotHistorySettings(
        start_date=date(2025, 3, 1), warehouse=DuckDBWarehouse(path="replaced.duckdb")
    )
    scope = {"environment": dot.environment, "environment_name": dot.environment_name}
    export = build_export(settings, server.url, tmp_path / "history.duckdb", instance, **scope)
    return export.run("2025-03-01")


def scopes(server: EmulatorServer, routes: set[tuple[str, str]]) -> list[str | None]:
    """The `X-Dot-Environment` of each call to `routes` (method, route), in order."""
    return [e["environment"] for e in journal(server) if (e["method"], e["route"]) in routes]


def failure_text(result: ExecuteInProcessResult) -> str:
    return "\n".join(str(e.step_failure_data.error) for e in result.get_step_failure_events())


def test_in_a_branch_notes_and_catalogue_are_scoped_and_the_history_is_not(
    dot_emulator: EmulatorServer,
    site: ConfluenceEmulatorServer,
    instance: DagsterInstance,
    tmp_path: Path,
) -> None:
    dot = resource(dot_emulator, PER_BRANCH)

    early = run_notes(dot, site, instance)
    assert not early.success
    assert "Dot has no environment 'dagster-add-tier'" in failure_text(early)
    assert "materialized" in failure_text(early)
    assert scopes(dot_emulator, NOTE_WRITE_ROUTES) == []  # nothing went to production
    # the export is org-wide: it needs no environment, not even one that exists yet
    assert run_history(dot_emulator, dot, tmp_path, instance).success

    environment = build_dot_environment_definitions(PER_BRANCH, env=BRANCH)
    assert materialize(environment.assets or [], resources={"dot": dot}, instance=instance).success
    [created] = [
        e for e in journal(dot_emulator) if (e["method"], e["route"]) == ("POST", ENVIRONMENTS)
    ]
    [env_id] = [i for i, env in listed(dot_emulator).items() if env["name"] == "dagster-add-tier"]

    assert run_notes(dot, site, instance).success
    assert run_catalogue(dot, instance).success
    assert run_history(dot_emulator, dot, tmp_path, instance).success

    note_writes = scopes(dot_emulator, NOTE_WRITE_ROUTES)
    imports = scopes(dot_emulator, {("POST", IMPORT)})
    assert note_writes and set(note_writes) == {env_id}
    assert imports and set(imports) == {env_id}
    exports = [e["environment"] for e in journal(dot_emulator) if e["path"] == EXPORT_ROUTE]
    assert exports == [None, None]
    assert created["environment"] is None


def test_in_production_nothing_is_scoped(
    dot_emulator: EmulatorServer,
    site: ConfluenceEmulatorServer,
    instance: DagsterInstance,
    tmp_path: Path,
) -> None:
    production = DotEnvironmentSettings(mode="production")
    dot = resource(dot_emulator, production)
    assert (dot.environment, dot.environment_name) == (None, None)

    assert run_notes(dot, site, instance).success
    assert run_catalogue(dot, instance).success
    assert run_history(dot_emulator, dot, tmp_path, instance).success
    calls = journal(dot_emulator)
    assert calls and {e["environment"] for e in calls} == {None}
    assert not [e for e in calls if (e["route"] or "").startswith(ENVIRONMENTS)]


def test_a_fixed_environment_is_addressed_by_its_id() -> None:
    fixed = DotEnvironmentSettings(mode="fixed", environment_id="staging")
    dot = DotResource(api_token=ADMIN_TOKEN, base_url="http://dot.invalid")
    scoped = scoped_dot_resource(dot, fixed)
    assert (scoped.environment, scoped.environment_name) == ("staging", None)


def test_an_id_and_a_name_together_are_refused() -> None:
    with pytest.raises(ValueError, match="set `environment` \\(an id\\) or `environment_name`"):
        DotResource(
            api_token=ADMIN_TOKEN,
            base_url="http://dot.invalid",
            environment="staging",
            environment_name="dagster-main",
        )


def test_in_a_branch_a_question_is_asked_in_the_environment(
    dot_emulator: EmulatorServer, instance: DagsterInstance
) -> None:
    dot = resource(dot_emulator, PER_BRANCH)
    environment = build_dot_environment_definitions(PER_BRANCH, env=BRANCH)
    assert materialize(environment.assets or [], resources={"dot": dot}, instance=instance).success
    [env_id] = [i for i, env in listed(dot_emulator).items() if env["name"] == "dagster-add-tier"]
    asked_from = len(journal(dot_emulator))

    question = DotQuestion(name="revenue", question="What was revenue last month?")
    questions = build_dot_question_definitions([question])
    assert materialize(questions.assets or [], resources={"dot": dot}, instance=instance).success
    calls = journal(dot_emulator)[asked_from:]
    scoped = [e for e in calls if (e["method"], e["route"]) != ("GET", ENVIRONMENTS)]
    assert scoped and {e["environment"] for e in scoped} == {env_id}
