"""HTTP plumbing shared by the service clients (Dot, Confluence).

Everything here is generic: it knows HTTP, httpx and tenacity, never a service's paths or
error names. Each client builds its requests, hands them to `send`, and maps the final
`Exchange` (or `TransportFailure`) onto its own exception tree, which mixes in
`HTTPCallError` so every client names failures the same way without ever naming a secret.
"""

from __future__ import annotations

import email.utils
import functools
import ipaddress
import logging
import math
import re
import ssl
import time
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, TypeVar, cast
from urllib.parse import quote, quote_plus

import httpx
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator
from tenacity import (
    RetryCallState,
    Retrying,
    retry_if_exception,
    retry_if_result,
    stop_after_attempt,
    wait_exponential_jitter,
)
from tenacity.stop import stop_base
from tenacity.wait import wait_base

from dot_orchestration import __version__

__all__ = [
    "REDACTED",
    "RETRYABLE_STATUS_CODES",
    "USER_AGENT",
    "Exchange",
    "HTTPCallError",
    "HttpRetries",
    "RedactingFilter",
    "Timeouts",
    "TransportFailure",
    "check_base_url",
    "install_log_redaction",
    "is_retryable_error",
    "is_retryable_status",
    "may_have_reached_server",
    "parse_retry_after",
    "redact",
    "send",
    "ssl_context",
    "validation_problems",
]

logger = logging.getLogger(__name__)

USER_AGENT = f"dot-orchestration/{__version__}"

#: Statuses that say "not now" rather than "not ever": rate limited, or a gateway in front
#: of the service could not reach it. Every other 4xx is the caller's mistake and repeating
#: the request cannot fix it.
RETRYABLE_STATUS_CODES = frozenset({429, 502, 503, 504})

REDACTED = "***"

#: Query parameters whose values are credentials wherever they appear.
SECRET_QUERY_PARAMS = ("api_token", "token", "access_token", "api_key", "apikey", "password")

_SECRET_PARAM = re.compile(r"(?i)([?&;](?:" + "|".join(SECRET_QUERY_PARAMS) + r")=)[^&;#\s\"'<>]*")
_URL_PASSWORD = re.compile(r"(://[^/:@\s]+:)[^@/\s]+@")

#: Loggers that may print request URLs (httpx at INFO) or connection traces (httpcore at
#: DEBUG). A filter only sees records created on its own logger, not on its children, so
#: each of httpcore's loggers is named.
_HTTP_LOGGERS = (
    "httpx",
    "httpcore.connection",
    "httpcore.http11",
    "httpcore.http2",
    "httpcore.proxy",
    "httpcore.socks",
)

#: Errors raised before a single byte of the request left this process: re-sending a
#: create after one of these cannot duplicate it.
_NEVER_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)

#: Errors of a request that may or may not have reached the server.
_TRANSIENT = (httpx.TimeoutException, httpx.NetworkError, httpx.RemoteProtocolError)


