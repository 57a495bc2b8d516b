"""The other ways a deployment meets Dot's environments: a fixed id (never created, checked
against Dot's list), syncs that run before their environment exists, the strict emulator
profile (every write answered `null`), and settings refused at construction."""

from typing import Any

import httpx
import pytest
from dagster import AssetKey, DagsterInstance, Definitions, ExecuteInProcessResult
from pydantic import ValidationError

from dot_orchestration.emulator import ADMIN_TOKEN, EmulatorServer
from dot_orchestration.environments import (
    DotEnvironmentSettings,
    build_dot_environment_definitions,
    deployment_environment,
)
from dot_orchestration.syncs import build_dot_sync_definitions, sync_assets_of, tables_read_by_dot

from .test_lifecycle import (
    BRANCH,
    ENVIRONMENTS,
    PER_BRANCH,
    PRODUCTION_SYNC,
    SYNC_TARGET,
    SYNCS,
    TARGETS,
    definitions,
    dim_customers,
    materialize_all,
    mergeable,
    routes,
)

SYNC = AssetKey(["dot", "sync", "snowflake", "snowflake_main"])
ENVIRONMENT = AssetKey(["dot", "environment"])


def materialize(defs: Definitions, keys: list[AssetKey], instance: DagsterInstance) -> Any:
    job = defs.resolve_implicit_job_def_def_for_assets(keys)
    assert job is not None
    return job.execute_in_process(instance=instance, asset_selection=keys, raise_on_error=False)


def failure_text(result: ExecuteInProcessResult) -> str:
    return "\n".join(str(e.step_failure_data.error) for e in result.get_step_failure_events())


def listed(server: EmulatorServer) -> dict[str, dict[str, Any]]:
    reply = httpx.get(f"{server.url}{ENVIRONMENTS}", headers={"X-API-KEY": ADMIN_TOKEN})
    return {env["id"]: env for env in reply.json()}


def test_a_fixed_environment_is_used_never_created(
    dot_emulator: EmulatorServer, instance: DagsterInstance, monkeypatch: pytest.MonkeyPatch
) -> None:
    fixed = DotEnvironmentSettings(mode="fixed", environment_id="staging", targets=TARGETS)
    defs = definitions(dot_emulator, fixed, {}, monkeypatch)
    result = materialize_all(defs, instance)
    assert result.success, failure_text(result)
    assert [e["method"] for e in routes(dot_emulator, ENVIRONMENTS)] == [
        "GET"
    ] * 3  # asset, check, sync
    assert listed(dot_emulator)["staging"]["targets"] == TARGETS
    [synced] = routes(dot_emulator, SYNC_TARGET)
    assert synced["environment"] == "staging" and routes(dot_emulator, PRODUCTION_SYNC) == []


def test_an_unknown_fixed_id_fails_naming_the_listed_ones(
    dot_emulator: EmulatorServer, instance: DagsterInstance, monkeypatch: pytest.MonkeyPatch
) -> None:
    typo = DotEnvironmentSettings(mode="fixed", environment_id="stagin")
    defs = definitions(dot_emulator, typo, {}, monkeypatch)
    result = materialize(defs, [ENVIRONMENT], instance)
    assert not result.success
    assert "no environment 'stagin' (it lists staging)" in failure_text(result)
    assert [e["method"] for e in routes(dot_emulator, ENVIRONMENTS)] == ["GET"]


def test_syncs_before_the_environment_exists_send_nothing(
    dot_emulator: EmulatorServer, instance: DagsterInstance, monkeypatch: pytest.MonkeyPatch
) -> None:
    defs = definitions(dot_emulator, PER_BRANCH, BRANCH, monkeypatch)
    result = materialize(defs, [SYNC], instance)
    assert not result.success
    assert "sync_target not sent" in failure_text(result)
    assert "materialize the environment asset first" in failure_text(result)
    assert routes(dot_emulator, SYNC_TARGET) == routes(dot_emulator, PRODUCTION_SYNC) == []
    assert "dagster-add-tier" not in {env["name"] for env in listed(dot_emulator).values()}


