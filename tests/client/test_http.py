"""The shared HTTP plumbing, where no server is needed to show the behaviour."""

from __future__ import annotations

import logging
import ssl
from datetime import datetime, timedelta, timezone
from email.utils import format_datetime
from typing import Any

import httpx
import pytest
from pydantic import ValidationError

from dot_orchestration import __version__
from dot_orchestration._http import (
    USER_AGENT,
    HTTPCallError,
    HttpRetries,
    RedactingFilter,
    Timeouts,
    check_base_url,
    is_retryable_error,
    is_retryable_status,
    parse_retry_after,
    redact,
)
from dot_orchestration.client import DotClient
from dot_orchestration.confluence import ConfluenceClient

NOW = datetime(2026, 5, 1, 12, 0, 0, tzinfo=timezone.utc)


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("3", 3.0),
        ("0.2", 0.2),
        (" 7 ", 7.0),
        ("-5", 0.0),
        ("0", 0.0),
        (None, None),
        ("", None),
        ("soon", None),
        ("inf", None),
        ("nan", None),
    ],
)
def test_retry_after_in_seconds(header: str | None, expected: float | None) -> None:
    assert parse_retry_after(header, now=NOW) == expected


def test_retry_after_as_http_date() -> None:
    in_ten_seconds = format_datetime(NOW + timedelta(seconds=10), usegmt=True)
    assert parse_retry_after(in_ten_seconds, now=NOW) == pytest.approx(10.0)


def test_retry_after_date_in_the_past_means_now() -> None:
    an_hour_ago = format_datetime(NOW - timedelta(hours=1), usegmt=True)
    assert parse_retry_after(an_hour_ago, now=NOW) == 0.0


def test_retry_after_date_without_zone_is_utc() -> None:
    assert parse_retry_after("Fri, 01 May 2026 12:00:30 -0000", now=NOW) == pytest.approx(30.0)


@pytest.mark.parametrize("status", [429, 502, 503, 504])
def test_transient_statuses_are_retried_for_idempotent_calls(status: int) -> None:
    assert is_retryable_status(status, idempotent=True)


@pytest.mark.parametrize("status", [200, 400, 401, 403, 404, 409, 422, 500, 501])
def test_other_statuses_are_never_retried(status: int) -> None:
    assert not is_retryable_status(status, idempotent=True)
    assert not is_retryable_status(status, idempotent=False)


def test_creates_are_retried_only_on_429() -> None:
    assert is_retryable_status(429, idempotent=False)
    assert not any(is_retryable_status(s, idempotent=False) for s in (502, 503, 504))


REQUEST = httpx.Request("POST", "https://example.com/api/ask")
NEVER_SENT = [
    httpx.ConnectError("refused", request=REQUEST),
    httpx.ConnectTimeout("slow connect", request=REQUEST),
    httpx.PoolTimeout("pool exhausted", request=REQUEST),
]
MAYBE_SENT = [
    httpx.ReadTimeout("slow answer", request=REQUEST),
    httpx.WriteTimeout("slow upload", request=REQUEST),
    httpx.ReadError("reset", request=REQUEST),
    httpx.WriteError("broken pipe", request=REQUEST),
    httpx.RemoteProtocolError("Server disconnected", request=REQUEST),
]
NEVER_RETRIED = [
    httpx.UnsupportedProtocol("ftp", request=REQUEST),
    httpx.LocalProtocolError("bad header", request=REQUEST),
    ValueError("a bug"),
]


@pytest.mark.parametrize("error", NEVER_SENT + MAYBE_SENT, ids=lambda e: type(e).__name__)
def test_idempotent_calls_retry_every_transient_error(error: Exception) -> None:
    assert is_retryable_error(error, idempotent=True)


@pytest.mark.parametrize("error", NEVER_SENT, ids=lambda e: type(e).__name__)
def test_creates_retry_errors_that_prove_nothing_was_sent(error: Exception) -> None:
    assert is_retryable_error(error, idempotent=False)


@pytest.mark.parametrize("error", MAYBE_SENT, ids=lambda e: type(e).__name__)
def test_creates_never_retry_errors_after_the_request_may_have_arrived(error: Exception) -> None:
    assert not is_retryable_error(error, idempotent=False)


@pytest.mark.parametrize("error", NEVER_RETRIED, ids=lambda e: type(e).__name__)
def test_programming_errors_are_never_retried(error: Exception) -> None:
    assert not is_retryable_error(error, idempotent=True)


def test_redact_hides_secrets_raw_and_url_encoded() -> None:
    secret = "dot-a+b/c=d"
    text = f"raw {secret} quoted dot-a%2Bb%2Fc%3Dd plus dot-a%2Bb%2Fc%3Dd"
    cleaned = redact(text, [secret])
    assert "dot-a" not in cleaned
    assert cleaned.count("***") == 3


