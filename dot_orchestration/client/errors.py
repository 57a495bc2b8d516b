"""The Dot client's exceptions: one tree whose names say what went wrong.

`DotError` catches everything. Below it, `DotConfigError` means nothing was sent;
`DotTransportError` means no usable response came back; `DotAPIError` means Dot answered
and said no (or said something unreadable). Every message names the operation, HTTP method,
path, status, attempts and a redacted body excerpt, and never the token.
"""

from __future__ import annotations

from typing import Any

from dot_orchestration._http import HTTPCallError

__all__ = [
    "DotAPIError",
    "DotAnswerTimeoutError",
    "DotAuthError",
    "DotConfigError",
    "DotEffectNotObservedError",
    "DotError",
    "DotNotFoundError",
    "DotOutcomeUnknownError",
    "DotPermissionError",
    "DotRateLimitError",
    "DotRedirectError",
    "DotResponseError",
    "DotServerError",
    "DotTimeoutError",
    "DotTransportError",
    "DotUnknownEnvironmentError",
    "DotValidationError",
]


class DotError(Exception):
    """Base of everything the Dot client raises."""

    #: The conversation a failed question belongs to (set on every error of `ask`,
    #: `ask_with_history`, `agentic`, `agentic_with_history`): Dot may still answer it, so
    #: `get_chat(chat_id)` can read it later. None for errors of other calls.
    chat_id: str | None = None


class DotConfigError(DotError, ValueError):
    """The client or a call is set up wrong; nothing was sent. The message says the fix."""


class DotEffectNotObservedError(DotError):
    """Dot accepted writes (2xx) but reading its state back does not show their effect.

    Raised where Dot documents neither the reply nor the effect of a call (org note writes,
    deactivation, deletion) or where the effect matters (catalogue imports): the package
    re-reads and compares rather than trusting a 2xx. The message says what was expected,
    what Dot holds and what a person does next; `expected` and `observed` carry the same
    by id (note or asset), for metadata and tests.
    """

    def __init__(
        self,
        problem: str,
        *,
        expected: dict[str, Any] | None = None,
        observed: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(problem)
        self.expected = dict(expected or {})
        self.observed = dict(observed or {})


class DotUnknownEnvironmentError(DotError, ValueError):
    """The configured `X-Dot-Environment` id is not among the environments Dot lists.

    What Dot does with an unknown id is undocumented (it may fall back to production), so
    the client checks the id up front rather than let every call hit the wrong model.
    `known` holds the ids Dot listed.
    """

    def __init__(self, problem: str, *, environment: str, known: tuple[str, ...]) -> None:
        super().__init__(problem)
        self.environment = environment
        self.known = known


class DotTransportError(DotError, HTTPCallError):
    """No usable response: connection refused, reset or dropped, TLS or protocol failure."""


class DotTimeoutError(DotTransportError):
    """The last attempt timed out (connect, read, write, or waiting for a pooled connection)."""


class DotAnswerTimeoutError(DotTimeoutError):
    """Dot posted no answer to the chat before the caller's deadline.

    The question may still be answered later: `chat_id` lets the caller look again.
    """

    def __init__(self, problem: str, *, chat_id: str, **call: Any) -> None:
        super().__init__(problem, **call)
        self.chat_id = chat_id


class DotOutcomeUnknownError(DotError, HTTPCallError):
    """A call Dot must not get twice failed after the request may have reached Dot.

    A read timeout, a connection dropped after sending, or a 5xx (from Dot or a gateway in
    front of it) says nothing about whether Dot acted: it may be syncing right now. The
    client never re-sends such a call, since a second request could do the work twice;
    sending again is a person's choice, made after looking at Dot (for a sync: re-materialize
    the asset). `status_code` is the 5xx, or None when no response came back.
    """


class DotAPIError(DotError, HTTPCallError):
    """Dot answered with an error status; `detail` is FastAPI's `detail` when present."""

    def __init__(self, problem: str, *, detail: Any = None, **call: Any) -> None:
        super().__init__(problem, **call)
        self.detail = detail


class DotAuthError(DotAPIError):
    """401: the token is unknown, revoked or expired."""


class DotPermissionError(DotAPIError):
    """403: the token's user has too low a role (user < modeler < admin) for this call."""


class DotNotFoundError(DotAPIError):
    """404: no such chat, note, asset, user or environment."""


class DotValidationError(DotAPIError):
    """400 or 422: Dot rejected the request; `detail` lists FastAPI's `{loc, msg, type}`."""


class DotRedirectError(DotAPIError):
    """3xx: Dot sent the client elsewhere instead of answering, which its API never does.

    Usually the base URL points at Dot's web app or the wrong region, or the token was not
    accepted and a login page answered. The redirect is never followed (the token would
    travel with it); `location` is where it pointed, without its query string.
    """

    def __init__(self, problem: str, *, location: str | None = None, **call: Any) -> None:
        super().__init__(problem, **call)
        self.location = location


class DotRateLimitError(DotAPIError):
    """429 after the retries; `retry_after` is the server's last `Retry-After` in seconds."""

    def __init__(self, problem: str, *, retry_after: float | None = None, **call: Any) -> None:
        super().__init__(problem, **call)
        self.retry_after = retry_after


class DotServerError(DotAPIError):
    """5xx after the retries (or at once, for calls that must not be repeated)."""


class DotResponseError(DotAPIError):
    """A success status whose body is not what Dot sends: truncated JSON, an HTML proxy
    page, or a shape the client cannot read."""
