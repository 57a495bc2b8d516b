"""Retries under injected faults, observed from the emulator's journal.

Reads (`me`, `get_chat`) are repeated on timeouts, dropped connections and
429/502/503/504; creates (`ask`) and syncs only when the request provably never reached
Dot (a 429, a failed connect). A sync that may have reached Dot raises
`DotOutcomeUnknownError` after one attempt. Nothing is ever repeated after
400/401/403/404/422.
"""

from __future__ import annotations

import logging
import socket
import time
from collections.abc import Callable

import pytest

from dot_orchestration.client import (
    DotAPIError,
    DotAuthError,
    DotClient,
    DotNotFoundError,
    DotOutcomeUnknownError,
    DotPermissionError,
    DotRateLimitError,
    DotResponseError,
    DotServerError,
    DotTimeoutError,
    DotTransportError,
    DotValidationError,
    HttpRetries,
    Timeouts,
)

from ._support import FAST_RETRY, Control

ME = "/api/auth/me"
SYNC = "/api/sync/*"
ASK = "/api/ask"


@pytest.mark.parametrize("status", [429, 502, 503, 504])
def test_transient_statuses_are_retried_until_success(
    dot: DotClient, control: Control, status: int
) -> None:
    control.inject({"path": ME, "status": status, "times": 2})
    dot.me()
    assert [call["status"] for call in control.calls(ME)] == [status, status, 200]


def test_a_rate_limited_sync_is_retried_and_reports_its_attempts(
    dot: DotClient, control: Control
) -> None:
    control.inject({"path": SYNC, "status": 429, "retry_after": 0.01, "times": 2})
    accepted = dot.sync_connection("snowflake", "prod")
    assert accepted.attempts == 3
    assert [call["status"] for call in control.calls(SYNC)] == [429, 429, 200]


@pytest.mark.parametrize(
    ("fault", "status"),
    [
        ({"status": 500}, 500),
        ({"status": 502, "phase": "after"}, 502),
        ({"status": 503}, 503),
        ({"status": 504, "phase": "after"}, 504),
        ({"kind": "malformed", "malformed": "html"}, 502),
        ({"kind": "drop"}, None),
        ({"kind": "drop", "phase": "after"}, None),
    ],
)
def test_a_sync_that_may_have_reached_dot_is_sent_once_and_its_outcome_unknown(
    dot: DotClient, control: Control, fault: dict[str, object], status: int | None
) -> None:
    control.inject({"path": SYNC, **fault})
    with pytest.raises(DotOutcomeUnknownError) as raised:
        dot.sync_connection("snowflake", "prod")
    assert len(control.calls(SYNC)) == 1  # never re-sent
    error = raised.value
    assert (error.status_code, error.attempts) == (status, 1)
    assert str(error).startswith("sync_connection: POST /api/sync/snowflake/prod")
    assert "outcome unknown" in str(error) and "may have reached Dot" in str(error)
    assert "re-materialize" in str(error)


def test_a_sync_that_outlasts_the_read_timeout_is_sent_once(
    make_dot: Callable[..., DotClient], control: Control
) -> None:
    dot = make_dot(timeouts=Timeouts(read=0.1))
    control.inject({"path": SYNC, "kind": "timeout", "latency_ms": 500})
    with pytest.raises(DotOutcomeUnknownError, match="ReadTimeout") as raised:
        dot.sync_connection("snowflake", "prod")
    assert raised.value.status_code is None
    assert len(control.calls(SYNC)) == 1


def test_exhausted_retries_raise_the_error_of_the_last_failure(
    dot: DotClient, control: Control
) -> None:
    control.inject({"path": ME, "status": 503, "times": 3}, {"path": ME, "status": 504})
    with pytest.raises(DotServerError) as raised:
        dot.me()
    assert raised.value.status_code == 504
    assert raised.value.attempts == FAST_RETRY.max_attempts
    assert "after 4 attempts" in str(raised.value)
    assert len(control.calls(ME)) == FAST_RETRY.max_attempts


@pytest.mark.parametrize(
    ("status", "error"),
    [
        (400, DotValidationError),
        (401, DotAuthError),
        (403, DotPermissionError),
        (404, DotNotFoundError),
        (409, DotAPIError),
        (422, DotValidationError),
        (500, DotServerError),
    ],
)
def test_caller_errors_are_never_retried(
    dot: DotClient, control: Control, status: int, error: type[DotAPIError]
) -> None:
    control.inject({"path": ME, "status": status})
    with pytest.raises(error) as raised:
        dot.me()
    assert raised.value.status_code == status
    assert raised.value.attempts == 1
    assert len(control.calls(ME)) == 1


def test_retry_after_is_respected(dot: DotClient, control: Control) -> None:
    control.inject({"path": ME, "status": 429, "retry_after": 0.2, "times": 2})
    started = time.monotonic()
    dot.me()
    elapsed = time.monotonic() - started
    assert len(control.calls(ME)) == 3
    assert 0.4 <= elapsed < 2.0  # two waits of 0.2 s, not the 0.01 s backoff


def test_retry_after_on_503_is_respected_too(dot: DotClient, control: Control) -> None:
    control.inject({"path": ME, "status": 503, "retry_after": 0.3, "times": 1})
    started = time.monotonic()
    dot.me()
    assert time.monotonic() - started >= 0.3


