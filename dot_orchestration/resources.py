"""Dagster resources: configuration only; the HTTP clients are built where they are used.

Following dagster-fivetran's split, `DotResource` holds nothing but settings. It is cheap
to construct and serialise into every step process or Kubernetes pod, and it never opens a
connection at import time: `get_client()` builds a fresh `DotClient` for the duration of
one piece of work and closes it afterwards.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager

from dagster import ConfigurableResource, EnvVar, InitResourceContext
from pydantic import ConfigDict, Field, field_validator, model_validator

from dot_orchestration.client import DotClient, HttpRetries, Timeouts

DOT_WEB_HOSTS = {"app": "https://app.getdot.ai", "eu": "https://eu.getdot.ai"}


class DotResource(ConfigurableResource):
    """Where Dot is and how to talk to it; shared by every Dot asset, sensor and check.

    Set `api_token` (and `user_id` for URL auth) with `EnvVar` so the secret never lands in
    the definitions, the run config shown in the UI, or the event log.
    """

    # A token given literally (os.environ[...] in code) must not reach a validation error,
    # whose input excerpt would show its first characters, nor a repr.
    model_config = ConfigDict(hide_input_in_errors=True)

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
    connect_timeout_s: float = Field(default=10.0, gt=0, description="TCP/TLS connect timeout.")
    read_timeout_s: float = Field(default=60.0, gt=0, description="Read timeout, most calls.")
    agentic_timeout_s: float = Field(
        default=900.0, gt=0, description="Read timeout for agentic calls, which take minutes."
    )
    export_read_timeout_s: float = Field(
        default=300.0,
        gt=0,
        description="Read timeout for the history export, which returns a whole window.",
    )
    max_attempts: int = Field(default=5, ge=1, description="Attempts per call, first included.")
    initial_backoff_s: float = Field(default=0.5, ge=0, description="First retry wait.")
    max_backoff_s: float = Field(default=30.0, ge=0, description="Longest single retry wait.")
    max_wait_s: float = Field(
        default=120.0,
        ge=0,
        description="Longest Retry-After honoured; a longer one fails the call at once.",
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
        if not self.initial_backoff_s <= self.max_backoff_s <= self.max_wait_s:
            raise ValueError(
                "DotResource: need initial_backoff_s <= max_backoff_s <= max_wait_s "
                f"(got {self.initial_backoff_s}, {self.max_backoff_s}, {self.max_wait_s})"
            )
        if self.auth_mode == "url" and not self.user_id:
            raise ValueError("DotResource: auth_mode='url' needs `user_id` (the token's email).")
        return self

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> DotResource:
        """A resource whose secrets are `EnvVar`s, shaped by which variables are set.

        `DOT_API_KEY` (required), `DOT_BASE_URL` or `DOT_REGION` (default `app`),
        `DOT_USER_ID`, `DOT_AUTH_MODE`, `DOT_ENVIRONMENT`. Secrets stay references: the
        value is read in the step that uses it and is never stored in the definitions.
        """
        location: dict[str, str] = (
            {"base_url": EnvVar("DOT_BASE_URL")}
            if env.get("DOT_BASE_URL")
            else {"region": env.get("DOT_REGION", "app")}
        )
        return cls(
            api_token=EnvVar("DOT_API_KEY"),
            user_id=EnvVar("DOT_USER_ID") if env.get("DOT_USER_ID") else None,
            auth_mode=env.get("DOT_AUTH_MODE", "header"),
            environment=env.get("DOT_ENVIRONMENT") or None,
            **location,
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
    def get_client(self) -> Iterator[DotClient]:
        """A client for one unit of work; its connection pool is closed on exit."""
        client = DotClient(
            api_token=self.api_token,
            region=self.region,
            base_url=self.base_url,
            user_id=self.user_id,
            auth_mode=self.auth_mode,
            environment=self.environment,
            timeouts=Timeouts(
                connect=self.connect_timeout_s,
                read=self.read_timeout_s,
                long_read=self.agentic_timeout_s,
                export_read=self.export_read_timeout_s,
            ),
            retry=HttpRetries(
                max_attempts=self.max_attempts,
                initial_backoff=self.initial_backoff_s,
                max_backoff=self.max_backoff_s,
                max_wait=self.max_wait_s,
            ),
        )
        with client:
            yield client
