"""DotResource: wrong configuration fails at definition load, naming the field and the fix."""

import pytest
from dagster import EnvVar

from dot_orchestration.emulator import ADMIN_TOKEN
from dot_orchestration.resources import DotResource


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({}, "set exactly one of `region`"),
        ({"region": "eu", "base_url": "http://127.0.0.1:1"}, "set exactly one of `region`"),
        ({"region": "us"}, "region must be 'app' \\(US\\) or 'eu', not 'us'"),
        ({"region": "eu", "auth_mode": "query"}, "auth_mode must be 'header' or 'url'"),
        ({"region": "eu", "auth_mode": "url"}, "auth_mode='url' needs `user_id`"),
        ({"region": "eu", "max_backoff_s": 300}, "max_backoff_s <= max_wait_s"),
        ({"region": "eu", "max_attempts": 0}, "max_attempts"),
    ],
)
def test_bad_settings_fail_at_construction(settings: dict[str, object], message: str) -> None:
    with pytest.raises(Exception, match=message):
        DotResource(api_token="dot-x", **settings)  # type: ignore[arg-type]


def test_from_env_keeps_secrets_as_env_var_references() -> None:
    resource = DotResource.from_env(
        {"DOT_BASE_URL": "http://127.0.0.1:9", "DOT_API_KEY": "dot-secret", "DOT_USER_ID": "a@b.c"}
    )
    assert resource.api_token == EnvVar("DOT_API_KEY")
    assert resource.user_id == EnvVar("DOT_USER_ID")
    assert resource.base_url == EnvVar("DOT_BASE_URL")
    assert "dot-secret" not in repr(resource)


def test_from_env_defaults_to_the_us_region() -> None:
    resource = DotResource.from_env({"DOT_API_KEY": "dot-secret"})
    assert resource.region == "app"


def test_env_vars_resolve_when_the_client_is_built(
    dot_emulator: object, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DOT_BASE_URL", dot_emulator.url)  # type: ignore[attr-defined]
    monkeypatch.setenv("DOT_API_KEY", ADMIN_TOKEN)
    resource = DotResource.from_env({"DOT_BASE_URL": "set", "DOT_API_KEY": "set"})
    with resource.process_config_and_initialize().get_client() as client:
        assert client.me()["email"] == "admin@example.com"
