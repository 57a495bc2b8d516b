"""Every Dot route the client calls, and how each may be called.

One table instead of flags scattered over methods: which calls may be repeated, which
accept URL auth, which wait for a slow agent. It mirrors the reference table of the API.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import quote


@dataclass(frozen=True)
class Endpoint:
    """One route. `operation` is the `DotClient` method, named in errors and logs."""

    operation: str
    method: str
    path: str
    #: False for creates: repeated only when the request provably never reached Dot.
    idempotent: bool = True
    #: Dot accepts `?user_id=&api_token=` on this route (sync, asset import, history).
    url_auth: bool = False
    #: Dot answers only when an agent has finished: use the long read timeout.
    slow: bool = False
    #: Sent at most once once it may have reached Dot (implies not `idempotent`): a later
    #: failure raises `DotOutcomeUnknownError` instead of a transport or server error.
    at_most_once: bool = False
    #: A bulk export of org-wide data (Dot's history is shared across environments): use
    #: the export read timeout and send no `X-Dot-Environment`.
    export: bool = False
    #: About the whole org, not one environment's model: send no `X-Dot-Environment`.
    org_wide: bool = False

    def path_with(self, **params: str) -> str:
        """The path with its `{placeholders}` filled, each value quoted as one segment."""
        return self.path.format(**{name: quote(value, safe="") for name, value in params.items()})


def _create(operation: str, path: str, *, slow: bool = False) -> Endpoint:
    return Endpoint(operation, "POST", path, idempotent=False, slow=slow)


# Connections, external assets, history (URL auth allowed on three of them).
# A sync makes Dot re-read a warehouse: a repeat costs Dot and the warehouse a second full
# metadata scan, and Dot documents no way to ask whether one is running. So it is never
# repeated after it may have arrived (read timeout, dropped connection, any 5xx); only a
# 429 or a failed connect, which prove Dot did not act, are retried.
SYNC_CONNECTION = Endpoint(
    "sync_connection",
    "POST",
    "/api/sync/{connection_type}/{connection_id}",
    idempotent=False,
    url_auth=True,
    at_most_once=True,
)
IMPORT_EXTERNAL_ASSET = Endpoint(
    "import_external_asset", "POST", "/api/import_and_overwrite_external_asset", url_auth=True
)
LIST_EXTERNAL_ASSETS = Endpoint("list_external_assets", "GET", "/api/external_assets")
DELETE_EXTERNAL_ASSET = Endpoint("delete_external_asset", "POST", "/api/delete_external_asset")
EXPORT_HISTORY = Endpoint(
    "export_history", "GET", "/api/export_history", url_auth=True, export=True
)

# Questions: Dot's 2024 API (ask, then poll c2) and current dialect (agentic, blocking).
ASK = _create("ask", "/api/ask", slow=True)
ASK_WITH_HISTORY = _create("ask_with_history", "/api/ask_with_history", slow=True)
AGENTIC = _create("agentic", "/api/agentic", slow=True)
AGENTIC_WITH_HISTORY = _create("agentic_with_history", "/api/agentic_with_history", slow=True)
GET_CHAT = Endpoint("get_chat", "GET", "/api/c2/{chat_id}")
ADD_LABEL_TO_CHAT = Endpoint("add_label_to_chat", "POST", "/api/add_label_to_chat")

# Org notes: one note per org (Dot's 2024 API), many atomic notes (current dialect).
GET_ORG = Endpoint("get_org", "GET", "/api/org")
SAVE_NOTE = Endpoint("save_note", "POST", "/api/save_note")
LIST_ORG_NOTES = Endpoint("list_org_notes", "GET", "/api/org_notes")
CREATE_ORG_NOTE = _create("create_org_note", "/api/org_notes")
UPDATE_ORG_NOTE = Endpoint("update_org_note", "PUT", "/api/org_notes/{note_id}")
# Undocumented: assumed to follow the REST shape of the other org_notes routes.
DELETE_ORG_NOTE = Endpoint("delete_org_note", "DELETE", "/api/org_notes/{note_id}")

# Environments (docs: Environments, "For coding agents: CLI & API"). The listing is
# org-wide: it checks and verifies ids, so it must answer even when the configured id is
# unknown or was just deleted. The others carry `X-Dot-Environment` like Dot's CLI does.
LIST_ENVIRONMENTS = Endpoint("list_environments", "GET", "/api/environments", org_wide=True)
CREATE_ENVIRONMENT = _create("create_environment", "/api/environments")
ENVIRONMENT_DIFF = Endpoint("environment_diff", "GET", "/api/environments/{environment_id}/diff")
ENVIRONMENT_CONFLICTS = Endpoint(
    "environment_conflicts", "GET", "/api/environments/{environment_id}/conflicts"
)
SET_ENVIRONMENT_TARGETS = Endpoint(
    "set_environment_targets", "PUT", "/api/environments/{environment_id}/targets"
)
# A metadata sync from the dev target, like a connection sync: never repeated once it may
# have reached Dot.
SYNC_ENVIRONMENT_TARGET = Endpoint(
    "sync_environment_target",
    "POST",
    "/api/environments/{environment_id}/sync_target",
    idempotent=False,
    at_most_once=True,
)
# Promotes to production: an unknown outcome is for a person to check, never a retry.
MERGE_ENVIRONMENT = Endpoint(
    "merge_environment",
    "POST",
    "/api/environments/{environment_id}/merge",
    idempotent=False,
    at_most_once=True,
)
DELETE_ENVIRONMENT = Endpoint("delete_environment", "DELETE", "/api/environments/{environment_id}")

# Users and auth.
ME = Endpoint("me", "GET", "/api/auth/me")
GET_USERS = Endpoint("get_users", "GET", "/api/get_users")
SEND_INVITATIONS = _create("send_invitations", "/api/send_invitations")
DELETE_USER = Endpoint("delete_user", "POST", "/api/delete_user")
CHANGE_USER_ROLE = Endpoint("change_user_role", "POST", "/api/change_user_role")
ADD_USER_TO_GROUP = Endpoint("add_user_to_group", "POST", "/api/add_user_to_group")
REMOVE_USER_FROM_GROUP = Endpoint("remove_user_from_group", "POST", "/api/remove_user_from_group")
CREATE_USER = _create("create_user", "/api/create_user")
EMBEDDED_USER_LOGIN = Endpoint("embedded_user_login", "POST", "/api/auth/embedded_user_login")

# dbt and data quality (current dialect).
PUSH_DBT_RUN_RESULTS = Endpoint("push_dbt_run_results", "POST", "/api/dbt/run_results")
REPORT_QUALITY_INCIDENTS = Endpoint("report_quality_incidents", "POST", "/api/quality/incidents")
GET_DBT_EXPOSURES = Endpoint("get_dbt_exposures", "GET", "/api/dbt/exposures")