class Timeouts(BaseModel):
    """Seconds allowed per phase of a request, as httpx splits them.

    `long_read` replaces `read` for calls the service answers only when a slow job is done
    (minutes, not seconds), so that ordinary calls still fail fast on a dead server.
    `export_read` replaces it for bulk exports (a window of Dot's history), whose answer is
    large and starts late, but which wait on no agent.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    connect: float = Field(default=10.0, gt=0)
    read: float = Field(default=60.0, gt=0)
    write: float = Field(default=60.0, gt=0)
    pool: float = Field(default=10.0, gt=0)
    long_read: float = Field(default=900.0, gt=0)
    export_read: float = Field(default=300.0, gt=0)

    def for_request(self, *, slow: bool = False, export: bool = False) -> httpx.Timeout:
        """The httpx timeout for one request; `slow` selects `long_read`, `export`
        `export_read`."""
        return httpx.Timeout(
            connect=self.connect,
            read=self.long_read if slow else self.export_read if export else self.read,
            write=self.write,
            pool=self.pool,
        )


class HttpRetries(BaseModel):
    """How often and how patiently a request is repeated after a transient failure.

    Waits grow exponentially from `initial_backoff` (plus up to `initial_backoff` of random
    jitter, so that many workers hit by the same outage do not retry in lock step) and never
    exceed `max_backoff`. A `Retry-After` from the server replaces the backoff; one longer
    than `max_wait` ends the retries at once, because blocking a worker for longer than
    that helps nobody: the caller gets the error with its `retry_after` and can reschedule.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    max_attempts: int = Field(default=5, ge=1, description="Attempts per call, first included.")
    initial_backoff: float = Field(default=0.5, ge=0, description="First wait, in seconds.")
    max_backoff: float = Field(default=30.0, ge=0, description="Longest computed wait.")
    max_wait: float = Field(default=120.0, ge=0, description="Longest Retry-After honoured.")

    @model_validator(mode="after")
    def _ordered(self) -> HttpRetries:
        if not self.initial_backoff <= self.max_backoff <= self.max_wait:
            raise ValueError("expected initial_backoff <= max_backoff <= max_wait")
        return self

    def retrying(self, *, idempotent: bool) -> Retrying:
        """A tenacity controller for one call.

        It retries transport errors and retryable statuses (only those that prove the
        request was never processed when the call is not `idempotent`), returns the last
        response or re-raises the last transport error once attempts run out, and logs each
        retry with the request's path only.
        """
        return Retrying(
            stop=stop_after_attempt(self.max_attempts) | _StopWhenWaitExceeds(self.max_wait),
            wait=_RetryAfterOrBackoff(
                wait_exponential_jitter(
                    multiplier=self.initial_backoff,
                    max=self.max_backoff,
                    jitter=self.initial_backoff,
                )
            ),
            retry=retry_if_exception(lambda error: is_retryable_error(error, idempotent))
            | retry_if_result(
                lambda response: is_retryable_status(response.status_code, idempotent)
            ),
            before_sleep=_log_retry,
            retry_error_callback=_last_outcome,
        )


def is_retryable_error(error: BaseException, idempotent: bool) -> bool:
    """Whether a failed attempt may be repeated.

    An idempotent request may be repeated after any timeout or dropped connection. Any
    other request only when it provably never left: a failed connect, or no free connection
    in the pool. A read timeout on a create may mean the server is still creating.
    """
    return isinstance(error, _TRANSIENT if idempotent else _NEVER_SENT)


def may_have_reached_server(error: BaseException) -> bool:
    """Whether a request that failed with `error` may have been received by the server:
    everything but a failed connect or a wait for a pooled connection."""
    return not isinstance(error, _NEVER_SENT)


def is_retryable_status(status_code: int, idempotent: bool) -> bool:
    """Whether a response status asks for another attempt.

    A 429 is a refusal to process, so even a create may be repeated; a 502/503/504 from a
    gateway does not tell whether the service behind it acted, so only idempotent calls are.
    """
    if not idempotent:
        return status_code == 429
    return status_code in RETRYABLE_STATUS_CODES


def parse_retry_after(value: str | None, *, now: datetime | None = None) -> float | None:
    """Seconds to wait according to a `Retry-After` header, or None if absent or garbled.

    RFC 9110 allows delay-seconds or an HTTP-date; fractional seconds are accepted too
    because they cost nothing and test servers use them. Dates in the past mean "now".
    """
    if not value or not value.strip():
        return None
    seconds: float | None
    try:
        seconds = float(value)
    except ValueError:
        seconds = _seconds_until(value, now or datetime.now(timezone.utc))
    if seconds is None or not math.isfinite(seconds):
        return None
    return max(0.0, seconds)


def _seconds_until(http_date: str, now: datetime) -> float | None:
    try:
        when = email.utils.parsedate_to_datetime(http_date)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:  # RFC 9110 dates are GMT; an unmarked one is taken as UTC
        when = when.replace(tzinfo=timezone.utc)
    return (when - now).total_seconds()


class _RetryAfterOrBackoff(wait_base):
    """The server's `Retry-After` when the last response carried one, else the backoff."""

    def __init__(self, backoff: wait_base) -> None:
        self.backoff = backoff

    def __call__(self, retry_state: RetryCallState) -> float:
        outcome = retry_state.outcome
        if outcome is not None and not outcome.failed:
            retry_after = parse_retry_after(outcome.result().headers.get("Retry-After"))
            if retry_after is not None:
                return retry_after
        return self.backoff(retry_state)


