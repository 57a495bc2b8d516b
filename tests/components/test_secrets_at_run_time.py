"""Secrets in `defs.yaml` are read when a run starts, not when the definitions load.

A project loads with no secret exported (as `dg check defs` in CI, or a code server that
holds no credentials); a run that needs a missing secret fails as it starts (Dagster
resolves the resource's config then, in the run worker as here in process), naming the
variable; with
the variable set the same definitions run against the emulator, and the value appears in
neither the definitions nor the run's event log.
"""

from collections.abc import Iterator

import pytest
from dagster import AssetKey, DagsterInstance, DagsterInvalidConfigError, Definitions
from dagster.components.testing import create_defs_folder_sandbox

from dot_orchestration.emulator import ADMIN_TOKEN, EmulatorServer

from ._support import EXAMPLE_CATALOGUE, WORKSPACE, journal, run_assets, write_dot_yaml

CATALOGUE_KEY = AssetKey(["dot", "external_assets"])
CATALOGUE = f'catalogue:\n  files: ["{EXAMPLE_CATALOGUE}"]\n  dagster_assets: false\n'


@pytest.fixture
def loaded_without_token(
    dot_env: EmulatorServer, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Definitions]:
    """The catalogue component, loaded while DOT_API_KEY is not set (the URL is: it is not
    a secret)."""
    monkeypatch.delenv("DOT_API_KEY")
    with create_defs_folder_sandbox() as sandbox:
        write_dot_yaml(sandbox, WORKSPACE + CATALOGUE)
        with sandbox.build_all_defs() as defs:
            yield defs


def run_output(instance: DagsterInstance, run_id: str) -> str:
    """Everything the run recorded: every event, message and error, as one text."""
    return "\n".join(str(entry) for entry in instance.all_logs(run_id))


def test_definitions_load_without_the_secret_and_keep_a_reference(
    loaded_without_token: Definitions,
) -> None:
    config = loaded_without_token.resources["dot"].get_resource_definition().config_schema
    assert CATALOGUE_KEY in {a.key for a in loaded_without_token.assets or ()}
    assert "DOT_API_KEY" in str(config.default_value)


def test_a_run_without_the_secret_fails_naming_the_variable(
    loaded_without_token: Definitions, instance: DagsterInstance, dot_env: EmulatorServer
) -> None:
    with pytest.raises(DagsterInvalidConfigError) as raised:
        run_assets(loaded_without_token, [CATALOGUE_KEY], instance)

    message = str(raised.value)
    assert 'environment variable "DOT_API_KEY" which is not set' in message, message
    assert "resources:dot:config:api_token" in message, message
    assert journal(dot_env) == []  # nothing reached Dot


def test_the_same_definitions_run_once_the_secret_is_set(
    loaded_without_token: Definitions,
    instance: DagsterInstance,
    dot_env: EmulatorServer,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("DOT_API_KEY", ADMIN_TOKEN)

    result = run_assets(loaded_without_token, [CATALOGUE_KEY], instance)

    assert result.success
    assert journal(dot_env, "/api/import_and_overwrite_external_asset")  # with the token
    assert ADMIN_TOKEN not in run_output(instance, result.run_id)
