"""What actually goes over the wire, seen by a bare HTTP server that echoes each request.

The emulator journals who authenticated and how, but not the raw headers; this shows the
rest: both auth headers, the User-Agent, the environment header, and URL auth's query.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import pytest

from dot_orchestration._http import USER_AGENT
from dot_orchestration.client import DotClient, DotRedirectError

TOKEN = "dot-wire-test-token"


class _Echo(BaseHTTPRequestHandler):
    def _echo(self) -> None:
        if self.path.startswith("/api/get_users"):  # what a web app's login wall answers
            self.send_response(302)
            self.send_header("Location", f"/login?next=/api/get_users&api_token={TOKEN}")
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        body = json.dumps(
            {"headers": {k.lower(): v for k, v in self.headers.items()}, "path": self.path}
        ).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST = _echo

    def log_message(self, format: str, *args: object) -> None:
        """Keep the test output clean."""


@pytest.fixture(scope="module")
def echo_url() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Echo)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    server.server_close()


def test_header_auth_sends_both_documented_headers(echo_url: str) -> None:
    with DotClient(api_token=TOKEN, base_url=echo_url, environment="staging") as dot:
        headers = dot.me()["headers"]
    assert headers["x-api-key"] == headers["api-key"] == TOKEN
    assert headers["user-agent"] == USER_AGENT
    assert headers["accept"] == "application/json"
    assert headers["x-requested-with"] == "XMLHttpRequest"  # as Dot's CLI sends it
    assert headers["x-dot-environment"] == "staging"


def test_a_redirect_is_a_typed_error_naming_the_likely_cause_and_is_not_followed(
    echo_url: str,
) -> None:
    with (
        DotClient(api_token=TOKEN, base_url=echo_url) as dot,
        pytest.raises(DotRedirectError) as raised,
    ):
        dot.get_users()
    error = raised.value
    assert (error.status_code, error.attempts) == (302, 1)
    assert error.location == f"{echo_url}/login"  # no query string: it held the token
    message = str(error)
    assert message.startswith("get_users: GET /api/get_users -> HTTP 302 after 1 attempt")
    assert "base URL" in message and "region" in message and "DOT_API_KEY" in message
    assert TOKEN not in message and TOKEN not in repr(vars(error))


def test_url_auth_puts_the_credentials_in_the_query_only(echo_url: str) -> None:
    with DotClient(
        api_token=TOKEN, base_url=echo_url, auth_mode="url", user_id="sync+bot@example.com"
    ) as dot:
        echoed = dot.sync_connection("dbt", "main").response
    url = urlsplit(echoed["path"])
    assert url.path == "/api/sync/dbt/main"
    assert parse_qs(url.query) == {"user_id": ["sync+bot@example.com"], "api_token": [TOKEN]}
    assert "x-api-key" not in echoed["headers"] and "api-key" not in echoed["headers"]
    assert "x-dot-environment" not in echoed["headers"]
