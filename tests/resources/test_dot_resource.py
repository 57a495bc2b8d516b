"""DotResource: wrong configuration fails at definition load, naming the field and the fix."""

import pytest
from pydantic import ValidationError

from dot_orchestration.resources import ConfluenceResource, DotResource, HttpSettings


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({}, "set exactly one of `region`"),
        ({"region": "eu", "base_url": "http://127.0.0.1:1"}, "set exactly one of `region`"),
        ({"region": "us"}, "region must be 'app' \\(US\\) or 'eu', not 'us'"),
        ({"region": "eu", "auth_mode": "query"}, "auth_mode must be 'header' or 'url'"),
        ({"region": "eu", "auth_mode": "url"}, "auth_mode='url' needs `user_id`"),
        ({"region": "eu", "max_backoff_s": 300}, "DotResource: need initial_backoff_s <= "),
        ({"region": "eu", "max_attempts": 0}, "max_attempts\n  Input should be greater than"),
    ],
)
def test_bad_settings_fail_at_construction(settings: dict[str, object], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        DotResource(api_token="dot-x", **settings)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "resource",
    [
        lambda **http: DotResource(api_token="dot-x", region="eu", **http),
        lambda **http: ConfluenceResource(
            base_url="https://w.example", personal_access_token="p", **http
        ),
    ],
    ids=["dot", "confluence"],
)
def test_both_resources_share_the_http_settings_and_their_checks(resource: object) -> None:
    """One base declares timeouts and retries: same names, defaults, checks and client
    settings for Dot and Confluence."""
    built = resource(max_attempts=2, initial_backoff_s=0.1, max_backoff_s=1, max_wait_s=3)  # type: ignore[operator]
    assert isinstance(built, HttpSettings)
    retries = built.http_retries()
    assert (retries.max_attempts, retries.initial_backoff, retries.max_backoff) == (2, 0.1, 1)
    assert retries.max_wait == 3
    with pytest.raises(ValidationError, match=r"Resource: need initial_backoff_s <= max_backoff_s"):
        resource(max_backoff_s=200)  # type: ignore[operator]


def test_a_literal_secret_never_shows_in_a_validation_error() -> None:
    """A secret of the wrong type is refused without quoting it (the shared base hides
    inputs from validation errors)."""
    with pytest.raises(ValidationError, match="personal_access_token") as refused:
        ConfluenceResource(base_url="https://w.example", personal_access_token=["s3cr3t"])  # type: ignore[arg-type]
    assert "s3cr3t" not in str(refused.value)


def test_from_env_takes_an_environment_by_id_or_by_name_not_both() -> None:
    base = {"DOT_API_KEY": "unused", "DOT_REGION": "eu"}
    by_id = DotResource.from_env({**base, "DOT_ENVIRONMENT": "env_0123456789ab"})
    by_name = DotResource.from_env({**base, "DOT_ENVIRONMENT_NAME": "dagster-my-branch"})
    assert (by_id.environment, by_id.environment_name) == ("env_0123456789ab", None)
    assert (by_name.environment, by_name.environment_name) == (None, "dagster-my-branch")
    both = {**base, "DOT_ENVIRONMENT": "env_0123456789ab", "DOT_ENVIRONMENT_NAME": "x"}
    with pytest.raises(ValueError, match="set `environment` \\(an id\\) or `environment_name`"):
        DotResource.from_env(both)
