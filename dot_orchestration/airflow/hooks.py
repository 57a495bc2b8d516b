"""Airflow connections turned into the package's clients: `DotHook` (type `dot`) builds a
`DotClient`, `ConfluenceHook` (type `confluence`) a `ConfluenceClient`.

The secrets stay in the connection's password, which Airflow masks wherever it would print
it (task logs, rendered templates); the clients redact them from their own log records and
error messages, and neither hook shows them in a repr. Settings are checked by the clients
themselves, the same checks a `DotResource` gets, so a bad connection fails before a call.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from dot_orchestration._http import HttpRetries, Timeouts
from dot_orchestration.airflow import (
    CONFLUENCE_CONN_FIELDS,
    CONFLUENCE_CONNECTION_TYPE,
    CONNECTION_TYPE,
    DOT_CONN_FIELDS,
    airflow_required,
)
from dot_orchestration.client import DotClient, DotUnknownEnvironmentError
from dot_orchestration.client._config import REGION_URLS
from dot_orchestration.client._environments import environment_names
from dot_orchestration.confluence import ConfluenceClient

with airflow_required():
    from airflow.sdk import BaseHook, Connection

#: Extras naming the clients' HTTP settings → (which settings object, its field).
_HTTP_EXTRAS: dict[str, tuple[str, str]] = {
    "connect_timeout_s": ("timeouts", "connect"),
    "read_timeout_s": ("timeouts", "read"),
    "agentic_timeout_s": ("timeouts", "long_read"),
    "export_read_timeout_s": ("timeouts", "export_read"),
    "max_attempts": ("retry", "max_attempts"),
    "initial_backoff_s": ("retry", "initial_backoff"),
    "max_backoff_s": ("retry", "max_backoff"),
    "max_wait_s": ("retry", "max_wait"),
}


class DotHook(BaseHook):
    """A Dot deployment reached through an Airflow connection (`dot_default` unless named).

    Connection fields: the API token in **password**; the region (`app`, `eu`; empty: `app`)
    or a base URL (`https://…`, the emulator's `http://127.0.0.1:…`) in **host**; the token
    owner's email in **login** (only for `auth_mode` `url`); in **extra**, `environment` (an
    id) or `environment_name`, `auth_mode`, and the HTTP settings (`read_timeout_s`,
    `max_attempts`, …: `DOT_CONN_FIELDS`).
    """

    conn_name_attr = "dot_conn_id"
    default_conn_name = "dot_default"
    conn_type = CONNECTION_TYPE
    hook_name = "Dot"

    def __init__(self, dot_conn_id: str = default_conn_name, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.dot_conn_id = dot_conn_id

    def __repr__(self) -> str:
        return f"DotHook(dot_conn_id={self.dot_conn_id!r})"

    def web_url(self) -> str:
        """Dot's web app for this connection (the operators' extra link)."""
        location = _location(self.get_connection(self.dot_conn_id).host)
        return location.get("base_url") or REGION_URLS[location["region"]]

    @contextmanager
    def get_client(
        self, *, org_wide: bool = False, agentic_timeout_s: float | None = None
    ) -> Iterator[DotClient]:
        """A client for one task, closed on exit. With `environment_name`, the environment's
        id is looked up in Dot's list first, and an `environment` id is checked against it,
        so an environment Dot does not list fails here and nothing meant for it reaches
        production or the wrong model. `org_wide`: no environment at all (the
        history export, which Dot serves for the whole org). `agentic_timeout_s` caps the
        connection's wait for a question (a question's own budget)."""
        connection = self.get_connection(self.dot_conn_id)
        extra = _extras(self.dot_conn_id, connection, CONNECTION_TYPE, DOT_CONN_FIELDS)
        settings = _client_settings(connection, extra)
        if agentic_timeout_s is not None:
            timeouts: Timeouts = settings["timeouts"]
            long_read = min(timeouts.long_read, agentic_timeout_s)
            settings["timeouts"] = timeouts.model_copy(update={"long_read": long_read})
        environment = None if org_wide else extra.get("environment")
        name = None if org_wide else extra.get("environment_name")
        if environment is not None and name is not None:
            raise ValueError(
                f"Airflow connection {self.dot_conn_id!r}: set the extra `environment` (an "
                "id) or `environment_name`, not both"
            )
        if name is not None:
            with DotClient(**settings) as lister:
                environment = _environment_id(lister, name)
        with DotClient(**settings, environment=environment) as client:
            if name is None:
                client.check_environment()  # an id Dot does not list fails here (none: prod)
            yield client

    def test_connection(self) -> tuple[bool, str]:
        """The Test button of the connection form: Dot's list of environments answers."""
        try:
            with self.get_client() as client:
                client.list_environments()
        except Exception as error:
            return False, f"{type(error).__name__}: {error}"
        return True, "Dot answered"


