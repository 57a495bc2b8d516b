"""`YamlFront`: templates rendered into the Python API's settings, secrets kept as `EnvVar`s.

No project, no file: the settings classes and Dagster's resolution context only.
"""

from typing import Any

import pytest
from dagster import AssetKey, EnvVar, ResolutionContext
from dagster.components.resolved.errors import ResolutionException
from dagster.components.testing.utils import component_defs

from dot_orchestration.components import DotComponent
from dot_orchestration.components._yaml import YamlFront
from dot_orchestration.components.settings import CatalogueSettings, SyncSettings
from dot_orchestration.resources import DotResource

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


@pytest.mark.parametrize(
    ("token", "says"),
    [
        ("dot-0123456789abcdef", "must be a reference to an environment variable"),
        ("{{ env.DOT_TOKEN }}-suffix", "must be a reference to an environment variable"),
        ("{{ env('DOT_TOKEN_NOBODY_SET') }}", "DOT_TOKEN_NOBODY_SET is not set"),
    ],
)
def test_a_secret_is_an_environment_reference_to_a_set_variable(
    token: str, says: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DOT_TOKEN", "t")
    with pytest.raises(ResolutionException, match=says) as raised:
        resolve(DotResource, {"api_token": token, "region": "eu"})
    assert "api_token" in str(raised.value)


def test_without_a_file_errors_name_the_field_path() -> None:
    with pytest.raises(ResolutionException, match=r"connections\.0\.type: unknown Dot connection"):
        resolve(SyncSettings, {"connections": [{"type": "nope", "id": "x", "asset_keys": ["a"]}]})


def test_the_component_builds_from_python_settings_too() -> None:
    component = DotComponent(
        workspace=DotResource(api_token=EnvVar("DOT_API_KEY"), region="eu"),
        catalogue=CatalogueSettings(files=(str(EXAMPLE_CATALOGUE),)),
    )
    defs = component_defs(component=component)
    assert [a.key for a in defs.assets or ()] == [AssetKey(["dot", "external_assets"])]
    assert defs.resources == {"dot": component.workspace}
