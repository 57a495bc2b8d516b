"""`YamlFront`: templates rendered into the Python API's settings, secrets kept as `EnvVar`s.

No project, no file: the settings classes and Dagster's resolution context only.
"""

from typing import Any

import pytest
from dagster import AssetKey, EnvVar, ResolutionContext
from dagster.components.resolved.errors import ResolutionException
from dagster.components.testing.utils import component_defs
from pydantic import BaseModel
from pydantic.json_schema import GenerateJsonSchema

from dot_orchestration.components import DotComponent
from dot_orchestration.components._yaml import YamlFront
from dot_orchestration.components.settings import CatalogueSettings, SyncSettings
from dot_orchestration.history import (
    BigQueryWarehouse,
    DatabricksWarehouse,
    PostgresWarehouse,
    RedshiftWarehouse,
    SnowflakeWarehouse,
)
from dot_orchestration.monitoring import AlertChannels
from dot_orchestration.resources import ConfluenceResource, DotResource

from ._support import EXAMPLE_CATALOGUE


def resolve(settings: type, data: dict[str, Any]) -> Any:
    front = YamlFront.of(settings)
    return front.resolve(ResolutionContext.default(), front.model.model_validate(data))


def test_a_templated_number_stays_text_where_the_settings_want_text(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("CONNECTION_ID", "42")
    sync = resolve(
        SyncSettings,
        {"connections": [{"type": "duckdb", "id": "{{ env.CONNECTION_ID }}", "asset_keys": ["a"]}]},
    )
    assert sync.connections[0].id == "42"


def test_numbers_and_flags_may_come_from_templates(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DOT_TOKEN", "t")
    monkeypatch.setenv("DOT_MAX_CONCURRENCY", "3")
    dot = resolve(
        DotResource,
        {
            "api_token": "{{ env.DOT_TOKEN }}",
            "region": "eu",
            "max_concurrency": "{{ env.DOT_MAX_CONCURRENCY }}",
        },
    )
    assert dot.max_concurrency == 3
    assert dot.api_token == EnvVar("DOT_TOKEN")


@pytest.mark.parametrize("token", ["dot-0123456789abcdef", "{{ env.DOT_TOKEN }}-suffix"])
def test_a_secret_is_an_environment_reference(token: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DOT_TOKEN", "t")
    with pytest.raises(
        ResolutionException, match="must be a reference to an environment variable"
    ) as raised:
        resolve(DotResource, {"api_token": token, "region": "eu"})
    assert "api_token" in str(raised.value)


#: Every secret field of every section, with the other fields its class requires.
SECRETS = [
    (DotResource, "api_token", {"region": "eu"}),
    (
        ConfluenceResource,
        "api_token",
        {"base_url": "https://x.atlassian.net/wiki", "email": "a@b.c"},
    ),
    (ConfluenceResource, "personal_access_token", {"base_url": "https://wiki.example.com"}),
    (AlertChannels, "slack_token", {"slack_channel": "#data"}),
    (AlertChannels, "teams_webhook_url", {}),
    (PostgresWarehouse, "password", {"host": "db", "dbname": "analytics", "user": "dot"}),
    (RedshiftWarehouse, "password", {"host": "rs", "dbname": "analytics", "user": "dot"}),
    (SnowflakeWarehouse, "password", {"account": "a", "user": "dot", "database": "analytics"}),
    (
        SnowflakeWarehouse,
        "private_key_file_pwd",
        {"account": "a", "user": "dot", "database": "analytics", "private_key_file": "k.p8"},
    ),
    (BigQueryWarehouse, "service_account_json", {"project": "analytics"}),
    (DatabricksWarehouse, "access_token", {"server_hostname": "dbc", "http_path": "/sql/1"}),
]


@pytest.mark.parametrize(("settings", "field", "others"), SECRETS)
@pytest.mark.parametrize(
    "reference", ["{{ env.SECRET_NOBODY_SET }}", "{{ env('SECRET_NOBODY_SET') }}"]
)
def test_a_secret_is_read_at_run_time_so_loading_needs_no_variable(
    settings: type, field: str, others: dict[str, Any], reference: str
) -> None:
    assert field in YamlFront.secrets[settings]
    resolved = resolve(settings, {field: reference, **others})
    assert getattr(resolved, field) == EnvVar("SECRET_NOBODY_SET")


def test_an_optional_secret_is_left_out_when_its_variable_is_not_set(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """As `AlertChannels.from_env` decides: whether a channel exists shapes the sensors."""
    reference = {"teams_webhook_url": "{{ env.TEAMS_HOOK or None }}"}
    assert resolve(AlertChannels, reference).teams_webhook_url is None
    monkeypatch.setenv("TEAMS_HOOK", "https://teams.example.com/hook")
    assert resolve(AlertChannels, reference).teams_webhook_url == EnvVar("TEAMS_HOOK")


def test_without_a_file_errors_name_the_field_path() -> None:
    with pytest.raises(ResolutionException, match=r"connections\.0\.type: .*write it as 'duckdb'"):
        resolve(SyncSettings, {"connections": [{"type": "DuckDB", "id": "x", "asset_keys": ["a"]}]})


def test_the_component_builds_from_python_settings_too() -> None:
    component = DotComponent(
        workspace=DotResource(api_token=EnvVar("DOT_API_KEY"), region="eu"),
        catalogue=CatalogueSettings(files=(str(EXAMPLE_CATALOGUE),)),
    )
    defs = component_defs(component=component)
    assert [a.key for a in defs.assets or ()] == [AssetKey(["dot", "external_assets"])]
    assert defs.resources == {"dot": component.workspace}


def test_the_attributes_schema_is_built_once_and_each_caller_gets_a_copy() -> None:
    """Dagster asks for every installed component type's schema at every project load."""

    class Counting(GenerateJsonSchema):
        built = 0

        def generate(self, schema: Any, mode: Any = "validation") -> dict[str, Any]:
            Counting.built += 1
            return super().generate(schema, mode)

    model = DotComponent.get_model_cls()
    first = model.model_json_schema(schema_generator=Counting)
    first["properties"].clear()
    again = model.model_json_schema(schema_generator=Counting)
    assert Counting.built == 1
    assert again["properties"] and "workspace" in again["required"]
    assert again == BaseModel.model_json_schema.__func__(model)  # type: ignore[attr-defined]