class ConfluenceHook(BaseHook):
    """A Confluence site (`confluence_default` unless named) for the note sync.

    **host**: the site's base URL (`https://example.atlassian.net/wiki`); **login** +
    **password**: a Cloud user's email and API token; **password** alone: a Data Center
    personal access token; extra `flavour` (`cloud`, `datacenter`) when the login does not
    imply it.
    """

    conn_name_attr = "confluence_conn_id"
    default_conn_name = "confluence_default"
    conn_type = CONFLUENCE_CONNECTION_TYPE
    hook_name = "Confluence (Dot notes)"

    def __init__(self, confluence_conn_id: str = default_conn_name, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.confluence_conn_id = confluence_conn_id

    def __repr__(self) -> str:
        return f"ConfluenceHook(confluence_conn_id={self.confluence_conn_id!r})"

    @contextmanager
    def get_client(self) -> Iterator[ConfluenceClient]:
        """A client for one task, closed on exit."""
        conn_id = self.confluence_conn_id
        connection = self.get_connection(conn_id)
        extra = _extras(conn_id, connection, CONFLUENCE_CONNECTION_TYPE, CONFLUENCE_CONN_FIELDS)
        if not connection.host or not connection.password:
            raise ValueError(
                f"Airflow connection {conn_id!r}: set the site's base URL (host) and a token "
                "(password)"
            )
        cloud = bool(connection.login)
        with ConfluenceClient(
            connection.host,
            email=connection.login if cloud else None,
            api_token=connection.password if cloud else None,
            personal_access_token=None if cloud else connection.password,
            flavour=extra.get("flavour"),
        ) as client:
            yield client


def _location(host: str | None) -> dict[str, str]:
    """`region` for `app`/`eu` (and an empty host: Dot's US app), `base_url` otherwise."""
    if not host or host in REGION_URLS:
        return {"region": host or "app"}
    return {"base_url": host if "://" in host else f"https://{host}"}


def _extras(
    conn_id: str, connection: Connection, conn_type: str, fields: Mapping[str, Any]
) -> dict[str, Any]:
    """The connection's extras by name (the form's `extra__<type>__` prefix dropped), empty
    ones left out; an unknown one is an error, not ignored."""
    prefix = f"extra__{conn_type}__"
    extra = {
        key.removeprefix(prefix): value
        for key, value in connection.extra_dejson.items()
        if value is not None and value != ""
    }
    unknown = sorted(set(extra) - set(fields))
    if unknown:
        raise ValueError(
            f"Airflow connection {conn_id!r}: unknown extras {', '.join(unknown)} "
            f"(known: {', '.join(sorted(fields))})"
        )
    return extra


def _client_settings(connection: Connection, extra: Mapping[str, Any]) -> dict[str, Any]:
    """`DotClient`'s keyword arguments but the environment."""
    http: dict[str, dict[str, Any]] = {"timeouts": {}, "retry": {}}
    for name, (group, field) in _HTTP_EXTRAS.items():
        if name in extra:
            http[group][field] = extra[name]
    return {
        "api_token": connection.password or "",
        "user_id": connection.login or None,
        "auth_mode": extra.get("auth_mode", "header"),
        "timeouts": Timeouts(**http["timeouts"]),
        "retry": HttpRetries(**http["retry"]),
        **_location(connection.host),
    }


def _environment_id(client: DotClient, name: str) -> str:
    """The id of the environment Dot lists as `name` (or with that id);
    `DotUnknownEnvironmentError` when it lists none or its list is unreadable."""
    names = environment_names(client.list_environments())
    if names is None or name not in names:
        known = tuple(sorted(set((names or {}).values())))
        raise DotUnknownEnvironmentError(
            f"Dot has no environment {name!r} (it lists {', '.join(known) or 'none readable'}); "
            "nothing was sent to it, nor to production in its place",
            environment=name,
            known=known,
        )
    return names[name]


__all__ = ["ConfluenceHook", "DotHook"]
