"""The Airflow provider: Dot's operations as Airflow hooks, operators and a trigger.

Installed with the `airflow` extra (`pip install "dot-orchestration[airflow]"`); Airflow
finds it through the `apache_airflow_provider` entry point, which calls `get_provider_info`.
This module imports nothing from Airflow, so listing providers stays cheap; the hooks, the
operators and the trigger (`.hooks`, `.operators`, `.triggers`) import Airflow and raise a
`MissingExtraError` naming the extra when it is absent.

Neither Dagster nor the Dagster layer is involved: the operators call the core
(`DotClient`, `syncing`, `transforms`, `warehouse`, `catalogue_runs`, `notify`,
`questions.ask`) and keep the guarantees the Dagster assets give (a sync is never re-sent
once it may have reached Dot, a day of history is replaced in one transaction or not at
all, ...).
"""

from contextlib import AbstractContextManager
from importlib.metadata import version
from typing import Any

from dot_orchestration._extras import DISTRIBUTION, extra_required


def airflow_required() -> AbstractContextManager[None]:
    """Wraps each import of Airflow in this layer: without the `airflow` extra it raises a
    `MissingExtraError` naming it, the same text from the hooks, operators and trigger."""
    return extra_required("airflow", feature="the Dot Airflow provider")


#: The connection type of `DotHook` (Airflow's `conn_type`).
CONNECTION_TYPE = "dot"
#: The connection type of `ConfluenceHook`, for the note sync.
CONFLUENCE_CONNECTION_TYPE = "confluence"

_TEXT = {"type": ["string", "null"]}
_NUMBER = {"type": ["number", "null"]}

#: The extras of a `dot` connection (`extra__dot__<name>` in the form, `<name>` in the JSON):
#: where it points inside Dot, how it authenticates, and the client's HTTP settings, named
#: as `DotResource` names them so a team moving between Dagster and Airflow reads one set.
DOT_CONN_FIELDS: dict[str, Any] = {
    "environment": {
        "label": "Environment id",
        "description": "Sent as X-Dot-Environment; empty: production.",
        "schema": _TEXT,
    },
    "environment_name": {
        "label": "Environment name",
        "description": "An environment by name, its id looked up in Dot's list on each use.",
        "schema": _TEXT,
    },
    "auth_mode": {
        "label": "Auth mode",
        "description": "header (default) or url (query-string auth; needs the user email).",
        "schema": {"type": ["string", "null"], "enum": ["header", "url", None]},
    },
    "connect_timeout_s": {"label": "Connect timeout (s)", "schema": _NUMBER},
    "read_timeout_s": {"label": "Read timeout (s)", "schema": _NUMBER},
    "agentic_timeout_s": {
        "label": "Question read timeout (s)",
        "description": "How long one question call may wait for Dot's agent.",
        "schema": _NUMBER,
    },
    "export_read_timeout_s": {"label": "History export read timeout (s)", "schema": _NUMBER},
    "max_attempts": {"label": "Attempts per call", "schema": {"type": ["integer", "null"]}},
    "initial_backoff_s": {"label": "First retry wait (s)", "schema": _NUMBER},
    "max_backoff_s": {"label": "Longest retry wait (s)", "schema": _NUMBER},
    "max_wait_s": {"label": "Longest Retry-After honoured (s)", "schema": _NUMBER},
}

_DOT_FORM: dict[str, Any] = {
    "hidden-fields": ["schema", "port"],
    "relabeling": {
        "host": "Region (app, eu) or base URL",
        "login": "User email (auth mode url only)",
        "password": "Dot API token",
    },
    "placeholders": {"host": "app", "login": "owner@example.com"},
}

_CONFLUENCE_FORM: dict[str, Any] = {
    "hidden-fields": ["schema", "port"],
    "relabeling": {
        "host": "Site base URL",
        "login": "Email (Cloud; empty for a Data Center token)",
        "password": "API token (Cloud) or personal access token (Data Center)",
    },
    "placeholders": {"host": "https://example.atlassian.net/wiki"},
}

CONFLUENCE_CONN_FIELDS: dict[str, Any] = {
    "flavour": {
        "label": "Flavour",
        "description": "cloud (REST v2) or datacenter (REST v1); empty: implied by the login.",
        "schema": {"type": ["string", "null"], "enum": ["cloud", "datacenter", None]},
    },
}


def get_provider_info() -> dict[str, Any]:
    """What Airflow lists for this provider (`airflow providers list`), its connection
    types with their forms, and its extra link; called by Airflow's provider discovery."""
    return {
        "package-name": DISTRIBUTION,
        "name": "Dot",
        "description": "Dot (getdot.ai): connection syncs, the conversation history export, "
        "the catalogue, Confluence notes, dbt results, quality incidents and questions.",
        "versions": [version(DISTRIBUTION)],
        "connection-types": [
            {
                "hook-class-name": "dot_orchestration.airflow.hooks.DotHook",
                "connection-type": CONNECTION_TYPE,
                "hook-name": "Dot",
                "ui-field-behaviour": _DOT_FORM,
                "conn-fields": DOT_CONN_FIELDS,
            },
            {
                "hook-class-name": "dot_orchestration.airflow.hooks.ConfluenceHook",
                "connection-type": CONFLUENCE_CONNECTION_TYPE,
                "hook-name": "Confluence (Dot notes)",
                "ui-field-behaviour": _CONFLUENCE_FORM,
                "conn-fields": CONFLUENCE_CONN_FIELDS,
            },
        ],
        "triggers": [
            {
                "integration-name": "Dot",
                "python-modules": ["dot_orchestration.airflow.triggers"],
            }
        ],
        "extra-links": ["dot_orchestration.airflow.operators.DotLink"],
    }


__all__ = [
    "CONFLUENCE_CONNECTION_TYPE",
    "CONFLUENCE_CONN_FIELDS",
    "CONNECTION_TYPE",
    "DOT_CONN_FIELDS",
    "get_provider_info",
]
