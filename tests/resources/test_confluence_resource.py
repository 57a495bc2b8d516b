"""ConfluenceResource: Cloud or Data Center credentials, checked at load, never shown."""

import pytest
from pydantic import ValidationError

from dot_orchestration.resources import ConfluenceResource


def test_the_resource_takes_cloud_or_data_center_credentials_from_the_environment() -> None:
    cloud = ConfluenceResource.from_env({"CONFLUENCE_API_TOKEN": "x"})
    datacenter = ConfluenceResource.from_env({"CONFLUENCE_PERSONAL_ACCESS_TOKEN": "x"})

    assert (cloud.email, cloud.personal_access_token) == ("CONFLUENCE_EMAIL", None)
    assert cloud.api_token == "CONFLUENCE_API_TOKEN"  # an EnvVar: resolved in the step
    assert datacenter.personal_access_token == "CONFLUENCE_PERSONAL_ACCESS_TOKEN"
    assert datacenter.api_token is None


@pytest.mark.parametrize(
    ("credentials", "message"),
    [
        ({}, "not both and not neither"),
        ({"api_token": "t", "personal_access_token": "p", "email": "e"}, "not both"),
        ({"api_token": "t"}, "needs both email and api_token"),
        ({"personal_access_token": "p", "flavour": "server"}, "'cloud' or 'datacenter'"),
        ({"personal_access_token": "p", "max_backoff_s": 300}, "max_backoff_s <= max_wait_s"),
    ],
)
def test_the_resource_refuses_credentials_that_cannot_work(
    credentials: dict[str, str], message: str
) -> None:
    with pytest.raises(ValidationError, match=message):
        ConfluenceResource(base_url="https://example.atlassian.net/wiki", **credentials)


def test_the_resource_never_shows_its_secrets() -> None:
    resource = ConfluenceResource(
        base_url="https://example.atlassian.net/wiki", email="a@example.com", api_token="s3cr3t"
    )
    assert "s3cr3t" not in repr(resource)
    with resource.get_client() as client:
        assert "s3cr3t" not in repr(client)
