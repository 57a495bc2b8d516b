"""Refusals the emulator's domain code raises, mapped to FastAPI-style responses by the app.

The stores (users, model spaces, chats) stay free of FastAPI: they raise these, and one
exception handler in `app.py` turns them into `{"detail": "..."}` with the right status,
exactly like `HTTPException` would in Dot's own FastAPI app.
"""


class EmulatorError(Exception):
    """A request Dot would refuse; carries the HTTP status and the `detail` text."""

    status_code = 400

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


class BadRequest(EmulatorError):
    """400: the request is well-formed but cannot be applied."""


class Unauthorized(EmulatorError):
    """401: no credential, an unknown or expired token, or URL auth where it is not allowed."""

    status_code = 401


class Forbidden(EmulatorError):
    """403: the token is valid but its user's role is too low for the endpoint."""

    status_code = 403


class NotFound(EmulatorError):
    """404: unknown chat, note, user, asset, connection or environment."""

    status_code = 404


class Conflict(EmulatorError):
    """409: creating something that already exists (a user with the same email)."""

    status_code = 409
