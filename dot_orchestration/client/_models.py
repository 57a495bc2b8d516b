"""Request and response models for the parts of Dot's API whose shape is documented.

Request models forbid unknown fields so a typo fails here, not as a 422 from Dot. Response
models allow them: Dot adds fields over time and a client must not break on that.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

#: Connection types this package knows: the eight Dot's sync docs list, plus the warehouses
#: Dot's 2024 spec has `connect_*` endpoints for (DuckDB, MySQL/MariaDB, SAP HANA). Dot's
#: spec takes any string here, so other types are sent as given (and warned about at load).
CONNECTION_TYPES: tuple[str, ...] = (
    "postgres",
    "redshift",
    "snowflake",
    "mssql",
    "bigquery",
    "databricks",
    "looker",
    "dbt",
    "duckdb",
    "mysql",
    "saphana",
)


def connection_type_problem(connection_type: str) -> str | None:
    """Why `connection_type` cannot name a Dot connection type, or None when it can.

    Any string Dot's URL can carry is allowed; a known type in the wrong case is refused
    (Dot's path is case-sensitive and a miscased `Snowflake` would silently sync nothing).
    """
    if not connection_type.strip() or connection_type != connection_type.strip():
        return f"connection type {connection_type!r} is empty or has surrounding spaces"
    if "/" in connection_type:
        return f"connection type {connection_type!r} contains '/'; it is one URL path segment"
    known = {known.lower(): known for known in CONNECTION_TYPES}
    spelled = known.get(connection_type.lower())
    if spelled is not None and spelled != connection_type:
        return f"connection type {connection_type!r} is Dot's {spelled!r}: write it as {spelled!r}"
    return None


#: Effort levels of the agentic endpoints (current docs); None lets Dot choose.
AgenticMode = Literal["economy", "balanced", "frontier"]
AGENTIC_MODES: tuple[str, ...] = ("economy", "balanced", "frontier")


class _Request(BaseModel):
    model_config = ConfigDict(extra="forbid")


class _Response(BaseModel):
    model_config = ConfigDict(extra="allow", coerce_numbers_to_str=True)


class ExternalAsset(_Request):
    """A dashboard or data app Dot should know about (OpenAPI `ExternalAsset`).

    Importing is idempotent by `id`: the same asset sent twice is overwritten, not doubled.
    """

    id: str
    subtype: str  # e.g. looker_dashboard, tableau_workbook
    folder: str | None = None
    name: str | None = None
    description: str | None = None
    url: str | None = None
    active: bool = True
    view_count: int | None = 0
    last_accessed_at: str | None = None
    dot_description: str | None = None  # may hold Markdown of the dashboard's charts


class QualityIncident(_Request):
    """One data-quality finding; dashboards built on `table` show it as a data issue."""

    table: str
    check: str
    status: Literal["open", "resolved"]
    severity: str | None = None
    message: str | None = None
    url: str | None = None


class SyncAccepted(BaseModel):
    """Dot accepted a sync. Dot does not report completion: this is all there is to know."""

    model_config = ConfigDict(frozen=True)

    connection_type: str
    connection_id: str
    response: Any
    attempts: int
    duration_s: float


class AskAccepted(BaseModel):
    """Dot took a question (Dot's 2024 API); the answer appears later in `get_chat`."""

    model_config = ConfigDict(frozen=True)

    chat_id: str
    response: Any


class AnswerPart(_Response):
    """One block of an answer: `type` is text, dataframe, chart or file."""

    type: str
    data: Any = None


class AdditionalData(_Response):
    """What Dot attaches to an answer, as its CLI reads it: the parts, the assets the
    non-text parts name by key, the conversation's link in Dot and its id."""

    formatted_result: list[AnswerPart] | None = None
    assets: dict[str, Any] | list[Any] | None = None
    dot_url: str | None = None
    chat_id: str | None = None


class ChatMessage(_Response):
    """A message of a conversation, as `GET /api/c2/{chat_id}` and the agentic calls
    return it."""

    role: str | None = None
    content: Any = None
    explanation: str | None = None
    additional_data: AdditionalData | None = None

    @property
    def parts(self) -> list[AnswerPart]:
        """The answer blocks of this message; empty for questions and partial messages."""
        if self.additional_data is None:
            return []
        return self.additional_data.formatted_result or []


class Chat(_Response):
    """A conversation: every message so far, questions and answers."""

    chat_id: str
    messages: list[ChatMessage] = []


class Answer(BaseModel):
    """Dot's answer to the last question of a chat."""

    model_config = ConfigDict(frozen=True)

    chat_id: str
    text: str
    parts: list[AnswerPart]
    message: ChatMessage

    @property
    def dot_url(self) -> str | None:
        """Where a person opens the conversation in Dot, when Dot sent the link."""
        data = self.message.additional_data
        return data.dot_url if data is not None else None

    def asset(self, part: AnswerPart) -> Any:
        """What a non-text part (dataframe, chart, file) shows: its `data` is a key into
        `additional_data.assets`, as Dot's CLI reads it. None when Dot sent no such key."""
        data = self.message.additional_data
        assets = data.assets if data is not None else None
        if not isinstance(assets, dict) or not isinstance(part.data, str):
            return None
        return assets.get(part.data)


class Org(_Response):
    """The organisation of the token's user, with its single note (Dot's 2024 API)."""

    id: str
    note: str | None = None


class OrgNote(_Response):
    """One atomic org note (current dialect): one topic each.

    `active` is None when Dot does not say: Dot documents only `id`, `title` and `note` in
    its listing, so a note's activation is known only when Dot sends the field.
    """

    id: str
    title: str
    note: str
    active: bool | None = None
