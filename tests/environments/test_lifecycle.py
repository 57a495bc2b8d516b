"""A branch deployment's Dot environment, end to end over real HTTP against the emulator:
created once, pointed at the dev target, checked (diff, conflicts), merged only when
confirmed, with production untouched until then; and in production, no environment call.

The emulator's journal is the witness: what was created, how often, which calls carried
`X-Dot-Environment`, and that the sync assets refreshed the environment from its dev
target (`sync_target`) instead of syncing production's connections.
"""

from collections.abc import Mapping
from typing import Any

import httpx
import pytest
from dagster import (
    AssetCheckEvaluation,
    AssetsDefinition,
    DagsterInstance,
    Definitions,
    ExecuteInProcessResult,
    asset,
)

from dot_orchestration.emulator import ADMIN_TOKEN, MODELER_TOKEN, EmulatorServer
from dot_orchestration.environments import DotEnvironmentSettings, build_dot_environment_definitions
from dot_orchestration.resources import DotResource
from dot_orchestration.syncs import (
    DotConnection,
    SyncSettings,
    build_dot_sync_definitions,
    sync_assets_of,
)

BRANCH = {
    "DAGSTER_CLOUD_IS_BRANCH_DEPLOYMENT": "1",
    "DAGSTER_CLOUD_GIT_BRANCH": "add-tier",
    "DAGSTER_CLOUD_PULL_REQUEST_ID": "7",
}
TARGETS = {"snowflake-main": {"database": "ANALYTICS", "schema": "dbt_dev_add_tier"}}
PER_BRANCH = DotEnvironmentSettings(mode="per_branch", targets=TARGETS)
SYNCS = SyncSettings(
    connections=[
        DotConnection(type="snowflake", id="snowflake-main", asset_keys=("dim_customers",))
    ]
)
ENVIRONMENTS = "/api/environments"
SYNC_TARGET = "/api/environments/{environment_id}/sync_target"
PRODUCTION_SYNC = "/api/sync/{connection_type}/{connection_id}"
#: The org-level calls, made before the environment's id is known: never scoped.
ORG_LEVEL = {("GET", ENVIRONMENTS), ("POST", ENVIRONMENTS)}


@asset
def dim_customers() -> None:
    """A plain upstream standing in for a dbt model."""


def definitions(
    server: EmulatorServer,
    settings: DotEnvironmentSettings,
    env: Mapping[str, str],
    monkeypatch: pytest.MonkeyPatch,
) -> Definitions:
    """The environment's definitions and the syncs of one connection reading a plain
    asset, loaded in a deployment whose variables are `env`."""
    for name in BRANCH:
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    syncs = build_dot_sync_definitions(SYNCS, upstream=[dim_customers], environment=settings)
    return Definitions.merge(
        build_dot_environment_definitions(settings, check_after=sync_assets_of(syncs).keys),
        syncs,
        Definitions(
            assets=[dim_customers],
            resources={"dot": DotResource(api_token=ADMIN_TOKEN, base_url=server.url)},
        ),
    )


def journal(server: EmulatorServer) -> list[dict[str, Any]]:
    entries: list[dict[str, Any]] = httpx.get(f"{server.url}/_emulator/journal").json()["entries"]
    return entries


def definitions_calls(server: EmulatorServer) -> list[dict[str, Any]]:
    """The calls the definitions made (as the admin), not the test's own (a modeler's)."""
    return [e for e in journal(server) if e["user"] and "admin" in e["user"]]


def environment_calls(server: EmulatorServer) -> list[dict[str, Any]]:
    return [e for e in journal(server) if (e["route"] or "").startswith(ENVIRONMENTS)]


def routes(server: EmulatorServer, route: str) -> list[dict[str, Any]]:
    return [e for e in journal(server) if e["route"] == route]


def materialize_all(defs: Definitions, instance: DagsterInstance) -> ExecuteInProcessResult:
    job = defs.resolve_implicit_global_asset_job_def()
    return job.execute_in_process(instance=instance, raise_on_error=False)


def mergeable(result: ExecuteInProcessResult) -> AssetCheckEvaluation:
    [evaluation] = [
        e
        for e in result.get_asset_check_evaluations()
        if e.check_name == "dot_environment_mergeable"
    ]
    return evaluation


def run_job(
    defs: Definitions, name: str, instance: DagsterInstance, confirm: bool | None
) -> ExecuteInProcessResult:
    config = {"ops": {name: {"config": {"confirm": confirm}}}} if confirm is not None else None
    return defs.resolve_job_def(name).execute_in_process(
        instance=instance, run_config=config, raise_on_error=False
    )


class Dot:
    """Production and the environment, changed over raw HTTP as a person in Dot would: a
    modeler, so that the journal tells these calls from the definitions' (an admin's)."""

    def __init__(self, server: EmulatorServer) -> None:
        self.api = httpx.Client(base_url=server.url, headers={"X-API-KEY": MODELER_TOKEN})
        self.asset = self.api.get("/api/external_assets").json()[0]

    def rename(self, name: str, environment_id: str | None = None) -> None:
        headers = {"X-Dot-Environment": environment_id} if environment_id else {}
        body = {"external_asset": {**self.asset, "name": name}}
        reply = self.api.post(
            "/api/import_and_overwrite_external_asset", json=body, headers=headers
        )
        assert reply.status_code == 200, reply.text

    def production_name(self) -> str:
        [found] = [
            a for a in self.api.get("/api/external_assets").json() if a["id"] == self.asset["id"]
        ]
        name: str = found["name"]
        return name

    def environments(self) -> dict[str, dict[str, Any]]:
        return {env["name"]: env for env in self.api.get(ENVIRONMENTS).json()}


