"""The `environment:` section of a `DotComponent`'s `defs.yaml`: the same settings and
definitions as Python, and a per-branch section outside a branch deployment failing the
load at its line."""

from collections.abc import Iterator

import httpx
import pytest
from components._support import load_error, write_dot_yaml
from dagster import AssetKey, DagsterInstance
from dagster.components.testing import DefsFolderSandbox, create_defs_folder_sandbox

from dot_orchestration.emulator import ADMIN_TOKEN, EmulatorServer

from .test_lifecycle import BRANCH

ATTRIBUTES = """\
workspace:
  api_token: "{{ env.DOT_API_KEY }}"
  base_url: "{{ env.DOT_BASE_URL }}"
environment:
  mode: %s
  targets:
    snowflake-main: {schema: dbt_dev_add_tier}
"""
ENVIRONMENT = AssetKey(["dot", "environment"])


@pytest.fixture
def sandbox(
    dot_emulator: EmulatorServer, monkeypatch: pytest.MonkeyPatch
) -> Iterator[DefsFolderSandbox]:
    monkeypatch.setenv("DOT_API_KEY", ADMIN_TOKEN)
    monkeypatch.setenv("DOT_BASE_URL", dot_emulator.url)
    for name in BRANCH:
        monkeypatch.delenv(name, raising=False)
    with create_defs_folder_sandbox() as created:
        yield created


def write(sandbox: DefsFolderSandbox, mode: str) -> None:
    write_dot_yaml(sandbox, ATTRIBUTES % mode)


def test_a_per_branch_section_creates_the_environment_in_a_branch_deployment(
    sandbox: DefsFolderSandbox,
    dot_emulator: EmulatorServer,
    instance: DagsterInstance,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for name, value in BRANCH.items():
        monkeypatch.setenv(name, value)
    write(sandbox, "per_branch")
    with sandbox.build_all_defs() as defs:
        assert {job.name for job in defs.jobs or ()} >= {
            "dot_environment_merge",
            "dot_environment_delete",
        }
        # notes, catalogue and questions of this component address the environment
        assert defs.resources is not None
        assert defs.resources["dot"].environment_name == "dagster-add-tier"
        job = defs.resolve_implicit_job_def_def_for_assets([ENVIRONMENT])
        assert job is not None
        assert job.execute_in_process(instance=instance, asset_selection=[ENVIRONMENT]).success
    listed = httpx.get(
        f"{dot_emulator.url}/api/environments", headers={"X-API-KEY": ADMIN_TOKEN}
    ).json()
    [created] = [env for env in listed if env["name"] == "dagster-add-tier"]
    assert created["targets"] == {"snowflake-main": {"schema": "dbt_dev_add_tier"}}


def test_a_per_branch_section_outside_a_branch_deployment_fails_at_its_line(
    sandbox: DefsFolderSandbox,
) -> None:
    write(sandbox, "per_branch")
    message = load_error(sandbox)
    assert "attributes.environment" in message and "outside a branch deployment" in message
    assert "DAGSTER_CLOUD_IS_BRANCH_DEPLOYMENT=None" in message


def test_a_production_section_defines_nothing(sandbox: DefsFolderSandbox) -> None:
    write(sandbox, "production")
    with sandbox.build_all_defs() as defs:
        assert list(defs.assets or ()) == [] and list(defs.jobs or ()) == []


def test_targets_from_dbt_without_a_dbt_component_fails_at_its_line(
    sandbox: DefsFolderSandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, value in BRANCH.items():
        monkeypatch.setenv(name, value)
    write_dot_yaml(sandbox, ATTRIBUTES % "per_branch" + "  targets_from_dbt: true\n")
    message = load_error(sandbox)
    assert "attributes.environment.targets_from_dbt" in message, message
    assert "reads the dbt manifest" in message