class _StopWhenWaitExceeds(stop_base):
    """Stop instead of sleeping longer than `limit` (tenacity decides the wait first)."""

    def __init__(self, limit: float) -> None:
        self.limit = limit

    def __call__(self, retry_state: RetryCallState) -> bool:
        return retry_state.upcoming_sleep > self.limit


def _last_outcome(retry_state: RetryCallState) -> httpx.Response:
    """Give up like the last attempt did: return its response or raise its error."""
    assert retry_state.outcome is not None  # tenacity only gives up after an attempt
    return cast(httpx.Response, retry_state.outcome.result())


def _log_retry(retry_state: RetryCallState) -> None:
    request: httpx.Request = retry_state.args[0]  # Retrying(client.send, request)
    outcome = retry_state.outcome
    assert outcome is not None
    error = outcome.exception()
    reason = type(error).__name__ if error else f"HTTP {outcome.result().status_code}"
    logger.warning(
        "%s %s: attempt %d failed (%s); retrying in %.2f s",
        request.method,
        request.url.path,
        retry_state.attempt_number,
        reason,
        retry_state.upcoming_sleep,
    )


@dataclass(frozen=True)
class Exchange:
    """The response a request finally got, with how many attempts and seconds it took."""

    response: httpx.Response
    attempts: int
    elapsed_s: float


class TransportFailure(Exception):
    """The last attempt ended without any response; `error` is httpx's exception."""

    def __init__(self, error: httpx.TransportError, attempts: int, elapsed_s: float) -> None:
        super().__init__(type(error).__name__)
        self.error = error
        self.attempts = attempts
        self.elapsed_s = elapsed_s


def send(
    client: httpx.Client, request: httpx.Request, *, policy: HttpRetries, idempotent: bool
) -> Exchange:
    """Send `request` on `client`, repeating it as `policy` allows.

    Returns the final response whatever its status (mapping statuses to errors is the
    service client's job); raises `TransportFailure` when the last attempt got none.
    """
    retrying = policy.retrying(idempotent=idempotent)
    started = time.monotonic()
    try:
        response = retrying(client.send, request)
    except httpx.TransportError as error:
        attempts = retrying.statistics["attempt_number"]
        raise TransportFailure(error, attempts, time.monotonic() - started) from error
    return Exchange(response, retrying.statistics["attempt_number"], time.monotonic() - started)


def redact(text: str, secrets: Iterable[str] = ()) -> str:
    """`text` with each secret (raw or URL-encoded), secret query values and URL passwords
    replaced by `***`: safe to put in a log line or an exception message."""
    for secret in secrets:
        if secret:
            for form in {secret, quote(secret, safe=""), quote_plus(secret)}:
                text = text.replace(form, REDACTED)
    text = _SECRET_PARAM.sub(rf"\g<1>{REDACTED}", text)
    return _URL_PASSWORD.sub(rf"\g<1>{REDACTED}@", text)


class RedactingFilter(logging.Filter):
    """Rewrites log records so that no known secret and no secret query value survives.

    httpx logs every request's full URL at INFO, which in URL-auth mode carries the token;
    this filter keeps such lines useful (method, path, status) while dropping the secret.
    """

    def __init__(self) -> None:
        super().__init__()
        self._secrets: set[str] = set()

    def add_secret(self, secret: str) -> None:
        """Also redact this exact value (and its URL-encoded forms) from now on."""
        self._secrets.add(secret)

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = redact(message, tuple(self._secrets))
        if cleaned != message:
            record.msg, record.args = cleaned, ()
        return True


_LOG_FILTER = RedactingFilter()


def install_log_redaction(*secrets: str) -> None:
    """Attach the shared `RedactingFilter` to httpx's and httpcore's loggers (idempotent)
    and teach it `secrets`. Service clients call this with their credentials on creation."""
    for secret in secrets:
        _LOG_FILTER.add_secret(secret)
    for name in _HTTP_LOGGERS:
        logging.getLogger(name).addFilter(_LOG_FILTER)


