"""Authentication, authorisation and environment scoping, as FastAPI dependencies.

Dot reads a token from, in this order: the `X-API-KEY` header (current docs), the `API-KEY`
header (the older docs), `Authorization: Bearer` (embedded-user tokens), and, only on the
three endpoints whose docs allow it (sync, import external asset, export history), the
`user_id` + `api_token` query parameters, where `user_id` must be the token's user.

Every endpoint declares the role it needs with `Depends(requires(Role.x))` (or one of the
`*Caller` aliases below), which resolves to a `Caller`: the user, how they authenticated
and the model space of the `X-Dot-Environment` they addressed. Checks run in that order:
401 (no, unknown or expired token; URL auth where it is not allowed), 403 (role too low),
404 (unknown environment), so nothing is revealed to callers without a valid token.

The 404 for an unknown `X-Dot-Environment` is a guess of the default profile: Dot's docs
say the header scopes a call to an environment, not what an unknown id does. The strict
profile ignores an unknown id and serves production; the package checks the configured id
against `GET /api/environments` instead of relying on either.
"""

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import Enum
from typing import Annotated, cast

from fastapi import Depends, Header, Query, Request, Security
from fastapi.security import APIKeyHeader, HTTPBearer

from dot_orchestration.emulator.clock import utcnow
from dot_orchestration.emulator.directory import User
from dot_orchestration.emulator.errors import Forbidden, Unauthorized
from dot_orchestration.emulator.models import Role
from dot_orchestration.emulator.space import ModelSpace
from dot_orchestration.emulator.state import EmulatorState

ENVIRONMENT_HEADER = "X-Dot-Environment"
URL_AUTH_ENDPOINTS = (
    "POST /api/sync/{connection_type}/{connection_id}, "
    "POST /api/import_and_overwrite_external_asset and GET /api/export_history"
)


class AuthMethod(str, Enum):
    """How a request presented its token (the journal's `auth` field)."""

    x_api_key = "x-api-key"
    api_key = "api-key"
    bearer = "bearer"
    url = "url"


@dataclass(frozen=True)
class PresentedCredential:
    """The token a request carries, where it was found and, for URL auth, the `user_id`."""

    method: AuthMethod
    token: str
    user_id: str | None = None


def presented_credential(
    headers: Mapping[str, str], query: Mapping[str, str]
) -> PresentedCredential | None:
    """The credential Dot would read from a request (headers first, the URL last).

    Shared by the auth dependency and the journal, so the journal records exactly the
    credential that was judged.
    """
    for header, method in (("x-api-key", AuthMethod.x_api_key), ("api-key", AuthMethod.api_key)):
        if headers.get(header):
            return PresentedCredential(method, headers[header])
    scheme, _, token = headers.get("authorization", "").partition(" ")
    if scheme.lower() == "bearer" and token.strip():
        return PresentedCredential(AuthMethod.bearer, token.strip())
    if query.get("api_token"):
        return PresentedCredential(AuthMethod.url, query["api_token"], query.get("user_id"))
    return None


@dataclass(frozen=True)
class Caller:
    """Who is calling, how they authenticated, and which environment's model they address."""

    user: User
    method: AuthMethod
    environment: str | None
    space: ModelSpace


def emulator_state(request: Request) -> EmulatorState:
    """The state of the app serving this request."""
    return cast(EmulatorState, request.app.state.emulator)


StateDep = Annotated[EmulatorState, Depends(emulator_state)]

# Declared on every API route so `/docs` offers them; `presented_credential` reads them.
AUTH_SCHEMES = [
    Security(APIKeyHeader(name="X-API-KEY", scheme_name="X-API-KEY", auto_error=False)),
    Security(APIKeyHeader(name="API-KEY", scheme_name="API-KEY", auto_error=False)),
    Security(HTTPBearer(scheme_name="Bearer", auto_error=False)),
]


def url_auth_parameters(
    user_id: Annotated[str | None, Query(description="URL auth: the token's user (email)")] = None,
    api_token: Annotated[str | None, Query(description="URL auth: the API token")] = None,
) -> None:
    """Declares the URL-auth query parameters of the three endpoints that accept them.

    Optional here although Dot's 2024 spec marks them required: Dot's docs call the same
    endpoints with header auth. `presented_credential` reads their values.
    """


def requires(role: Role, *, url_auth: bool = False) -> Callable[..., Caller]:
    """A dependency admitting callers whose role includes `role`.

    `url_auth=True` also accepts the token in the URL and documents those parameters.
    """

    def caller(
        request: Request,
        state: StateDep,
        environment: Annotated[
            str | None,
            Header(alias=ENVIRONMENT_HEADER, description="Dot environment id; absent = production"),
        ] = None,
    ) -> Caller:
        credential = presented_credential(request.headers, request.query_params)
        if credential is None:
            raise Unauthorized("Not authenticated")
        user = _authenticate(state, credential, url_auth=url_auth)
        if not user.role.includes(role):
            raise Forbidden(
                f"This endpoint requires the {role.value} role; {user.email} is a {user.role.value}"
            )
        if state.config.strict and environment not in state.spaces:
            environment = None  # undocumented: the strict profile assumes Dot ignores it
        return Caller(user, credential.method, environment, state.space(environment))

    if not url_auth:
        return caller

    def caller_with_url_auth(
        resolved: Annotated[Caller, Depends(caller)],
        _parameters: Annotated[None, Depends(url_auth_parameters)],
    ) -> Caller:
        return resolved

    return caller_with_url_auth


def _authenticate(state: EmulatorState, credential: PresentedCredential, *, url_auth: bool) -> User:
    """The token's user, or a 401 saying why not."""
    if credential.method is AuthMethod.url and not url_auth:
        raise Unauthorized(
            f"URL authentication (user_id + api_token) is only accepted on {URL_AUTH_ENDPOINTS}; "
            "send the token in the X-API-KEY header"
        )
    record = state.directory.token(credential.token)
    user = state.directory.token_user(credential.token)
    if record is None or user is None:
        raise Unauthorized("Invalid API token")
    if record.is_expired(utcnow()):
        raise Unauthorized("API token expired")
    if credential.method is AuthMethod.url:
        _check_url_user(credential, user)
    return user


def _check_url_user(credential: PresentedCredential, user: User) -> None:
    """URL auth names the user as well; it must be the token's user."""
    if not credential.user_id:
        raise Unauthorized("URL authentication needs user_id next to api_token")
    if credential.user_id.lower() != user.email.lower():
        raise Unauthorized("user_id does not match the API token")


UserCaller = Annotated[Caller, Depends(requires(Role.user))]
ModelerCaller = Annotated[Caller, Depends(requires(Role.modeler))]
AdminCaller = Annotated[Caller, Depends(requires(Role.admin))]
ModelerUrlCaller = Annotated[Caller, Depends(requires(Role.modeler, url_auth=True))]
AdminUrlCaller = Annotated[Caller, Depends(requires(Role.admin, url_auth=True))]
