"""`DotClient`: every Dot API call, in both dialects, over one pooled httpx connection."""

from __future__ import annotations

import logging
import sys
import time
import uuid
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import date
from types import TracebackType
from typing import Any, Literal, TypeVar, overload

import httpx
from pydantic import BaseModel, SecretStr, ValidationError

from dot_orchestration._http import (
    USER_AGENT,
    HttpRetries,
    Timeouts,
    TransportFailure,
    install_log_redaction,
    send,
    ssl_context,
    transport_error,
    validation_problems,
)
from dot_orchestration.client import _endpoints as api
from dot_orchestration.client._answers import answer_text, answer_to_last_question, message_text
from dot_orchestration.client._config import AuthMode, Region, load_config
from dot_orchestration.client._endpoints import Endpoint
from dot_orchestration.client._environments import environment_names
from dot_orchestration.client._models import (
    AGENTIC_MODES,
    AgenticMode,
    Answer,
    AskAccepted,
    Chat,
    ExternalAsset,
    Org,
    OrgNote,
    QualityIncident,
    SyncAccepted,
    connection_type_problem,
)
from dot_orchestration.client._responses import Reply, no_response_error
from dot_orchestration.client.errors import (
    DotAnswerTimeoutError,
    DotConfigError,
    DotEffectNotObservedError,
    DotError,
    DotPermissionError,
    DotResponseError,
    DotTimeoutError,
    DotTransportError,
    DotUnknownEnvironmentError,
)

Model = TypeVar("Model", bound=BaseModel)
logger = logging.getLogger(__name__)


