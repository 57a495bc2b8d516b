"""Turning a call's final exchange (or its absence) into a result or the right `DotError`."""

from __future__ import annotations

import json
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any, TypeVar

import httpx
from pydantic import TypeAdapter, ValidationError

from dot_orchestration._http import (
    Exchange,
    TransportFailure,
    may_have_reached_server,
    parse_retry_after,
    redact,
    validation_problems,
)
from dot_orchestration.client._endpoints import Endpoint
from dot_orchestration.client.errors import (
    DotAPIError,
    DotAuthError,
    DotNotFoundError,
    DotOutcomeUnknownError,
    DotPermissionError,
    DotRateLimitError,
    DotRedirectError,
    DotResponseError,
    DotServerError,
    DotValidationError,
)

Shape = TypeVar("Shape")

_BY_STATUS: dict[int, tuple[type[DotAPIError], str]] = {
    400: (DotValidationError, "Dot rejected the request as invalid"),
    401: (DotAuthError, "Dot rejected the API token (unknown, revoked or expired)"),
    403: (DotPermissionError, "the token's user lacks the role this call needs"),
    404: (DotNotFoundError, "not found (wrong id, or an unknown X-Dot-Environment)"),
    422: (DotValidationError, "Dot rejected the request as invalid"),
    429: (DotRateLimitError, "rate limited by Dot"),
}


@dataclass(frozen=True)
class Reply:
    """The final exchange of one call, with what it takes to report on it safely."""

    endpoint: Endpoint
    exchange: Exchange
    secrets: tuple[str, ...]

    def raise_for_status(self) -> Reply:
        """Raise the `DotAPIError` subclass matching a non-2xx status; else return self."""
        response = self.exchange.response
        if response.is_success:
            return self
        if response.is_redirect or 300 <= response.status_code < 400:
            raise self._redirected()
        if self.endpoint.at_most_once and response.status_code >= 500:
            what = f"HTTP {response.status_code} from Dot or a gateway in front of it"
            raise DotOutcomeUnknownError(outcome_unknown(what), **self._context())
        error_class, problem = _BY_STATUS.get(response.status_code, _by_range(response.status_code))
        extra: dict[str, Any] = {"detail": self._detail()}
        if error_class is DotRateLimitError:
            extra["retry_after"] = parse_retry_after(response.headers.get("Retry-After"))
            if extra["retry_after"] is not None:
                problem = f"{problem}; Dot asks to retry after {extra['retry_after']:g} s"
        raise error_class(problem, **self._context(), **extra)

    def json(self) -> Any:
        """The parsed body; None when it is empty."""
        response = self.exchange.response
        if not response.content.strip():
            return None
        try:
            return response.json()
        except ValueError as error:
            kind = "an HTML page (a proxy or login page?)" if _is_html(response) else "invalid JSON"
            raise self._unreadable(f"expected JSON, got {kind}") from error

    def model(self, shape: type[Shape], data: Any) -> Shape:
        """`data` (the parsed body) as `shape` (a model, or e.g. a list of models); a
        mismatch means Dot answered something the client does not understand."""
        try:
            return TypeAdapter(shape).validate_python(data)
        except ValidationError as error:
            problem = f"unexpected response shape ({validation_problems(error)})"
            raise self._unreadable(problem) from None

    def _redirected(self) -> DotRedirectError:
        """A 3xx, with where it pointed (host and path only) and what usually causes it."""
        target = self.exchange.response.headers.get("Location")
        location = None
        if target:
            url = self.exchange.response.request.url.join(target)
            location = redact(str(url.copy_with(query=None, fragment=None)), self.secrets)
        problem = (
            f"Dot redirected the call{f' to {location}' if location else ''} instead of "
            "answering; its API never redirects. Likely causes: the base URL points at Dot's "
            "web app or the wrong region (use region 'app' or 'eu', or the API host itself), "
            "or the token was refused and a login page answered (check DOT_API_KEY). The "
            "redirect was not followed, so the token did not travel with it."
        )
        return DotRedirectError(problem, location=location, **self._context())

    def _unreadable(self, problem: str) -> DotResponseError:
        return DotResponseError(problem, **self._context())

    def _detail(self) -> Any:
        """FastAPI's `detail` (a message, or a list of `{loc, msg, type}`), redacted."""
        try:
            body = json.loads(redact(self.exchange.response.text, self.secrets))
        except ValueError:
            return None
        return body.get("detail") if isinstance(body, dict) else None

    def _context(self) -> dict[str, Any]:
        response = self.exchange.response
        return {
            "operation": self.endpoint.operation,
            "method": response.request.method,
            "path": response.request.url.path,
            "attempts": self.exchange.attempts,
            "status_code": response.status_code,
            "body": response.text,
            "secrets": self.secrets,
        }


def outcome_unknown(what: str) -> str:
    """The message of a `DotOutcomeUnknownError`: what happened, and that a person decides."""
    return (
        f"outcome unknown ({what}): the request may have reached Dot, so it was not "
        "re-sent; Dot may be doing it now. Check Dot before sending it again (for a sync: "
        "re-materialize the asset)"
    )


def no_response_error(
    endpoint: Endpoint, request: httpx.Request, failure: TransportFailure, secrets: tuple[str, ...]
) -> DotOutcomeUnknownError | None:
    """The error of an at-most-once call whose last attempt got no response after it may
    have reached Dot; None when the failure proves it never left (or the endpoint may be
    repeated), so the caller raises the usual transport error."""
    if not (endpoint.at_most_once and may_have_reached_server(failure.error)):
        return None
    return DotOutcomeUnknownError(
        outcome_unknown(f"{type(failure.error).__name__}: {failure.error}"),
        operation=endpoint.operation,
        method=request.method,
        path=request.url.path,
        attempts=failure.attempts,
        secrets=secrets,
    )


def _by_range(status_code: int) -> tuple[type[DotAPIError], str]:
    if status_code >= 500:
        return DotServerError, "Dot failed to handle the request"
    try:
        phrase = HTTPStatus(status_code).phrase
    except ValueError:
        phrase = "unknown status"
    return DotAPIError, f"Dot refused the request ({phrase})"


def _is_html(response: httpx.Response) -> bool:
    content_type = response.headers.get("Content-Type", "")
    return "html" in content_type or response.text.lstrip()[:1] == "<"
