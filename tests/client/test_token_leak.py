"""The token must appear nowhere a person or a log shipper could read it.

Everything is captured: every logger at DEBUG (httpx logs each URL at INFO, httpcore its
connection traces at DEBUG), stdout and stderr, each exception's str, repr, attributes and
full traceback with chained causes, and the client's repr, in both auth modes, over
successes and every kind of failure.
"""

from __future__ import annotations

import logging
import traceback
from collections.abc import Callable
from datetime import date, timedelta
from typing import Any

import pytest

from dot_orchestration.client import DotClient, DotError, ExternalAsset, Timeouts

from ._support import ADMIN_EMAIL, ADMIN_TOKEN, EXPIRED_TOKEN, Control

SYNC = "/api/sync/*"

FAILURES: list[dict[str, Any]] = [
    {"path": SYNC, "status": 503},  # not re-sent: DotOutcomeUnknownError
    {"path": SYNC, "status": 422},
    {"path": SYNC, "status": 401},
    {"path": SYNC, "status": 302},  # DotRedirectError
    {"path": SYNC, "status": 429, "retry_after": 30},
    {"path": SYNC, "kind": "drop"},  # DotOutcomeUnknownError, no status
    {"path": SYNC, "kind": "timeout", "latency_ms": 400},  # DotOutcomeUnknownError
    {"path": SYNC, "kind": "malformed", "status": 200},  # DotResponseError
    {"path": SYNC, "kind": "malformed", "malformed": "html"},
]


def everything_about(error: BaseException) -> list[str]:
    return [
        str(error),
        repr(error),
        repr(vars(error)),
        "".join(traceback.format_exception(error)),
    ]


@pytest.mark.parametrize("auth_mode", ["header", "url"])
def test_the_token_appears_nowhere(
    make_dot: Callable[..., DotClient],
    control: Control,
    caplog: pytest.LogCaptureFixture,
    capsys: pytest.CaptureFixture[str],
    auth_mode: str,
) -> None:
    caplog.set_level(logging.DEBUG)
    for name in ("httpx", "httpcore", "dot_orchestration"):
        caplog.set_level(logging.DEBUG, logger=name)
    seen: list[str] = []

    def attempt(call: Callable[[], object]) -> None:
        try:
            call()
        except DotError as error:
            seen.extend(everything_about(error))

    dot = make_dot(auth_mode=auth_mode, user_id=ADMIN_EMAIL, timeouts=Timeouts(read=0.2))
    expired = make_dot(auth_mode=auth_mode, user_id="expired@example.com", api_token=EXPIRED_TOKEN)
    seen += [repr(dot), str(dot), repr(expired)]

    dot.sync_connection("snowflake", "prod")
    dot.import_external_asset(ExternalAsset(id="a-1", subtype="looker_dashboard"))
    dot.export_history(date.today() - timedelta(days=2), date.today())
    attempt(dot.me)  # works in header mode, refused before sending in URL mode
    attempt(lambda: expired.sync_connection("snowflake", "prod"))  # 401
    for rule in FAILURES:
        control.inject(rule)
        attempt(lambda: dot.sync_connection("snowflake", "prod"))
    control.inject()

    captured = capsys.readouterr()
    seen += [caplog.text, captured.out, captured.err]
    seen += [repr(vars(record)) for record in caplog.records]
    for text in seen:
        assert ADMIN_TOKEN not in text
        assert EXPIRED_TOKEN not in text

    # The capture did see the traffic, so a leak would have been caught.
    assert "HTTP Request: POST" in caplog.text
    assert "receive_response_headers" in caplog.text
    if auth_mode == "url":
        assert "api_token=***" in caplog.text