def test_retry_after_beyond_max_wait_gives_up_at_once(dot: DotClient, control: Control) -> None:
    control.inject({"path": ME, "status": 429, "retry_after": 30})
    started = time.monotonic()
    with pytest.raises(DotRateLimitError) as raised:
        dot.me()
    assert time.monotonic() - started < 1.0
    assert raised.value.retry_after == 30
    assert raised.value.attempts == 1
    assert "retry after 30 s" in str(raised.value)


def test_exponential_backoff_grows_between_attempts(
    make_dot: Callable[..., DotClient], control: Control
) -> None:
    policy = HttpRetries(max_attempts=3, initial_backoff=0.1, max_backoff=1, max_wait=2)
    dot = make_dot(retry=policy)
    control.inject({"path": ME, "status": 502})
    started = time.monotonic()
    with pytest.raises(DotServerError):
        dot.me()
    # waits: 0.1 * 2**0 + jitter, then 0.1 * 2**1 + jitter (jitter <= 0.1 each)
    assert 0.3 <= time.monotonic() - started < 1.5


def test_read_timeouts_are_retried_for_reads(
    make_dot: Callable[..., DotClient], control: Control
) -> None:
    dot = make_dot(timeouts=Timeouts(read=0.2))
    control.inject({"path": ME, "kind": "timeout", "latency_ms": 600, "times": 1})
    dot.me()
    assert len(control.calls(ME)) == 2


def test_persistent_timeouts_raise_a_timeout_error(
    make_dot: Callable[..., DotClient], control: Control
) -> None:
    dot = make_dot(
        timeouts=Timeouts(read=0.1), retry=FAST_RETRY.model_copy(update={"max_attempts": 2})
    )
    control.inject({"path": ME, "kind": "timeout", "latency_ms": 400})
    with pytest.raises(DotTimeoutError, match="ReadTimeout") as raised:
        dot.me()
    assert raised.value.attempts == 2


def test_dropped_connections_are_retried_for_idempotent_calls(
    dot: DotClient, control: Control
) -> None:
    control.inject({"path": ME, "kind": "drop", "times": 2})
    dot.me()
    assert len(control.calls(ME)) == 3


def test_a_dropped_response_to_a_create_is_not_resent(dot: DotClient, control: Control) -> None:
    control.inject({"path": ASK, "kind": "drop", "phase": "after"})
    with pytest.raises(DotTransportError) as raised:
        dot.ask("How many orders yesterday?")
    assert raised.value.attempts == 1
    assert len(control.calls(ASK)) == 1  # Dot got the question exactly once


@pytest.mark.parametrize("status", [502, 503, 504])
def test_a_create_answered_by_a_gateway_error_is_not_resent(
    dot: DotClient, control: Control, status: int
) -> None:
    control.inject({"path": ASK, "status": status, "phase": "after"})
    with pytest.raises(DotServerError):
        dot.ask("How many orders yesterday?")
    assert len(control.calls(ASK)) == 1


def test_a_slow_create_is_not_resent_after_its_read_timeout(
    make_dot: Callable[..., DotClient], control: Control
) -> None:
    dot = make_dot(timeouts=Timeouts(read=0.1, long_read=0.2))
    control.inject({"path": ASK, "kind": "timeout", "latency_ms": 600, "times": 1})
    with pytest.raises(DotTimeoutError):
        dot.ask("How many orders yesterday?")
    assert len(control.calls(ASK)) == 1


def test_a_rate_limited_create_is_retried(dot: DotClient, control: Control) -> None:
    control.inject({"path": ASK, "status": 429, "retry_after": 0.05, "times": 1})
    accepted = dot.ask("How many orders yesterday?")
    assert [call["status"] for call in control.calls(ASK)] == [429, 200]
    assert accepted.chat_id


def test_unreachable_server_is_retried_even_for_creates() -> None:
    with socket.socket() as probe:  # a port nobody listens on: connect is refused
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with DotClient(api_token="dot-x", base_url=f"http://127.0.0.1:{port}", retry=FAST_RETRY) as dot:
        for call in (dot.me, lambda: dot.ask("q"), lambda: dot.sync_connection("dbt", "m")):
            with pytest.raises(DotTransportError, match="ConnectError") as raised:
                call()
            assert raised.value.attempts == FAST_RETRY.max_attempts
            assert raised.value.status_code is None


@pytest.mark.parametrize("malformed", ["truncated_json", "html"])
def test_unreadable_success_bodies_raise_a_response_error(
    dot: DotClient, control: Control, malformed: str
) -> None:
    control.inject({"path": ME, "kind": "malformed", "malformed": malformed, "status": 200})
    with pytest.raises(DotResponseError, match="expected JSON") as raised:
        dot.me()
    assert raised.value.status_code == 200
    assert len(control.calls(ME)) == 1


def test_an_html_gateway_page_is_retried_then_reported(dot: DotClient, control: Control) -> None:
    control.inject({"path": ME, "kind": "malformed", "malformed": "html"})
    with pytest.raises(DotServerError, match="HTTP 502") as raised:
        dot.me()
    assert "nginx" in raised.value.body
    assert len(control.calls(ME)) == FAST_RETRY.max_attempts


def test_each_retry_is_logged_with_the_path_only(
    dot_url: DotClient, control: Control, caplog: pytest.LogCaptureFixture
) -> None:
    control.inject({"path": SYNC, "status": 429, "times": 1})
    with caplog.at_level(logging.WARNING, logger="dot_orchestration"):
        dot_url.sync_connection("snowflake", "prod")
    assert "POST /api/sync/snowflake/prod: attempt 1 failed (HTTP 429); retrying" in caplog.text
