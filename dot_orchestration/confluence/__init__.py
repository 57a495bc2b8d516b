"""The Confluence client for the note sync: plain Python, no Dagster.

from dot_orchestration.confluence import ConfluenceClient
with ConfluenceClient(site, email=email, api_token=token) as confluence:   # Cloud
    page = confluence.get_page("123456")
    storage_to_markdown(page.body_storage, base_url=confluence.base_url, space_key=page.space)
    select_pages(confluence, PageSelection(descendants_of=("100100",)))   # ids + versions
"""

from dot_orchestration._http import HttpRetries, Timeouts
from dot_orchestration.confluence._client import DESCENDANT_DEPTH, ConfluenceClient
from dot_orchestration.confluence._config import MAX_PAGE_SIZE, Flavour
from dot_orchestration.confluence._models import ConfluencePage, PageRef, PageSummary
from dot_orchestration.confluence._selection import (
    PageSelection,
    PageSelectionError,
    SelectedPages,
    select_pages,
)
from dot_orchestration.confluence.errors import (
    ConfluenceAPIError,
    ConfluenceAuthError,
    ConfluenceBadRequestError,
    ConfluenceConfigError,
    ConfluenceError,
    ConfluenceNotFoundError,
    ConfluencePermissionError,
    ConfluenceRateLimitError,
    ConfluenceResponseError,
    ConfluenceServerError,
    ConfluenceTimeoutError,
    ConfluenceTransportError,
)

__all__ = [
    "DESCENDANT_DEPTH",
    "MAX_PAGE_SIZE",
    "ConfluenceAPIError",
    "ConfluenceAuthError",
    "ConfluenceBadRequestError",
    "ConfluenceClient",
    "ConfluenceConfigError",
    "ConfluenceError",
    "ConfluenceNotFoundError",
    "ConfluencePage",
    "ConfluencePermissionError",
    "ConfluenceRateLimitError",
    "ConfluenceResponseError",
    "ConfluenceServerError",
    "ConfluenceTimeoutError",
    "ConfluenceTransportError",
    "Flavour",
    "HttpRetries",
    "PageRef",
    "PageSelection",
    "PageSelectionError",
    "PageSummary",
    "SelectedPages",
    "Timeouts",
    "select_pages",
]
