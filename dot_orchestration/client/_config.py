"""Where Dot is and how the client authenticates, validated before anything is sent."""

from __future__ import annotations

from typing import Any, Literal

import httpx
from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, model_validator

from dot_orchestration._http import HttpRetries, Timeouts, check_base_url, validation_problems
from dot_orchestration.client.errors import DotConfigError

Region = Literal["app", "eu"]
AuthMode = Literal["header", "url"]

#: Dot's hosted regions: `app` is the US deployment.
REGION_URLS: dict[str, str] = {"app": "https://app.getdot.ai", "eu": "https://eu.getdot.ai"}


class DotConfig(BaseModel):
    """The client's settings. Inputs are hidden from validation errors: one of them is the
    token, and pydantic would otherwise print it back."""

    model_config = ConfigDict(frozen=True, extra="forbid", hide_input_in_errors=True)

    api_token: SecretStr
    region: Region | None = None
    base_url: str | None = None
    user_id: str | None = None
    auth_mode: AuthMode = "header"
    environment: str | None = Field(default=None, min_length=1)
    timeouts: Timeouts = Timeouts()
    retry: HttpRetries = HttpRetries()

    @model_validator(mode="after")
    def _consistent(self) -> DotConfig:
        if (self.region is None) == (self.base_url is None):
            raise ValueError("set exactly one of region ('app' = US, or 'eu') or base_url")
        if self.auth_mode == "url" and not self.user_id:
            raise ValueError("auth_mode='url' needs user_id (the email of the token's user)")
        token = self.api_token.get_secret_value()
        if not token:
            raise ValueError("api_token is empty")
        if token != token.strip():
            raise ValueError("api_token has surrounding whitespace (a newline from a file?)")
        _resolve_url(self.region, self.base_url)  # fail now, not at the first request
        return self

    @property
    def url(self) -> httpx.URL:
        """The base URL requests are made against (paths start with /api)."""
        return _resolve_url(self.region, self.base_url)


def _resolve_url(region: Region | None, base_url: str | None) -> httpx.URL:
    if region is not None:
        return httpx.URL(REGION_URLS[region])
    url = check_base_url(str(base_url).rstrip("/"))
    if url.path.rstrip("/").endswith("/api"):
        raise ValueError(
            f"base_url should not end in /api (got path {url.path!r}): "
            "the client adds /api/... itself; pass the host, e.g. https://eu.getdot.ai"
        )
    return url


def load_config(**settings: Any) -> DotConfig:
    """Validate `settings` into a `DotConfig`, or raise `DotConfigError` listing every
    problem (never an input value)."""
    try:
        return DotConfig(**settings)
    except ValidationError as error:
        raise DotConfigError(f"invalid Dot client settings: {validation_problems(error)}") from None
