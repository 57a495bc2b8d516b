"""The Confluence client's exceptions: one tree whose names say what went wrong.

`ConfluenceError` catches everything. `ConfluenceConfigError` means nothing was sent;
`ConfluenceTransportError` means no usable response came back; `ConfluenceAPIError` means
Confluence answered and said no (or said something unreadable). Every message names the
operation, HTTP method, path, status, attempts and a redacted body excerpt, and never the
API token, the personal access token or the basic-auth header.
"""

from __future__ import annotations

from typing import Any

from dot_orchestration._http import HTTPCallError

__all__ = [
    "ConfluenceAPIError",
    "ConfluenceAuthError",
    "ConfluenceBadRequestError",
    "ConfluenceConfigError",
    "ConfluenceError",
    "ConfluenceNotFoundError",
    "ConfluencePermissionError",
    "ConfluenceRateLimitError",
    "ConfluenceResponseError",
    "ConfluenceServerError",
    "ConfluenceTimeoutError",
    "ConfluenceTransportError",
]


class ConfluenceError(Exception):
    """Base of everything the Confluence client raises."""


class ConfluenceConfigError(ConfluenceError, ValueError):
    """The client or a call is set up wrong; nothing was sent. The message says the fix."""


class ConfluenceTransportError(ConfluenceError, HTTPCallError):
    """No usable response: connection refused, reset or dropped, TLS or protocol failure."""


class ConfluenceTimeoutError(ConfluenceTransportError):
    """The last attempt timed out (connect, read, write, or waiting for a pooled connection)."""


class ConfluenceAPIError(ConfluenceError, HTTPCallError):
    """Confluence answered with an error status; `detail` is its own message when it sent
    one (v1's `message`, v2's `errors[].detail` or `title`)."""

    def __init__(self, problem: str, *, detail: str | None = None, **call: Any) -> None:
        super().__init__(problem, **call)
        self.detail = detail


class ConfluenceAuthError(ConfluenceAPIError):
    """401: wrong email or API token (Cloud), or an unknown or expired PAT (Data Center)."""


class ConfluencePermissionError(ConfluenceAPIError):
    """403: the user may not see this page (page restrictions) or use this API."""


class ConfluenceNotFoundError(ConfluenceAPIError):
    """404: no such page, or a deleted one. Confluence also answers 404 for pages the
    user may not see, so as not to reveal that they exist."""


class ConfluenceBadRequestError(ConfluenceAPIError):
    """400: Confluence rejected the request, e.g. CQL it cannot parse; `detail` says why."""


class ConfluenceRateLimitError(ConfluenceAPIError):
    """429 after the retries; `retry_after` is the server's last `Retry-After` in seconds."""

    def __init__(self, problem: str, *, retry_after: float | None = None, **call: Any) -> None:
        super().__init__(problem, **call)
        self.retry_after = retry_after


class ConfluenceServerError(ConfluenceAPIError):
    """5xx after the retries."""


class ConfluenceResponseError(ConfluenceAPIError):
    """A success status whose body is not what Confluence sends: truncated JSON, an HTML
    login or proxy page, a shape the client cannot read, or a `next` link that leaves the
    site or goes round in a circle."""
