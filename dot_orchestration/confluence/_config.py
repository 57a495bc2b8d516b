"""Where the Confluence site is and how the client authenticates, checked before sending."""

from __future__ import annotations

import base64
from typing import Any, Literal

import httpx
from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, model_validator

from dot_orchestration._http import HttpRetries, Timeouts, check_base_url, validation_problems
from dot_orchestration.confluence.errors import ConfluenceConfigError

Flavour = Literal["cloud", "datacenter"]

#: The most the v2 list endpoints accept per call (`limit` and ids per `id=`).
MAX_PAGE_SIZE = 250


class ConfluenceConfig(BaseModel):
    """The client's settings. Inputs are hidden from validation errors: two of them are
    secrets, and pydantic would otherwise print them back."""

    model_config = ConfigDict(frozen=True, extra="forbid", hide_input_in_errors=True)

    base_url: str
    email: str | None = None
    api_token: SecretStr | None = None
    personal_access_token: SecretStr | None = None
    flavour: Flavour | None = None
    timeouts: Timeouts = Timeouts()
    retry: HttpRetries = HttpRetries()
    page_size: int = Field(default=MAX_PAGE_SIZE, ge=1, le=MAX_PAGE_SIZE)

    @model_validator(mode="after")
    def _consistent(self) -> ConfluenceConfig:
        basic = self.email is not None or self.api_token is not None
        bearer = self.personal_access_token is not None
        if basic == bearer:
            raise ValueError(
                "set either email + api_token (Cloud, basic auth) "
                "or personal_access_token (Data Center, bearer), not both and not neither"
            )
        if basic and not (self.email and self.api_token and self.api_token.get_secret_value()):
            raise ValueError("Cloud basic auth needs both email and api_token")
        if self.resolved_flavour == "cloud" and bearer:
            raise ValueError(
                "Confluence Cloud takes email + api_token, not a personal access token"
            )
        if self.resolved_flavour == "datacenter" and basic:
            raise ValueError("Data Center takes personal_access_token, not email + api_token")
        for secret in (self.api_token, self.personal_access_token):
            value = secret.get_secret_value() if secret is not None else ""
            if value != value.strip():
                raise ValueError("a token has surrounding whitespace (a newline from a file?)")
        _site_url(self.base_url)  # fail now, not at the first request
        return self

    @property
    def resolved_flavour(self) -> Flavour:
        """The flavour given, else the one the credentials imply."""
        if self.flavour is not None:
            return self.flavour
        return "datacenter" if self.personal_access_token is not None else "cloud"

    @property
    def url(self) -> httpx.URL:
        """The site base: `https://example.atlassian.net/wiki`, or a DC context path."""
        return _site_url(self.base_url)

    def authorization(self) -> str:
        """The `Authorization` header value. It is a secret like the tokens it holds."""
        if self.personal_access_token is not None:
            return f"Bearer {self.personal_access_token.get_secret_value()}"
        assert self.api_token is not None  # the validator guarantees basic auth otherwise
        pair = f"{self.email}:{self.api_token.get_secret_value()}".encode()
        return f"Basic {base64.b64encode(pair).decode('ascii')}"

    def secrets(self) -> tuple[str, ...]:
        """Every value that must never appear in a message or a log line."""
        header = self.authorization()
        tokens = (self.api_token, self.personal_access_token)
        raw = tuple(token.get_secret_value() for token in tokens if token is not None)
        return (*raw, header, header.split(" ", 1)[1])


def _site_url(base_url: str) -> httpx.URL:
    url = check_base_url(base_url.rstrip("/"))
    if url.path.rstrip("/").endswith(("/rest/api", "/api/v2")):
        raise ValueError(
            f"base_url should be the site base, not an API path (got {url.path!r}): "
            "e.g. https://example.atlassian.net/wiki, or your Data Center URL"
        )
    return url


def load_config(**settings: Any) -> ConfluenceConfig:
    """Validate `settings`, or raise `ConfluenceConfigError` listing every problem (never
    an input value)."""
    try:
        return ConfluenceConfig(**settings)
    except ValidationError as error:
        problems = validation_problems(error)
        raise ConfluenceConfigError(f"invalid Confluence client settings: {problems}") from None