class DotClient:
    """A connection to one Dot deployment, acting as the user who owns the token.

    One `httpx.Client` per object, reused across calls (connection pooling) and safe to
    share between threads; close it with `close()` or a `with` block. Transient failures
    are retried per `retry`; creates (questions, users, invitations, notes, environments),
    syncs and merges only when the request provably never reached Dot, so that a retry
    cannot duplicate them (a sync or merge that may have reached Dot raises
    `DotOutcomeUnknownError`).
    """

    def __init__(
        self,
        *,
        api_token: str | SecretStr,
        region: Region | None = None,
        base_url: str | None = None,
        user_id: str | None = None,
        auth_mode: AuthMode = "header",
        environment: str | None = None,
        timeouts: Timeouts | None = None,
        retry: HttpRetries | None = None,
    ) -> None:
        self._config = load_config(
            api_token=api_token,
            region=region,
            base_url=base_url,
            user_id=user_id,
            auth_mode=auth_mode,
            environment=environment,
            timeouts=timeouts or Timeouts(),
            retry=retry or HttpRetries(),
        )
        self._secrets = (self._config.api_token.get_secret_value(),)
        install_log_redaction(*self._secrets)
        # Redirects are not followed: httpx strips only `Authorization` when a redirect
        # leaves the host, and Dot's token travels in X-API-KEY / API-KEY / the query.
        self._http = httpx.Client(
            base_url=self._config.url,
            headers=self._default_headers(),
            timeout=self._config.timeouts.for_request(),
            follow_redirects=False,
            verify=ssl_context(),
        )

    def __repr__(self) -> str:
        config = self._config
        return (
            f"DotClient(base_url={str(config.url)!r}, auth_mode={config.auth_mode!r}, "
            f"user_id={config.user_id!r}, environment={config.environment!r})"
        )

    def close(self) -> None:
        """Close the pooled connections. The client cannot be used afterwards."""
        self._http.close()

    def __enter__(self) -> DotClient:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc_value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    # Connections, external assets, history ------------------------------------------

    def sync_connection(self, connection_type: str, connection_id: str) -> SyncAccepted:
        """Ask Dot to re-read a connection's schema. Dot does not report completion: a 2xx
        means the sync was accepted.

        Sent at most once when it may have reached Dot: a read timeout, a dropped
        connection or a 5xx raises `DotOutcomeUnknownError` (Dot may be syncing); only a
        429 or a failed connect is retried. Any connection type is sent (Dot's spec takes
        any string); `CONNECTION_TYPES` lists the ones this package knows.
        """
        problem = connection_type_problem(connection_type)
        if problem is not None or not connection_id:
            raise DotConfigError(f"sync_connection: {problem or 'connection_id is empty'}")
        params = {"connection_type": connection_type, "connection_id": connection_id}
        reply = self._call(api.SYNC_CONNECTION, path=params)
        return SyncAccepted(
            **params,
            response=reply.json(),
            attempts=reply.exchange.attempts,
            duration_s=reply.exchange.elapsed_s,
        )

    def import_external_asset(self, asset: ExternalAsset | Mapping[str, Any]) -> Any:
        """Create or overwrite (by `id`) a dashboard or data app Dot should know about.

        Dot documents no reply body: any 2xx is accepted (see `_any_body`); list the
        assets to see what Dot holds."""
        body = {"external_asset": _payload(ExternalAsset, asset)}
        return _any_body(self._call(api.IMPORT_EXTERNAL_ASSET, body=body))

    def list_external_assets(self) -> Any:
        """Every external asset Dot knows (raw JSON: the shape is undocumented)."""
        return self._json(api.LIST_EXTERNAL_ASSETS)

    def delete_external_asset(self, asset_id: str) -> Any:
        """Remove an external asset by id; any 2xx reply is accepted (undocumented)."""
        return _any_body(self._call(api.DELETE_EXTERNAL_ASSET, params={"asset_id": asset_id}))

    def export_history(
        self,
        start_date: date | None = None,
        end_date: date | None = None,
        *,
        include_all_workspaces: bool = False,
    ) -> Any:
        """Conversations with their metadata between two days (raw JSON: undocumented).

        Left out, Dot defaults to two weeks ago and tomorrow. Dot's chat history is shared
        across environments (each conversation tagged with its environment), so this call
        never sends `X-Dot-Environment`: one export covers the whole org. It reads with the
        export timeout (`Timeouts.export_read`). `include_all_workspaces` is in none of
        Dot's documents (an older guess of this package); it is sent only when True and a
        Dot that does not know it ignores it.
        """
        if start_date is not None and end_date is not None and start_date > end_date:
            raise DotConfigError(
                f"export_history: start_date {start_date} is after end_date {end_date}"
            )
        params: dict[str, str | bool] = {}
        if start_date is not None:
            params["start_date"] = start_date.strftime("%Y-%m-%d")
        if end_date is not None:
            params["end_date"] = end_date.strftime("%Y-%m-%d")
        if include_all_workspaces:  # only sent when asked: older deployments never knew it
            params["include_all_workspaces"] = True
        return self._json(api.EXPORT_HISTORY, params=params)

    # Questions ------------------------------------------------------------------------

    def ask(self, question: str, *, chat_id: str | None = None) -> AskAccepted:
        """Start a conversation (Dot's 2024 API); read the answer with `wait_for_answer`."""
        chat_id = chat_id or _new_chat_id()
        body = {"messages": [_user_message(question)], "chat_id": chat_id}
        with _carrying_chat_id(chat_id):
            return AskAccepted(chat_id=chat_id, response=self._json(api.ASK, body=body))

    def ask_with_history(self, question: str, chat_id: str) -> AskAccepted:
        """Follow up in an existing conversation (Dot's 2024 API)."""
        body = {"new_message": _user_message(question), "chat_id": chat_id}
        with _carrying_chat_id(chat_id):
            response = self._json(api.ASK_WITH_HISTORY, body=body)
        return AskAccepted(chat_id=chat_id, response=response)

    def agentic(
        self, question: str, *, chat_id: str | None = None, mode: AgenticMode | None = None
    ) -> Chat:
        """Ask Dot's agent (current dialect); returns the conversation once it has finished,
        which may take minutes (the long read timeout applies).

        The chat id is made here unless given, so that every error raised carries it
        (`error.chat_id`): a question that outlasted the request can still be read with
        `get_chat` (Dot's docs: fetch it later with the same chat id)."""
        chat_id = chat_id or _new_chat_id()
        body = {"messages": [_user_message(question)], "chat_id": chat_id}
        return self._conversation(api.AGENTIC, chat_id, body, mode)

    def agentic_with_history(
        self, question: str, chat_id: str, *, mode: AgenticMode | None = None
    ) -> Chat:
        """Follow up with Dot's agent in an existing conversation (current dialect)."""
        body = {"new_message": _user_message(question), "chat_id": chat_id}
        return self._conversation(api.AGENTIC_WITH_HISTORY, chat_id, body, mode)

    def get_chat(self, chat_id: str) -> Chat:
        """The conversation so far (`GET /api/c2/{chat_id}`)."""
        return _chat(self._call(api.GET_CHAT, path={"chat_id": chat_id}), chat_id)

    def wait_for_answer(
        self, chat_id: str, *, timeout_s: float = 300.0, poll_interval_s: float = 2.0
    ) -> Answer:
        """Poll the conversation until Dot has answered its last question.

        Instead of sleeping a fixed time and hoping (Dot's 2024 API docs' script), this looks every
        `poll_interval_s` until a deadline on the monotonic clock, then raises
        `DotAnswerTimeoutError`.
        """
        if timeout_s < 0 or poll_interval_s <= 0:
            raise DotConfigError("wait_for_answer: need timeout_s >= 0 and poll_interval_s > 0")
        deadline = time.monotonic() + timeout_s
        polls = 0
        while True:
            messages = self.get_chat(chat_id).messages
            polls += 1
            message = answer_to_last_question(messages)
            if message is not None:
                text = message_text(message)
                return Answer(chat_id=chat_id, text=text, parts=message.parts, message=message)
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise DotAnswerTimeoutError(
                    f"no answer within {timeout_s:g} s; Dot may still answer: "
                    "call wait_for_answer or get_chat again later",
                    chat_id=chat_id,
                    operation="wait_for_answer",
                    method=api.GET_CHAT.method,
                    path=api.GET_CHAT.path_with(chat_id=chat_id),
                    attempts=polls,
                )
            time.sleep(min(poll_interval_s, remaining))

    def ask_and_wait(
        self,
        question: str,
        *,
        chat_id: str | None = None,
        timeout_s: float = 300.0,
        poll_interval_s: float = 2.0,
    ) -> Answer:
        """`ask`, then `wait_for_answer`."""
        accepted = self.ask(question, chat_id=chat_id)
        return self.wait_for_answer(
            accepted.chat_id, timeout_s=timeout_s, poll_interval_s=poll_interval_s
        )

    answer_text = staticmethod(answer_text)

    def add_label_to_chat(self, chat_id: str, labels: Sequence[str]) -> Any:
        """Tag a conversation (e.g. for review queues)."""
        body = {"chat_id": chat_id, "labels": list(labels)}
        return self._json(api.ADD_LABEL_TO_CHAT, body=body)

    # Org notes ------------------------------------------------------------------------

    def get_org(self) -> Org:
        """The token user's organisation, with its single note (Dot's 2024 API)."""
        reply = self._call(api.GET_ORG)
        return reply.model(Org, reply.json())

    def save_note(self, note: str, org_id: str | None = None) -> Any:
        """Replace the organisation's single note (Dot's 2024 API; removed since)."""
        body = {"note": note} if org_id is None else {"org_id": org_id, "note": note}
        return self._json(api.SAVE_NOTE, body=body)

    def list_org_notes(self) -> list[OrgNote]:
        """Every atomic org note (current dialect): Dot documents a list of `{id, title,
        note}`; `active` is read when Dot sends it."""
        reply = self._call(api.LIST_ORG_NOTES)
        return reply.model(list[OrgNote], reply.json())

    def create_org_note(self, title: str, note: str) -> OrgNote | None:
        """Add one org note; one topic per note, split past ~50,000 characters.

        Dot documents no reply body: any 2xx is success, and the note is returned only
        when the reply reads as one. Otherwise (None) list the notes to find it.
        """
        return self._note(api.CREATE_ORG_NOTE, {}, {"title": title, "note": note})

    def update_org_note(
        self, note_id: str, title: str, note: str, active: bool | None = None
    ) -> OrgNote | None:
        """Rewrite an org note; the note Dot answers, when its reply reads as one.

        `active` (undocumented: Dot's API shows no such field; its CLI and UI do
        (de)activate) is sent only when given; Dot may ignore it, so list the notes to
        see whether it took.
        """
        body: dict[str, Any] = {"title": title, "note": note}
        if active is not None:
            body["active"] = active
        return self._note(api.UPDATE_ORG_NOTE, {"note_id": note_id}, body)

    def delete_org_note(self, note_id: str) -> Any:
        """Remove an org note. Assumed route (`DELETE /api/org_notes/{id}`): undocumented,
        and any 2xx reply is accepted; list the notes to see whether it took."""
        return _any_body(self._call(api.DELETE_ORG_NOTE, path={"note_id": note_id}))

    # Environments ---------------------------------------------------------------------

    def list_environments(self) -> Any:
        """Dot's environments (raw JSON: the reply's shape is undocumented)."""
        return self._json(api.LIST_ENVIRONMENTS)

    def check_environment(self) -> None:
        """Fail now if the configured environment is not one Dot lists.

        Dot documents the `X-Dot-Environment` header, not what it does with an unknown id,
        so a typo could silently address production. Nothing is checked without a
        configured environment, when the token may not list environments (403: users),
        or when Dot's list is unreadable; each skip is logged.
        """
        environment = self._config.environment
        if environment is None:
            return
        try:
            listed = self.list_environments()
        except DotPermissionError:
            logger.debug("environment %r not checked: the token may not list them", environment)
            return
        names = environment_names(listed)
        if names is None:
            logger.warning("environment %r not checked: Dot's list is unreadable", environment)
            return
        if environment not in names.values():
            known = tuple(sorted(set(names.values())))
            named = (
                f" ({environment!r} is the name of {names[environment]!r})"
                if environment in names
                else ""
            )
            raise DotUnknownEnvironmentError(
                f"Dot has no environment id {environment!r} (X-Dot-Environment){named}; it "
                f"lists {', '.join(known) or 'none'}. Set the environment's id "
                "(DOT_ENVIRONMENT / DotResource.environment), or leave it empty for production.",
                environment=environment,
                known=known,
            )

    def create_environment(
        self, name: str, color: str | None = None, source_env_id: str | None = None
    ) -> str:
        """Create an environment (a fork of production, or of `source_env_id`); its id.

        Dot documents the body, not the reply, so the id is taken from Dot's list, read
        once after the create: `DotEffectNotObservedError` when the list does not show
        `name`, or cannot be read. Never re-sent once it may have reached Dot (a repeat
        would at best be refused as a taken name); after an unknown outcome, list the
        environments before creating again.
        """
        body = {"name": name, "color": color, "source_env_id": source_env_id}
        self._call(
            api.CREATE_ENVIRONMENT,
            body={key: value for key, value in body.items() if value is not None},
        )
        names = self._listed_environments("create_environment")
        if name not in names:
            raise DotEffectNotObservedError(
                f"create_environment: Dot accepted environment {name!r} but does not list it "
                f"(it lists {', '.join(sorted(set(names.values()))) or 'none'}); look in "
                "Dot's Manage environments before creating it again",
                expected={name: "listed"},
                observed={name: None},
            )
        return names[name]

    def environment_diff(self, environment_id: str) -> Any:
        """Every file the environment changed compared to production (raw JSON: the shape
        is undocumented; `changed_files` reads the plausible ones)."""
        return self._json(api.ENVIRONMENT_DIFF, path={"environment_id": environment_id})

    def environment_conflicts(self, environment_id: str) -> Any:
        """The predicted merge conflicts with production (raw JSON, shape undocumented;
        `changed_files` reads the plausible ones)."""
        return self._json(api.ENVIRONMENT_CONFLICTS, path={"environment_id": environment_id})

    def set_environment_targets(self, environment_id: str, targets: Mapping[str, Any]) -> Any:
        """Replace the environment's warehouse target overrides (dev schema/database).

        Dot documents the route ("Set warehouse target overrides"), not the body: its CLI
        takes a connection id and `--schema` (`dot env target set <env> <connection-id>
        --schema dbt_dev`), its UI database/schema (Snowflake) or project/dataset
        (BigQuery). So `targets` is sent exactly as given; the caller owns its shape. Any
        2xx reply is returned as received.
        """
        path = {"environment_id": environment_id}
        return _any_body(self._call(api.SET_ENVIRONMENT_TARGETS, path=path, body=dict(targets)))

    def sync_environment_target(self, environment_id: str) -> Any:
        """Refresh the environment's documentation from its dev target (`dot env
        sync-target`). Like a connection sync it is sent at most once once it may have
        reached Dot (`DotOutcomeUnknownError` otherwise); any 2xx reply is returned."""
        path = {"environment_id": environment_id}
        return _any_body(self._call(api.SYNC_ENVIRONMENT_TARGET, path=path))

    def merge_environment(self, environment_id: str) -> Any:
        """Merge the environment into production, confirmed (`{"confirm": true}`).

        Sent at most once once it may have reached Dot (`DotOutcomeUnknownError`: look at
        production before merging again). Dot refuses a merge with conflicts (a
        `DotAPIError`, 409 in the emulator); any 2xx reply is returned as received.
        """
        path = {"environment_id": environment_id}
        return _any_body(self._call(api.MERGE_ENVIRONMENT, path=path, body={"confirm": True}))

    def delete_environment(self, environment_id: str) -> None:
        """Delete the environment (`?confirm=true`), then check Dot no longer lists it:
        `DotEffectNotObservedError` when it still does or the list cannot be read."""
        self._call(
            api.DELETE_ENVIRONMENT,
            path={"environment_id": environment_id},
            params={"confirm": "true"},
        )
        if environment_id in self._listed_environments("delete_environment").values():
            raise DotEffectNotObservedError(
                f"delete_environment: Dot accepted the deletion of {environment_id!r} but "
                "still lists it; delete it in Dot's Manage environments",
                expected={environment_id: None},
                observed={environment_id: "listed"},
            )

    def _listed_environments(self, operation: str) -> dict[str, str]:
        """Dot's environments (id, name, slug → id) to verify a write against."""
        listed = self.list_environments()
        names = environment_names(listed)
        if names is None:
            raise DotEffectNotObservedError(
                f"{operation}: Dot accepted the call, but its list of environments is "
                f"unreadable, so the effect cannot be checked (received {str(listed)[:200]!r})"
            )
        return names

    # Users and auth -------------------------------------------------------------------

    def me(self) -> Any:
        """Who the token belongs to (raw JSON)."""
        return self._json(api.ME)

    def get_users(self) -> Any:
        """Every user of the organisation (raw JSON)."""
        return self._json(api.GET_USERS)

    def send_invitations(self, emails: Sequence[str]) -> Any:
        """Invite people by email."""
        return self._json(api.SEND_INVITATIONS, body={"emails": list(emails)})

    def delete_user(self, email: str) -> Any:
        """Remove a user from the organisation."""
        return self._json(api.DELETE_USER, body={"email": email})

    def change_user_role(self, email: str, role: str) -> Any:
        """Set a user's role (admin, modeler or user: Dot has no viewer role)."""
        return self._json(api.CHANGE_USER_ROLE, body={"email": email, "role": role})

    def add_user_to_group(self, email: str, group: str) -> Any:
        """Add a user to a permission group."""
        return self._json(api.ADD_USER_TO_GROUP, body={"email": email, "group": group})

    def remove_user_from_group(self, email: str, group: str) -> Any:
        """Remove a user from a permission group."""
        body = {"email": email, "group": group}
        return self._json(api.REMOVE_USER_FROM_GROUP, body=body)

    def create_user(self, email: str, password: str | SecretStr, realname: str) -> Any:
        """Create a user with a password; the password is redacted from any error."""
        secret = password.get_secret_value() if isinstance(password, SecretStr) else password
        body = {"email": email, "password": secret, "realname": realname}
        return self._json(api.CREATE_USER, body=body, secrets=(secret,))

    def embedded_user_login(self, user_id: str) -> Any:
        """A 24 h token for an embedded user (needs the org's embedded-login setting)."""
        return self._json(api.EMBEDDED_USER_LOGIN, body={"user_id": user_id})

    # dbt and data quality -------------------------------------------------------------

    def push_dbt_run_results(
        self, run_results: Mapping[str, Any], manifest: Mapping[str, Any]
    ) -> Any:
        """Send dbt's artifacts; Dot opens and clears incidents for models, tests, sources.

        Dot documents no reply body: any 2xx is accepted (see `_any_body`)."""
        body = {"run_results": dict(run_results), "manifest": dict(manifest)}
        return _any_body(self._call(api.PUSH_DBT_RUN_RESULTS, body=body))

    def report_quality_incidents(
        self, source: str, items: Sequence[QualityIncident | Mapping[str, Any]]
    ) -> Any:
        """Report data-quality findings from any tool; Dot flags dashboards on those tables.

        Dot documents only `status: "open"` items and no reply body: any 2xx is accepted
        (see `_any_body`)."""
        body = {"source": source, "items": [_payload(QualityIncident, item) for item in items]}
        return _any_body(self._call(api.REPORT_QUALITY_INCIDENTS, body=body))

    @overload
    def get_dbt_exposures(
        self, format: Literal["json"] = "json", connection_id: str | None = None
    ) -> Any: ...
    @overload
    def get_dbt_exposures(
        self, format: Literal["yaml"], connection_id: str | None = None
    ) -> str: ...
    def get_dbt_exposures(
        self, format: Literal["json", "yaml"] = "json", connection_id: str | None = None
    ) -> Any:
        """dbt exposures for Dot's dashboards: parsed JSON, or the YAML text to commit."""
        if format not in ("json", "yaml"):
            raise DotConfigError(f"get_dbt_exposures: format is 'json' or 'yaml', not {format!r}")
        params: dict[str, str] = {"format": format}
        if connection_id is not None:
            params["connection_id"] = connection_id
        reply = self._call(api.GET_DBT_EXPOSURES, params=params)
        return reply.exchange.response.text if format == "yaml" else reply.json()

    # Plumbing -------------------------------------------------------------------------

    def _default_headers(self) -> dict[str, str]:
        # X-Requested-With as Dot's own CLI sends it (getdot, src/ask.mjs): the marker web
        # apps use to answer an API caller with a status instead of a login page.
        headers = {
            "User-Agent": USER_AGENT,
            "Accept": "application/json",
            "X-Requested-With": "XMLHttpRequest",
        }
        if self._config.auth_mode == "header":
            # Current docs say X-API-KEY, older deployments only read API-KEY: send both.
            token = self._config.api_token.get_secret_value()
            headers |= {"X-API-KEY": token, "API-KEY": token}
        if self._config.environment:
            headers["X-Dot-Environment"] = self._config.environment
        return headers

    def _auth_params(self, endpoint: Endpoint) -> dict[str, str]:
        """The query-string credentials in URL mode; refuses routes Dot guards by header."""
        if self._config.auth_mode == "header":
            return {}
        if not endpoint.url_auth:
            raise DotConfigError(
                f"{endpoint.operation} ({endpoint.method} {endpoint.path}) does not accept URL "
                "auth; Dot allows it only for sync_connection, import_external_asset and "
                "export_history. Use a client with auth_mode='header' for this call."
            )
        return {
            "user_id": str(self._config.user_id),
            "api_token": self._config.api_token.get_secret_value(),
        }

    def _call(
        self,
        endpoint: Endpoint,
        *,
        path: Mapping[str, str] | None = None,
        params: Mapping[str, str | bool] | None = None,
        body: Any = None,
        secrets: tuple[str, ...] = (),
    ) -> Reply:
        """Send one call (with its retries); return its successful reply or raise.

        `secrets` are call-specific values (a password) to keep out of error messages.
        """
        request = self._http.build_request(
            endpoint.method,
            endpoint.path_with(**(path or {})),
            params={**self._auth_params(endpoint), **(params or {})},
            json=body,
            timeout=self._config.timeouts.for_request(slow=endpoint.slow, export=endpoint.export),
        )
        if endpoint.export or endpoint.org_wide:  # not scoped to the configured environment
            request.headers.pop("X-Dot-Environment", None)
        secrets = self._secrets + secrets
        try:
            exchange = send(
                self._http, request, policy=self._config.retry, idempotent=endpoint.idempotent
            )
        except TransportFailure as failure:
            unknown = no_response_error(endpoint, request, failure, secrets)
            if unknown is not None:
                raise unknown from failure.error
            raise transport_error(
                failure,
                operation=endpoint.operation,
                request=request,
                secrets=secrets,
                transport_class=DotTransportError,
                timeout_class=DotTimeoutError,
            ) from failure.error
        return Reply(endpoint, exchange, secrets).raise_for_status()

    def _json(self, endpoint: Endpoint, **request: Any) -> Any:
        return self._call(endpoint, **request).json()

    def _conversation(
        self, endpoint: Endpoint, chat_id: str, body: dict[str, Any], mode: str | None
    ) -> Chat:
        if mode is not None:
            if mode not in AGENTIC_MODES:
                raise DotConfigError(
                    f"{endpoint.operation}: mode must be one of {', '.join(AGENTIC_MODES)} "
                    f"or None, not {mode!r}"
                )
            body["mode"] = mode
        with _carrying_chat_id(chat_id):
            return _chat(self._call(endpoint, body=body), chat_id)

    def _note(self, endpoint: Endpoint, path: Mapping[str, str], body: Any) -> OrgNote | None:
        """The reply of a note write as a note, or None: its shape is undocumented, so a
        2xx that is not a note (`null`, `{"status": "ok"}`, an id) is success all the same."""
        data = _any_body(self._call(endpoint, path=path, body=body))
        try:
            return OrgNote.model_validate(data)
        except ValidationError:
            return None


