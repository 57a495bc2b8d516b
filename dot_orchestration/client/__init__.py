"""The Dot (getdot.ai) API client: plain Python, no Dagster.

from dot_orchestration.client import DotClient
with DotClient(api_token=token, region="eu") as dot:
    dot.sync_connection("snowflake", "prod")
"""

from dot_orchestration._http import HttpRetries, Timeouts
from dot_orchestration.client._answers import answer_text
from dot_orchestration.client._client import DotClient
from dot_orchestration.client._config import REGION_URLS
from dot_orchestration.client._environments import ChangedFile, changed_files
from dot_orchestration.client._models import (
    AGENTIC_MODES,
    CONNECTION_TYPES,
    AgenticMode,
    Answer,
    AnswerPart,
    AskAccepted,
    Chat,
    ChatMessage,
    ExternalAsset,
    Org,
    OrgNote,
    QualityIncident,
    SyncAccepted,
    connection_type_problem,
)
from dot_orchestration.client.errors import (
    DotAnswerTimeoutError,
    DotAPIError,
    DotAuthError,
    DotConfigError,
    DotEffectNotObservedError,
    DotError,
    DotNotFoundError,
    DotOutcomeUnknownError,
    DotPermissionError,
    DotRateLimitError,
    DotRedirectError,
    DotResponseError,
    DotServerError,
    DotTimeoutError,
    DotTransportError,
    DotUnknownEnvironmentError,
    DotValidationError,
)

__all__ = [
    "AGENTIC_MODES",
    "CONNECTION_TYPES",
    "REGION_URLS",
    "AgenticMode",
    "Answer",
    "AnswerPart",
    "AskAccepted",
    "ChangedFile",
    "Chat",
    "ChatMessage",
    "DotAPIError",
    "DotAnswerTimeoutError",
    "DotAuthError",
    "DotClient",
    "DotConfigError",
    "DotEffectNotObservedError",
    "DotError",
    "DotNotFoundError",
    "DotOutcomeUnknownError",
    "DotPermissionError",
    "DotRateLimitError",
    "DotRedirectError",
    "DotResponseError",
    "DotServerError",
    "DotTimeoutError",
    "DotTransportError",
    "DotUnknownEnvironmentError",
    "DotValidationError",
    "ExternalAsset",
    "HttpRetries",
    "Org",
    "OrgNote",
    "QualityIncident",
    "SyncAccepted",
    "Timeouts",
    "answer_text",
    "changed_files",
    "connection_type_problem",
]
