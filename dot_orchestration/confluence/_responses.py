"""Turning a final exchange (or its absence) into data or the right `ConfluenceError`."""

from __future__ import annotations

import json
from typing import Any, TypeVar

import httpx
from pydantic import BaseModel, ValidationError

from dot_orchestration._http import (
    Exchange,
    parse_retry_after,
    redact,
    validation_problems,
)
from dot_orchestration.confluence.errors import (
    ConfluenceAPIError,
    ConfluenceAuthError,
    ConfluenceBadRequestError,
    ConfluenceNotFoundError,
    ConfluencePermissionError,
    ConfluenceRateLimitError,
    ConfluenceResponseError,
    ConfluenceServerError,
)

Model = TypeVar("Model", bound=BaseModel)

_BY_STATUS: dict[int, tuple[type[ConfluenceAPIError], str]] = {
    400: (ConfluenceBadRequestError, "Confluence rejected the request"),
    401: (ConfluenceAuthError, "Confluence rejected the credentials (wrong, revoked or expired)"),
    403: (ConfluencePermissionError, "the user may not see this content"),
    404: (ConfluenceNotFoundError, "not found (wrong id, deleted, or hidden from this user)"),
    410: (ConfluenceAPIError, "gone: this API is disabled for these credentials (use v2)"),
    429: (ConfluenceRateLimitError, "rate limited by Confluence"),
}


def check_status(operation: str, exchange: Exchange, secrets: tuple[str, ...]) -> None:
    """Raise the `ConfluenceAPIError` subclass matching a non-2xx final response."""
    response = exchange.response
    if response.is_success:
        return
    error_class, problem = _BY_STATUS.get(response.status_code, _by_range(response.status_code))
    extra: dict[str, Any] = {}
    if error_class is ConfluenceRateLimitError:
        extra["retry_after"] = parse_retry_after(response.headers.get("Retry-After"))
    detail = _detail(response, secrets)
    raise error_class(
        f"{problem}: {detail}" if detail else problem,
        detail=detail,
        body=response.text,
        **call_context(operation, exchange, secrets),
        **extra,
    )


def _by_range(status_code: int) -> tuple[type[ConfluenceAPIError], str]:
    if status_code >= 500:
        return ConfluenceServerError, "Confluence failed to handle the request"
    return ConfluenceAPIError, "unexpected status from Confluence"


def _detail(response: httpx.Response, secrets: tuple[str, ...]) -> str | None:
    """Confluence's own explanation: v1 `message`, or v2 `errors[0].detail`/`title`."""
    try:
        body = json.loads(redact(response.text, secrets))
    except ValueError:
        return None
    if not isinstance(body, dict):
        return None
    errors = body.get("errors")
    if isinstance(errors, list) and errors and isinstance(errors[0], dict):
        return str(errors[0].get("detail") or errors[0].get("title") or "") or None
    message = body.get("message")
    return str(message) if message else None


def read_model(
    model: type[Model], operation: str, exchange: Exchange, secrets: tuple[str, ...]
) -> Model:
    """The body of a successful response validated as `model`."""
    try:
        data = exchange.response.json()
    except ValueError:
        raise unreadable(operation, exchange, secrets, "expected JSON") from None
    try:
        return model.model_validate(data)
    except ValidationError as error:
        problem = f"unexpected response shape ({validation_problems(error)})"
        raise unreadable(operation, exchange, secrets, problem) from None


def unreadable(
    operation: str, exchange: Exchange, secrets: tuple[str, ...], problem: str
) -> ConfluenceResponseError:
    """The error for a success status whose body (or `next` link) the client cannot use."""
    return ConfluenceResponseError(
        problem, body=exchange.response.text, **call_context(operation, exchange, secrets)
    )


def call_context(operation: str, exchange: Exchange, secrets: tuple[str, ...]) -> dict[str, Any]:
    request = exchange.response.request
    return {
        "operation": operation,
        "method": request.method,
        "path": request.url.path,
        "attempts": exchange.attempts,
        "status_code": exchange.response.status_code,
        "secrets": secrets,
    }