@functools.cache
def ssl_context() -> ssl.SSLContext:
    """One verifying SSL context per process, shared by every client.

    Building one loads the CA bundle (about 0.1 s) and clients are built per unit of work;
    sharing it keeps that cost off every call site. `SSL_CERT_FILE` / `SSL_CERT_DIR` are
    honoured as httpx does, read once.
    """
    return httpx.create_ssl_context()


def check_base_url(url: str) -> httpx.URL:
    """Parse a service base URL, refusing plain `http://` except to this machine.

    Credentials travel in headers or the query string of every request; over plain HTTP
    anyone on the path could read them. Loopback is allowed for local emulators.
    """
    parsed = httpx.URL(url)
    if parsed.scheme == "https" and parsed.host:
        return parsed
    if parsed.scheme == "http" and _is_loopback(parsed.host):
        return parsed
    if parsed.scheme == "http":
        raise ValueError(
            f"refusing plain http:// to {parsed.host!r}: credentials would travel unencrypted; "
            "use https:// (http:// is only allowed for localhost/127.0.0.1/::1)"
        )
    raise ValueError(f"base URL must start with https:// (got scheme {parsed.scheme!r})")


def _is_loopback(host: str) -> bool:
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def validation_problems(error: ValidationError) -> str:
    """A pydantic error as `where: what; ...` without input values: they may be secrets
    (a token in settings, a password in a body), and pydantic prints inputs by default."""
    return "; ".join(
        f"{'.'.join(map(str, problem['loc'])) or 'value'}: "
        f"{problem['msg'].removeprefix('Value error, ')}"
        for problem in error.errors(include_input=False, include_url=False)
    )


class HTTPCallError(Exception):
    """Base of the errors about one call after its retries; mix it into a client's tree.

    The message names the operation, HTTP method, path (never the query string, which may
    hold credentials), status, attempts and a redacted excerpt of the body.
    """

    #: Longest body excerpt kept in a message: enough for FastAPI's `detail`, not a page.
    BODY_EXCERPT = 500

    def __init__(
        self,
        problem: str,
        *,
        operation: str,
        method: str,
        path: str,
        attempts: int,
        status_code: int | None = None,
        body: str = "",
        secrets: Iterable[str] = (),
    ) -> None:
        self.operation = operation
        self.method = method
        self.path = path
        self.attempts = attempts
        self.status_code = status_code
        secrets = tuple(secrets)
        self.body = _excerpt(redact(body, secrets), self.BODY_EXCERPT)
        super().__init__(self._message(redact(problem, secrets)))

    def __reduce__(self) -> tuple[Any, ...]:
        """Pickle by state (errors cross process pools): the keyword-only constructor
        cannot be replayed from `args` the way `Exception` pickles by default."""
        return (_restore, (type(self), self.args), self.__dict__)

    def _message(self, problem: str) -> str:
        tries = f"{self.attempts} attempt{'s' if self.attempts != 1 else ''}"
        status = "" if self.status_code is None else f" -> HTTP {self.status_code}"
        message = f"{self.operation}: {self.method} {self.path}{status} after {tries}: {problem}"
        return f"{message} | body: {self.body}" if self.body else message


def _restore(cls: type[HTTPCallError], args: tuple[Any, ...]) -> HTTPCallError:
    error = cls.__new__(cls)
    error.args = args
    return error


def _excerpt(text: str, limit: int) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


CallError = TypeVar("CallError", bound=HTTPCallError)


def transport_error(
    failure: TransportFailure,
    *,
    operation: str,
    request: httpx.Request,
    secrets: tuple[str, ...],
    transport_class: type[CallError],
    timeout_class: type[CallError],
) -> CallError:
    """A client's error for a call whose last attempt got no response at all."""
    timed_out = isinstance(failure.error, httpx.TimeoutException)
    error_class = timeout_class if timed_out else transport_class
    return error_class(
        f"{type(failure.error).__name__}: {failure.error}",
        operation=operation,
        method=request.method,
        path=request.url.path,
        attempts=failure.attempts,
        secrets=secrets,
    )