def _chat(reply: Reply, chat_id: str) -> Chat:
    """A conversation from a body that is either `{"messages": [...]}` (c2) or the bare
    list of messages (agentic)."""
    data = reply.json()
    if isinstance(data, list):
        data = {"messages": data}
    if isinstance(data, dict):
        data = {"chat_id": chat_id, **data}
    return reply.model(Chat, data)


@contextmanager
def _carrying_chat_id(chat_id: str) -> Iterator[None]:
    """Mark every `DotError` raised inside with the conversation it is about."""
    try:
        yield
    except DotError as error:
        error.chat_id = chat_id
        if sys.version_info >= (3, 11):  # notes are 3.11+; on 3.10 `chat_id` alone says it
            error.add_note(f"chat_id: {chat_id} (read the conversation later with get_chat)")
        raise


def _any_body(reply: Reply) -> Any:
    """A reply whose body Dot does not document: parsed JSON when it reads as JSON, else
    its text. The 2xx status is the answer; an unreadable body is no failure."""
    try:
        return reply.json()
    except DotResponseError:
        return reply.exchange.response.text


def _new_chat_id() -> str:
    return str(uuid.uuid4())


def _user_message(question: str) -> dict[str, str]:
    return {"role": "user", "content": question}


def _payload(model: type[Model], value: Model | Mapping[str, Any]) -> dict[str, Any]:
    """`value` checked as `model` and dumped as JSON, unset (None) fields left out so that
    Dot applies its own defaults; `DotConfigError` before anything is sent."""
    try:
        checked = model.model_validate(value)
    except ValidationError as error:
        raise DotConfigError(f"invalid {model.__name__}: {validation_problems(error)}") from None
    return checked.model_dump(mode="json", exclude_none=True)
