"""Dagster resources: configuration only; the HTTP clients are built where they are used.

Following dagster-fivetran's split, `DotResource` and `ConfluenceResource` hold nothing but
settings. They are cheap to construct and serialise into every step process or Kubernetes
pod, and never open a connection at import time: `get_client()` builds a fresh client for
the duration of one piece of work and closes it afterwards. What both say about HTTP
(timeouts, retries with backoff) is declared once, in `HttpSettings`.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import TypedDict, cast

from dagster import ConfigurableResource, EnvVar, InitResourceContext
from pydantic import ConfigDict, Field, field_validator, model_validator

from dot_orchestration.client import DotClient, DotUnknownEnvironmentError, HttpRetries, Timeouts
from dot_orchestration.client._config import AuthMode, Region
from dot_orchestration.client._environments import environment_names
from dot_orchestration.confluence import MAX_PAGE_SIZE, ConfluenceClient, Flavour

DOT_WEB_HOSTS = {"app": "https://app.getdot.ai", "eu": "https://eu.getdot.ai"}


class HttpSettings(ConfigurableResource):
    """How a resource's client talks HTTP: timeouts and retries, checked at load.

    The base of `DotResource` and `ConfluenceResource`, so both take the same field names,
    defaults and checks. A secret given literally (os.environ[...] in code) must not reach
    a validation error, whose input excerpt would show its first characters, nor a repr.
    """

    model_config = ConfigDict(hide_input_in_errors=True)

    connect_timeout_s: float = Field(default=10.0, gt=0, description="TCP/TLS connect timeout.")
    read_timeout_s: float = Field(default=60.0, gt=0, description="Read timeout, most calls.")
    max_attempts: int = Field(default=5, ge=1, description="Attempts per call, first included.")
    initial_backoff_s: float = Field(default=0.5, ge=0, description="First retry wait.")
    max_backoff_s: float = Field(default=30.0, ge=0, description="Longest single retry wait.")
    max_wait_s: float = Field(
        default=120.0,
        ge=0,
        description="Longest Retry-After honoured; a longer one fails the call at once.",
    )

    @model_validator(mode="after")
    def _ordered_waits(self) -> HttpSettings:
        """Fail at definition load, not mid-run (values may still be unresolved EnvVars)."""
        if not self.initial_backoff_s <= self.max_backoff_s <= self.max_wait_s:
            raise ValueError(
                f"{type(self).__name__}: need initial_backoff_s <= max_backoff_s <= "
                f"max_wait_s (got {self.initial_backoff_s}, {self.max_backoff_s}, "
                f"{self.max_wait_s})"
            )
        return self

    def http_retries(self) -> HttpRetries:
        """The retry settings the clients take."""
        return HttpRetries(
            max_attempts=self.max_attempts,
            initial_backoff=self.initial_backoff_s,
            max_backoff=self.max_backoff_s,
            max_wait=self.max_wait_s,
        )


class DotResource(HttpSettings):
    """Where Dot is and how to talk to it; shared by every Dot asset, sensor and check.

    Set `api_token` (and `user_id` for URL auth) with `EnvVar` so the secret never lands in
    the definitions, the run config shown in the UI, or the event log.
    """

    api_token: str = Field(
        repr=False, description="Dot API token (`dot-…`). Use EnvVar('DOT_API_KEY')."
    )
    region: str | None = Field(
        default=None,
        description="Dot region: `app` (US) or `eu`. Leave empty when `base_url` is set.",
    )
    base_url: str | None = Field(
        default=None,
        description="Explicit Dot base URL, e.g. the local emulator. Excludes `region`.",
    )
    user_id: str | None = Field(
        default=None, description="The token owner's email; required for `auth_mode='url'`."
    )
    auth_mode: str = Field(
        default="header",
        description="`header` (safe default) or `url` (query-string auth, only for sync, "
        "external-asset import and history export).",
    )
    environment: str | None = Field(
        default=None, description="Dot environment id sent as X-Dot-Environment; empty = prod."
    )
    environment_name: str | None = Field(
        default=None,
        min_length=1,
        description="Dot environment by name, its id looked up in Dot's list whenever a "
        "client is made: a per-branch environment has an id only once `dot/environment` "
        "created it. Excludes `environment`.",
    )
    agentic_timeout_s: float = Field(
        default=900.0, gt=0, description="Read timeout for agentic calls, which take minutes."
    )
    export_read_timeout_s: float = Field(
        default=300.0,
        gt=0,
        description="Read timeout for the history export, which returns a whole window.",
    )
    max_concurrency: int = Field(
        default=8, ge=1, le=64, description="Most Dot calls one step makes at the same time."
    )

    @field_validator("region")
    @classmethod
    def _known_region(cls, region: str | None) -> str | None:
        if region is not None and region not in DOT_WEB_HOSTS:
            raise ValueError(f"region must be 'app' (US) or 'eu', not {region!r}")
        return region

    @field_validator("auth_mode")
    @classmethod
    def _known_auth_mode(cls, mode: str) -> str:
        if mode not in ("header", "url"):
            raise ValueError(f"auth_mode must be 'header' or 'url', not {mode!r}")
        return mode

    @model_validator(mode="after")
    def _one_location(self) -> DotResource:
        """Fail at definition load, not mid-run, when the location is ambiguous."""
        if (self.region is None) == (self.base_url is None):
            raise ValueError(
                "DotResource: set exactly one of `region` ('app' or 'eu') or `base_url`."
            )
        if self.auth_mode == "url" and not self.user_id:
            raise ValueError("DotResource: auth_mode='url' needs `user_id` (the token's email).")
        if self.environment is not None and self.environment_name is not None:
            raise ValueError("DotResource: set `environment` (an id) or `environment_name`.")
        return self

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> DotResource:
        """A resource whose secrets are `EnvVar`s, shaped by which variables are set.

        `DOT_API_KEY` (required), `DOT_BASE_URL` or `DOT_REGION` (default `app`),
        `DOT_USER_ID`, `DOT_AUTH_MODE`, `DOT_ENVIRONMENT` (an id) or `DOT_ENVIRONMENT_NAME`
        (a name, looked up when a client is made). Secrets stay references: the value is
        read in the step that uses it and is never stored in the definitions.
        """
        explicit = bool(env.get("DOT_BASE_URL"))
        return cls(
            api_token=EnvVar("DOT_API_KEY"),
            base_url=EnvVar("DOT_BASE_URL") if explicit else None,
            region=None if explicit else env.get("DOT_REGION", "app"),
            user_id=EnvVar("DOT_USER_ID") if env.get("DOT_USER_ID") else None,
            auth_mode=env.get("DOT_AUTH_MODE", "header"),
            environment=env.get("DOT_ENVIRONMENT") or None,
            environment_name=env.get("DOT_ENVIRONMENT_NAME") or None,
        )

    def setup_for_execution(self, context: InitResourceContext) -> None:
        """Check the configured environment against Dot's list once, when the resource is
        set up for a run's steps (once per step process with a multiprocess executor).

        Dot does not document what it does with an unknown `X-Dot-Environment`; a typo
        must fail here, naming the ids Dot has, not write to the wrong model. Skipped
        without an environment, and when the token may not list environments.
        """
        if self.environment:
            with self.get_client() as client:
                client.check_environment()

    @contextmanager
    def get_client(self, *, org_wide: bool = False) -> Iterator[DotClient]:
        """A client for one unit of work; its connection pool is closed on exit.

        With `environment_name` (and no id, which a caller's `model_copy` may set and which
        then wins), the name is looked up first: a name Dot does not list fails here, so
        nothing meant for the environment reaches production instead. `org_wide` is for
        calls Dot serves for the whole org whatever the environment (the history export):
        no environment, so nothing to look up, and such a step works before its
        environment exists.
        """
        environment = None if org_wide else self.environment
        if not org_wide and environment is None and self.environment_name is not None:
            with self._client(None) as lister:
                environment = _environment_id(lister, self.environment_name)
        with self._client(environment) as client:
            yield client

    def _client(self, environment: str | None) -> DotClient:
        return DotClient(
            api_token=self.api_token,
            # checked by the validators above (and again by the client): the Literal types
            region=cast(Region | None, self.region),
            base_url=self.base_url,
            user_id=self.user_id,
            auth_mode=cast(AuthMode, self.auth_mode),
            environment=environment,
            timeouts=Timeouts(
                connect=self.connect_timeout_s,
                read=self.read_timeout_s,
                long_read=self.agentic_timeout_s,
                export_read=self.export_read_timeout_s,
            ),
            retry=self.http_retries(),
        )


def _environment_id(client: DotClient, name: str) -> str:
    """The id of the environment Dot lists as `name` (or with that id);
    `DotUnknownEnvironmentError` when it lists none or its list is unreadable."""
    names = environment_names(client.list_environments())
    if names is None:
        raise DotUnknownEnvironmentError(
            f"Dot's list of environments is unreadable, so environment {name!r} cannot be "
            "found in it; nothing was sent to it (nor to production in its place)",
            environment=name,
            known=(),
        )
    if name not in names:
        known = tuple(sorted(set(names.values())))
        raise DotUnknownEnvironmentError(
            f"Dot has no environment {name!r} (it lists {', '.join(known) or 'none'}); "
            "nothing was sent to it (nor to production in its place). A per-branch "
            "environment exists once its asset (`dot/environment`) is materialized.",
            environment=name,
            known=known,
        )
    return names[name]


class ConfluenceResource(HttpSettings):
    """Where Confluence is and who reads it; `get_client()` builds a client per use.

    Cloud: `base_url` (`https://example.atlassian.net/wiki`), `email` and `api_token`.
    Data Center: `base_url` and `personal_access_token`. Set the secrets with `EnvVar` (or
    `from_env`) so they never land in definitions, run config or the event log.
    """

    base_url: str = Field(description="Site base, e.g. https://example.atlassian.net/wiki.")
    email: str | None = Field(default=None, description="Cloud: the API token owner's email.")
    api_token: str | None = Field(
        default=None, repr=False, description="Cloud API token. Use EnvVar."
    )
    personal_access_token: str | None = Field(
        default=None, repr=False, description="Data Center personal access token. Use EnvVar."
    )
    flavour: str | None = Field(
        default=None,
        description="`cloud` (REST v2) or `datacenter` (REST v1); empty: implied by the "
        "credentials.",
    )
    page_size: int = Field(
        default=MAX_PAGE_SIZE,
        ge=1,
        le=MAX_PAGE_SIZE,
        description="Items per list call (and ids per bulk version lookup).",
    )
    max_concurrency: int = Field(
        default=4, ge=1, le=32, description="Page bodies one step reads at the same time."
    )

    @field_validator("flavour")
    @classmethod
    def _known_flavour(cls, flavour: str | None) -> str | None:
        if flavour is not None and flavour not in ("cloud", "datacenter"):
            raise ValueError(f"flavour must be 'cloud' or 'datacenter', not {flavour!r}")
        return flavour

    @model_validator(mode="after")
    def _one_credential(self) -> ConfluenceResource:
        """Fail at definition load, not mid-run, when the credentials do not fit together."""
        basic = self.email is not None or self.api_token is not None
        if basic == (self.personal_access_token is not None):
            raise ValueError(
                "ConfluenceResource: set email + api_token (Cloud) or personal_access_token "
                "(Data Center), not both and not neither"
            )
        if basic and (self.email is None or self.api_token is None):
            raise ValueError("ConfluenceResource: Cloud basic auth needs both email and api_token")
        return self

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> ConfluenceResource:
        """A resource reading `CONFLUENCE_BASE_URL` and either `CONFLUENCE_EMAIL` +
        `CONFLUENCE_API_TOKEN` (Cloud) or `CONFLUENCE_PERSONAL_ACCESS_TOKEN` (Data Center)
        as `EnvVar`s, resolved only in the step that uses them."""
        if env.get("CONFLUENCE_PERSONAL_ACCESS_TOKEN"):
            return cls(
                base_url=EnvVar("CONFLUENCE_BASE_URL"),
                personal_access_token=EnvVar("CONFLUENCE_PERSONAL_ACCESS_TOKEN"),
            )
        return cls(
            base_url=EnvVar("CONFLUENCE_BASE_URL"),
            email=EnvVar("CONFLUENCE_EMAIL"),
            api_token=EnvVar("CONFLUENCE_API_TOKEN"),
        )

    @contextmanager
    def get_client(self) -> Iterator[ConfluenceClient]:
        """A client for one unit of work; its connection pool is closed on exit."""
        with ConfluenceClient(self.base_url, **self.client_settings()) as client:
            yield client

    def client_settings(self) -> ConfluenceClientSettings:
        """Everything but the site, as `ConfluenceClient` takes it."""
        settings = ConfluenceClientSettings(
            timeouts=Timeouts(connect=self.connect_timeout_s, read=self.read_timeout_s),
            retry=self.http_retries(),
            page_size=self.page_size,
        )
        if self.email is not None:
            settings["email"] = self.email
        if self.api_token is not None:
            settings["api_token"] = self.api_token
        if self.personal_access_token is not None:
            settings["personal_access_token"] = self.personal_access_token
        if self.flavour is not None:
            settings["flavour"] = cast(Flavour, self.flavour)  # checked by `_known_flavour`
        return settings


class ConfluenceClientSettings(TypedDict, total=False):
    """`ConfluenceClient`'s keyword arguments but the site and the transport."""

    email: str
    api_token: str
    personal_access_token: str
    flavour: Flavour
    timeouts: Timeouts
    retry: HttpRetries
    page_size: int


__all__ = [
    "DOT_WEB_HOSTS",
    "ConfluenceClientSettings",
    "ConfluenceResource",
    "DotResource",
    "HttpSettings",
]