def test_redact_hides_secret_query_values_it_was_not_told_about() -> None:
    url = "https://eu.getdot.ai/api/sync/x/y?user_id=a%40b.com&api_token=dot-zzz&x=1"
    assert redact(url) == "https://eu.getdot.ai/api/sync/x/y?user_id=a%40b.com&api_token=***&x=1"
    assert redact("GET /q?TOKEN=abc HTTP/1.1") == "GET /q?TOKEN=*** HTTP/1.1"


def test_redact_hides_url_passwords() -> None:
    assert redact("https://me:hunter2@example.com/x") == "https://me:***@example.com/x"


def test_redacting_filter_rewrites_httpx_style_records() -> None:
    log_filter = RedactingFilter()
    log_filter.add_secret("dot-known")
    record = logging.LogRecord(
        "httpx",
        logging.INFO,
        __file__,
        1,
        'HTTP Request: %s %s "%s %d %s"',
        ("POST", httpx.URL("http://h/api/x?api_token=dot-known"), "HTTP/1.1", 200, "OK"),
        None,
    )
    assert log_filter.filter(record)
    expected = 'HTTP Request: POST http://h/api/x?api_token=*** "HTTP/1.1 200 OK"'
    assert record.getMessage() == expected


@pytest.mark.parametrize(
    "url",
    ["https://eu.getdot.ai", "http://127.0.0.1:8000", "http://localhost:1", "http://[::1]:9"],
)
def test_safe_base_urls_are_accepted(url: str) -> None:
    assert check_base_url(url) == httpx.URL(url)


@pytest.mark.parametrize(
    "url", ["http://eu.getdot.ai", "http://10.0.0.5:8000", "http://localhost.evil.com"]
)
def test_plain_http_to_another_host_is_refused(url: str) -> None:
    with pytest.raises(ValueError, match="refusing plain http://"):
        check_base_url(url)


@pytest.mark.parametrize("url", ["ftp://eu.getdot.ai", "eu.getdot.ai", "https://"])
def test_base_url_without_https_scheme_and_host_is_refused(url: str) -> None:
    with pytest.raises(ValueError):
        check_base_url(url)


def test_user_agent_names_the_package_version() -> None:
    assert f"dot-orchestration/{__version__}" == USER_AGENT


def test_timeouts_use_the_long_read_only_for_slow_calls() -> None:
    timeouts = Timeouts(connect=1, read=2, write=3, pool=4, long_read=50)
    assert timeouts.for_request() == httpx.Timeout(connect=1, read=2, write=3, pool=4)
    assert timeouts.for_request(slow=True).read == 50


@pytest.mark.parametrize(
    "settings",
    [
        {"max_attempts": 0},
        {"initial_backoff": -1},
        {"initial_backoff": 5, "max_backoff": 1},
        {"max_backoff": 200, "max_wait": 100},
        {"unknown": 1},
    ],
)
def test_retry_policy_rejects_nonsense(settings: dict[str, float]) -> None:
    with pytest.raises(ValidationError):
        HttpRetries(**settings)


def test_call_error_message_names_the_call_and_redacts_the_body() -> None:
    error = HTTPCallError(
        "rejected",
        operation="sync_connection",
        method="POST",
        path="/api/sync/snowflake/prod",
        attempts=3,
        status_code=503,
        body='{"detail": "token dot-s3cret is busy"}' + " padding" * 200,
        secrets=["dot-s3cret"],
    )
    message = str(error)
    assert message.startswith("sync_connection: POST /api/sync/snowflake/prod -> HTTP 503")
    assert "after 3 attempts: rejected | body: " in message
    assert "dot-s3cret" not in message
    assert len(error.body) <= HTTPCallError.BODY_EXCERPT


SSL_TEST_TOKEN = "ssl-context-test-token"


def test_clients_share_one_ssl_context(monkeypatch: pytest.MonkeyPatch) -> None:
    """Clients are made per unit of work (a run, a sensor tick); each building its own SSL
    context would load the CA bundle again every time. (The tokens are long: every client
    teaches the process's log redaction its token, and a one-letter one would star out that
    letter in every later httpx log line of the worker.)"""
    # the process's one
    DotClient(api_token=SSL_TEST_TOKEN, base_url="https://app.getdot.ai").close()
    built: list[str] = []
    real = ssl.create_default_context

    def counted(*args: Any, **kwargs: Any) -> ssl.SSLContext:
        built.append("an SSL context")
        return real(*args, **kwargs)

    monkeypatch.setattr(ssl, "create_default_context", counted)

    for _ in range(2):
        DotClient(api_token=SSL_TEST_TOKEN, base_url="https://app.getdot.ai").close()
        wiki = "https://example.atlassian.net/wiki"
        ConfluenceClient(wiki, email="a@b.c", api_token=SSL_TEST_TOKEN).close()

    assert built == []
