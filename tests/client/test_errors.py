"""The error tree, and what its messages tell an operator (and what they never tell)."""

from __future__ import annotations

import pickle
from collections.abc import Callable

import pytest

from dot_orchestration.client import (
    DotAnswerTimeoutError,
    DotAPIError,
    DotAuthError,
    DotClient,
    DotConfigError,
    DotError,
    DotNotFoundError,
    DotOutcomeUnknownError,
    DotPermissionError,
    DotRateLimitError,
    DotResponseError,
    DotServerError,
    DotTimeoutError,
    DotTransportError,
    DotValidationError,
    ExternalAsset,
)
from dot_orchestration.client.errors import DotError as ContractDotError

from ._support import EXPIRED_TOKEN, USER_TOKEN, Control


@pytest.mark.parametrize(
    ("error", "parent"),
    [
        (DotConfigError, DotError),
        (DotConfigError, ValueError),
        (DotTransportError, DotError),
        (DotTimeoutError, DotTransportError),
        (DotAnswerTimeoutError, DotTimeoutError),
        (DotAPIError, DotError),
        (DotAuthError, DotAPIError),
        (DotPermissionError, DotAPIError),
        (DotNotFoundError, DotAPIError),
        (DotValidationError, DotAPIError),
        (DotRateLimitError, DotAPIError),
        (DotServerError, DotAPIError),
        (DotResponseError, DotAPIError),
    ],
)
def test_the_error_tree(error: type[Exception], parent: type[Exception]) -> None:
    assert issubclass(error, parent)
    assert ContractDotError is DotError


def test_an_expired_token_is_an_auth_error(make_dot: Callable[..., DotClient]) -> None:
    with pytest.raises(DotAuthError) as raised:
        make_dot(api_token=EXPIRED_TOKEN).me()
    error = raised.value
    assert (error.status_code, error.attempts, error.method, error.path) == (
        401,
        1,
        "GET",
        "/api/auth/me",
    )
    assert str(error).startswith("me: GET /api/auth/me -> HTTP 401 after 1 attempt: ")
    assert "token" in str(error) and error.detail
    assert EXPIRED_TOKEN not in str(error)


def test_a_user_token_on_an_admin_endpoint_is_a_permission_error(
    make_dot: Callable[..., DotClient],
) -> None:
    with pytest.raises(DotPermissionError, match="get_users: GET /api/get_users -> HTTP 403"):
        make_dot(api_token=USER_TOKEN).get_users()


def test_fastapi_422_detail_is_kept(dot: DotClient) -> None:
    # An unchecked model lets a broken body through, as a future API change might.
    broken = ExternalAsset.model_construct(id="no-subtype")
    with pytest.raises(DotValidationError) as raised:
        dot.import_external_asset(broken)
    assert raised.value.status_code == 422
    assert raised.value.attempts == 1
    [problem] = raised.value.detail
    assert problem["loc"] == ["body", "external_asset", "subtype"]
    assert problem["type"] == "missing"
    assert "external_asset" in str(raised.value)


def test_rate_limit_error_carries_retry_after(dot: DotClient, control: Control) -> None:
    control.inject({"path": "/api/org", "status": 429, "retry_after": 60})
    with pytest.raises(DotRateLimitError) as raised:
        dot.get_org()
    assert raised.value.retry_after == 60


def test_messages_never_show_the_query_string(dot_url: DotClient, control: Control) -> None:
    control.inject({"path": "/api/sync/*", "status": 503})
    with pytest.raises(DotOutcomeUnknownError) as raised:
        dot_url.sync_connection("snowflake", "prod")
    message = str(raised.value)
    assert message.startswith(
        "sync_connection: POST /api/sync/snowflake/prod -> HTTP 503 after 1 attempt: "
    )
    assert "fault injected" in message  # the body excerpt
    assert "?" not in message and "user_id" not in message


def test_long_bodies_are_truncated_in_messages(dot: DotClient, control: Control) -> None:
    control.inject(
        {"path": "/api/export_history", "kind": "malformed", "phase": "after", "status": 200}
    )
    with pytest.raises(DotResponseError, match="expected JSON, got invalid JSON") as raised:
        dot.export_history()
    assert len(raised.value.body) <= 500
    assert len(str(raised.value)) < 800


def test_an_html_page_with_200_is_a_response_error(dot: DotClient, control: Control) -> None:
    control.inject({"path": "/api/org", "kind": "malformed", "malformed": "html", "status": 200})
    with pytest.raises(DotResponseError, match="HTML page"):
        dot.get_org()


def test_create_user_never_shows_the_password(dot: DotClient) -> None:
    dot.create_user("twice@example.com", "hunter2-secret", "Twice")
    with pytest.raises(DotAPIError) as raised:
        dot.create_user("twice@example.com", "hunter2-secret", "Twice")
    assert "hunter2-secret" not in str(raised.value)


def test_errors_survive_pickling(dot: DotClient, control: Control) -> None:
    """Worker processes send exceptions back pickled; attributes must survive."""
    control.inject({"path": "/api/org", "status": 429, "retry_after": 60})
    with pytest.raises(DotRateLimitError) as raised:
        dot.get_org()
    copy = pickle.loads(pickle.dumps(raised.value))
    assert (str(copy), copy.retry_after, copy.attempts) == (
        str(raised.value),
        60,
        raised.value.attempts,
    )