def test_the_strict_profile_runs_the_branch_flow(
    strict_dot_emulator: EmulatorServer,
    instance: DagsterInstance,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Dot documents no reply: ids come from the list, whatever the writes answer."""
    defs = definitions(strict_dot_emulator, PER_BRANCH, BRANCH, monkeypatch)
    first = materialize_all(defs, instance)
    assert first.success, failure_text(first)
    assert mergeable(first).passed
    assert materialize_all(defs, instance).success
    creates = [e for e in routes(strict_dot_emulator, ENVIRONMENTS) if e["method"] == "POST"]
    assert len(creates) == 1 and len(routes(strict_dot_emulator, SYNC_TARGET)) == 2


@pytest.mark.parametrize(
    ("fields", "says"),
    [
        ({"mode": "fixed"}, "needs `environment_id`"),
        ({"mode": "per_branch", "environment_id": "x"}, "is for mode 'fixed'"),
        ({"mode": "per_branch", "name_template": "dagster"}, "has no `{branch}`"),
        ({"mode": "per_branch", "name_template": "{branch}-{pr}"}, "and nothing else"),
        ({"mode": "staging"}, "Input should be 'production', 'fixed' or 'per_branch'"),
        (
            {"mode": "per_branch", "targets": {"c": {"schema": "dbt_{user}"}}},
            "targets.c.schema = 'dbt_{user}' names user",
        ),
        (
            {"mode": "fixed", "environment_id": "x", "targets": {"c": {"schema": "{branch}"}}},
            "placeholders are for mode 'per_branch'",
        ),
    ],
)
def test_incomplete_settings_are_refused(fields: dict[str, Any], says: str) -> None:
    with pytest.raises(ValidationError, match=says.replace("(", r"\(").replace("{", r"\{")):
        DotEnvironmentSettings(**fields)


def test_a_merge_dot_accepts_but_does_not_do_fails(
    dot_emulator: EmulatorServer, instance: DagsterInstance, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Dot documents no merge reply: the diff afterwards is the proof, so a 2xx that
    merged nothing (here a fault answering before the handler) fails the job."""
    defs = definitions(dot_emulator, PER_BRANCH, BRANCH, monkeypatch)
    assert materialize(defs, [ENVIRONMENT], instance).success
    [env_id] = [i for i, env in listed(dot_emulator).items() if env["name"] == "dagster-add-tier"]
    api = httpx.Client(base_url=dot_emulator.url, headers={"X-API-KEY": ADMIN_TOKEN})
    api.post(
        "/api/org_notes", json={"title": "t", "note": "n"}, headers={"X-Dot-Environment": env_id}
    )
    fault = {"path": "/api/environments/*/merge", "kind": "malformed", "malformed": "html"}
    api.put(
        "/_emulator/faults", json={"seed": 0, "rules": [{**fault, "status": 200}]}
    ).raise_for_status()
    config = {"ops": {"dot_environment_merge": {"config": {"confirm": True}}}}
    result = defs.resolve_job_def("dot_environment_merge").execute_in_process(
        instance=instance, run_config=config, raise_on_error=False
    )
    assert not result.success
    assert "Dot accepted it, but notes/" in failure_text(result)
    assert api.get("/api/org_notes").json() == []


def test_a_target_names_the_branch_and_the_pull_request() -> None:
    """The schema a branch's dbt builds into, e.g. `dbt_pr_7`, filled at load."""
    per_pr = DotEnvironmentSettings(
        mode="per_branch",
        targets={"snowflake-main": {"schema": "dbt_pr_{pull_request_id}", "note": "{branch}"}},
    )
    environment = deployment_environment(per_pr, BRANCH)
    assert environment is not None
    assert environment.targets == {"snowflake-main": {"schema": "dbt_pr_7", "note": "add-tier"}}
    local = per_pr.model_copy(update={"branch": "alice"})
    with pytest.raises(ValueError, match="names pull_request_id, which this deployment does not"):
        build_dot_environment_definitions(local, env={})


def test_the_environment_is_no_table_dot_reads(monkeypatch: pytest.MonkeyPatch) -> None:
    """The syncs depend on the environment asset for ordering; monitoring's tables read by
    Dot (whose failing checks become Dot incidents) stay the connection's upstream."""
    for name, value in BRANCH.items():
        monkeypatch.setenv(name, value)
    syncs = sync_assets_of(
        build_dot_sync_definitions(SYNCS, upstream=[dim_customers], environment=PER_BRANCH)
    )
    assert {dep.asset_key for dep in syncs.specs_by_key[SYNC].deps} == {
        ENVIRONMENT,
        AssetKey("dim_customers"),
    }
    assert tables_read_by_dot(syncs) == [AssetKey("dim_customers")]