def test_a_branch_run_creates_checks_and_merges_only_when_confirmed(
    dot_emulator: EmulatorServer, instance: DagsterInstance, monkeypatch: pytest.MonkeyPatch
) -> None:
    dot = Dot(dot_emulator)
    original = dot.production_name()
    defs = definitions(dot_emulator, PER_BRANCH, BRANCH, monkeypatch)

    first = materialize_all(defs, instance)
    assert first.success
    environment = dot.environments()["dagster-add-tier"]
    env_id = environment["id"]
    assert environment["targets"] == TARGETS
    [materialization] = first.asset_materializations_for_node("dot__environment")
    assert materialization.metadata["dot/environment_id"].value == env_id
    assert materialization.metadata["dot/environment_created"].value is True
    assert mergeable(first).passed
    [synced] = routes(dot_emulator, SYNC_TARGET)
    [diffed] = [e for e in journal(dot_emulator) if (e["route"] or "").endswith("/diff")]
    assert synced["seq"] < diffed["seq"]  # the check saw what sync_target refreshed
    assert (
        synced["environment"] == env_id
        and dot.environments()["dagster-add-tier"]["target_syncs"] == 1
    )
    assert routes(dot_emulator, PRODUCTION_SYNC) == []

    dot.rename("Customers (tiered)", env_id)
    second = materialize_all(defs, instance)
    creates = [e for e in routes(dot_emulator, ENVIRONMENTS) if e["method"] == "POST"]
    assert len(creates) == 1  # found, not created again
    assert len(routes(dot_emulator, SYNC_TARGET)) == 2
    check = mergeable(second)
    assert check.passed
    changed = check.metadata["dot/environment_changed_files"].value
    assert [(r.data["path"], r.data["status"]) for r in changed.records] == [
        (f"external_assets/{dot.asset['id']}.json", "modified")
    ]
    assert dot.production_name() == original

    refused = run_job(defs, "dot_environment_merge", instance, confirm=None)
    assert not refused.success
    assert not [e for e in journal(dot_emulator) if (e["route"] or "").endswith("/merge")]

    dot.rename("Customers (prod)")  # production changes the same asset meanwhile
    conflicted = mergeable(materialize_all(defs, instance))
    assert not conflicted.passed and conflicted.severity.value == "ERROR"
    assert conflicted.metadata["dot/environment_conflict_count"].value == 1
    blocked = run_job(defs, "dot_environment_merge", instance, confirm=True)
    assert not blocked.success
    assert not [e for e in journal(dot_emulator) if (e["route"] or "").endswith("/merge")]
    assert dot.production_name() == "Customers (prod)"

    dot.rename("Customers (prod)", env_id)  # the environment takes production's version
    dot.api.post(
        "/api/org_notes", json={"title": "tier", "note": "t"}, headers={"X-Dot-Environment": env_id}
    )
    merged = run_job(defs, "dot_environment_merge", instance, confirm=True)
    assert merged.success
    assert [n["title"] for n in dot.api.get("/api/org_notes").json()] == ["tier"]

    calls = definitions_calls(dot_emulator)
    scoped = [e for e in calls if (e["method"], e["route"]) not in ORG_LEVEL]
    assert len(scoped) > 10 and {e["environment"] for e in scoped} == {env_id}
    assert {e["environment"] for e in calls if (e["method"], e["route"]) in ORG_LEVEL} == {None}


def test_delete_needs_confirmation_too(
    dot_emulator: EmulatorServer, instance: DagsterInstance, monkeypatch: pytest.MonkeyPatch
) -> None:
    defs = definitions(dot_emulator, PER_BRANCH, BRANCH, monkeypatch)
    assert materialize_all(defs, instance).success
    assert not run_job(defs, "dot_environment_delete", instance, confirm=False).success
    assert "dagster-add-tier" in Dot(dot_emulator).environments()
    assert run_job(defs, "dot_environment_delete", instance, confirm=True).success
    assert "dagster-add-tier" not in Dot(dot_emulator).environments()


def test_production_makes_no_environment_call(
    dot_emulator: EmulatorServer, instance: DagsterInstance, monkeypatch: pytest.MonkeyPatch
) -> None:
    production = DotEnvironmentSettings(targets=TARGETS)
    defs = definitions(dot_emulator, production, BRANCH, monkeypatch)
    assert materialize_all(defs, instance).success
    assert defs.jobs is None or not list(defs.jobs)
    assert environment_calls(dot_emulator) == []
    [synced] = routes(dot_emulator, PRODUCTION_SYNC)
    assert (synced["path"], synced["environment"]) == ("/api/sync/snowflake/snowflake-main", None)


@pytest.mark.parametrize(
    "env",
    [{}, {"DAGSTER_CLOUD_IS_BRANCH_DEPLOYMENT": "0", "DAGSTER_CLOUD_GIT_BRANCH": "main"}],
)
def test_per_branch_outside_a_branch_deployment_fails_at_load(env: dict[str, str]) -> None:
    with pytest.raises(ValueError, match="outside a branch deployment") as raised:
        build_dot_environment_definitions(PER_BRANCH, env=env)
    message = str(raised.value)
    assert all(name in message for name in BRANCH)
    assert f"DAGSTER_CLOUD_GIT_BRANCH={env.get('DAGSTER_CLOUD_GIT_BRANCH')!r}" in message


def test_an_explicit_branch_works_without_a_branch_deployment() -> None:
    settings = PER_BRANCH.model_copy(update={"branch": "local-alice"})
    defs = build_dot_environment_definitions(settings, env={})
    [environment] = list(defs.assets or ())
    assert isinstance(environment, AssetsDefinition)
    assert "'dagster-local-alice'" in (environment.descriptions_by_key[environment.key] or "")
