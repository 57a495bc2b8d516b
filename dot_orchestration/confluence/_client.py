"""`ConfluenceClient`: the page reads a note sync needs, on Cloud (v2) and Data Center (v1)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from types import TracebackType
from typing import Any, TypeVar

import httpx
from pydantic import BaseModel, ValidationError

from dot_orchestration._http import (
    USER_AGENT,
    Exchange,
    HttpRetries,
    Timeouts,
    TransportFailure,
    install_log_redaction,
    send,
    ssl_context,
    transport_error,
)
from dot_orchestration.confluence._config import Flavour, load_config
from dot_orchestration.confluence._models import (
    ConfluencePage,
    Listing,
    PageRef,
    PageSummary,
    V1Content,
    V1ContentWithBody,
    V2Descendant,
    V2Page,
    V2PageWithBody,
)
from dot_orchestration.confluence._responses import (
    check_status,
    read_model,
    unreadable,
)
from dot_orchestration.confluence.errors import (
    ConfluenceConfigError,
    ConfluenceTimeoutError,
    ConfluenceTransportError,
)

Model = TypeVar("Model", bound=BaseModel)

#: Levels asked of v2's descendants endpoint per call; pages found at this depth are
#: asked again for theirs, so trees of any depth are walked.
DESCENDANT_DEPTH = 5
_V1_EXPAND = "version,space,ancestors"


class ConfluenceClient:
    """A connection to one Confluence site, acting as one user.

    Cloud: ``ConfluenceClient("https://example.atlassian.net/wiki", email=..., api_token=...)``
    reads pages through REST v2. Data Center:
    ``ConfluenceClient("https://confluence.example.com", personal_access_token=...)`` reads
    through v1. CQL search is v1 on both (Cloud has no v2 equivalent).

    One `httpx.Client` per object (connection pooling); close it with `close()` or a
    `with` block. Every call is a read, so every transient failure (timeouts, 429, 502-504,
    honouring `Retry-After`) is retried per `retry`. Lists are followed to their end.
    """

    def __init__(
        self,
        base_url: str,
        *,
        email: str | None = None,
        api_token: str | None = None,
        personal_access_token: str | None = None,
        flavour: Flavour | None = None,
        timeouts: Timeouts | None = None,
        retry: HttpRetries | None = None,
        page_size: int | None = None,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        settings = {
            "base_url": base_url,
            "email": email,
            "api_token": api_token,
            "personal_access_token": personal_access_token,
            "flavour": flavour,
            "timeouts": timeouts,
            "retry": retry,
            "page_size": page_size,
        }
        self._config = load_config(**{k: v for k, v in settings.items() if v is not None})
        self._secrets = self._config.secrets()
        install_log_redaction(*self._secrets)
        self._site = str(self._config.url)
        self._http = httpx.Client(
            headers={
                "Authorization": self._config.authorization(),
                "Accept": "application/json",
                "User-Agent": USER_AGENT,
            },
            timeout=self._config.timeouts.for_request(),
            transport=transport,
            verify=ssl_context(),
        )

    @property
    def base_url(self) -> str:
        """The site base, e.g. `https://example.atlassian.net/wiki` (for page links)."""
        return self._site

    @property
    def flavour(self) -> Flavour:
        return self._config.resolved_flavour

    def __repr__(self) -> str:
        auth = "bearer PAT" if self._config.personal_access_token else f"basic {self._config.email}"
        return f"ConfluenceClient({self._site!r}, flavour={self.flavour!r}, auth={auth!r})"

    # ---- pages

    def get_page(self, page_id: str) -> ConfluencePage:
        """One page with its storage-format body: one request."""
        _check_id(page_id)
        if self.flavour == "cloud":
            path, params = f"/api/v2/pages/{page_id}", {"body-format": "storage"}
            return self._get(V2PageWithBody, "get_page", path, params).page(self._site)
        path, params = f"/rest/api/content/{page_id}", {"expand": f"body.storage,{_V1_EXPAND}"}
        return self._get(V1ContentWithBody, "get_page", path, params).page(self._site)

    def get_page_versions(self, page_ids: Iterable[str]) -> dict[str, PageSummary]:
        """Version and title of many pages, without their bodies, in ``ceil(n / page_size)``
        requests (250 by default): a sensor can poll any number of pages cheaply.

        Pages that are deleted or that the user may not see are absent from the result.
        """
        ids = list(dict.fromkeys(page_ids))
        for page_id in ids:
            _check_id(page_id)
        found: dict[str, PageSummary] = {}
        size = self._config.page_size
        for chunk in (ids[start : start + size] for start in range(0, len(ids), size)):
            summaries: Iterator[PageSummary]
            if self.flavour == "cloud":
                params = {"id": ",".join(chunk), "limit": len(chunk)}
                pages = self._paged(V2Page, "get_page_versions", "/api/v2/pages", params)
                summaries = (page.summary(self._site) for page in pages)
            else:
                summaries = self._search(f"id in ({','.join(chunk)})", "get_page_versions")
            found.update((summary.id, summary) for summary in summaries)
        return found

    def iter_descendants(self, parent_id: str) -> Iterator[PageRef]:
        """Every page below `parent_id` (children, grandchildren...), top to bottom.

        Cloud walks v2's descendants tree; Data Center searches ``ancestor = <id>``, which
        (like any CQL) may miss a page created seconds ago, until Confluence indexes it.
        """
        _check_id(parent_id)
        if self.flavour == "cloud":
            yield from self._v2_descendants(parent_id)
            return
        cql = f"ancestor = {parent_id} and type = page"
        for content in self._paged_search(cql, "iter_descendants"):
            yield content.ref()

    def search_cql(self, cql: str) -> Iterator[PageSummary]:
        """The pages a CQL query finds (other content types it matches are skipped), with
        their versions, following the results to the end. Invalid CQL raises
        `ConfluenceBadRequestError` with Confluence's explanation in `detail`."""
        return self._search(cql, "search_cql")

    # ---- lifecycle

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> ConfluenceClient:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    # ---- plumbing

    def _v2_descendants(self, root_id: str) -> Iterator[PageRef]:
        pending = [root_id]
        while pending:
            path = f"/api/v2/pages/{pending.pop(0)}/descendants"
            params = {"depth": DESCENDANT_DEPTH, "limit": self._config.page_size}
            for item in self._paged(V2Descendant, "iter_descendants", path, params):
                if item.type != "page":
                    continue  # folders, whiteboards, databases: their pages are listed too
                yield item.ref()
                if item.depth == DESCENDANT_DEPTH:
                    pending.append(item.id)

    def _search(self, cql: str, operation: str) -> Iterator[PageSummary]:
        return (content.summary(self._site) for content in self._paged_search(cql, operation))

    def _paged_search(self, cql: str, operation: str) -> Iterator[V1Content]:
        params = {"cql": cql, "expand": _V1_EXPAND, "limit": self._config.page_size}
        path = "/rest/api/content/search"
        return self._paged(V1Content, operation, path, params, keep=_is_page)

    def _get(self, model: type[Model], operation: str, path: str, params: dict[str, Any]) -> Model:
        exchange = self._send(operation, httpx.URL(self._site + path, params=params))
        return read_model(model, operation, exchange, self._secrets)

    def _paged(
        self,
        model: type[Model],
        operation: str,
        path: str,
        params: dict[str, Any],
        keep: Callable[[dict[str, Any]], bool] = lambda item: True,
    ) -> Iterator[Model]:
        """Every item of a list, following `_links.next` until there is none.

        v2's `next` is relative to the site's origin (it repeats `/wiki`); v1's is
        relative to the site base. A `next` that leaves the site, or that comes back to
        an address already read, is an unreadable answer, not a reason to loop forever.
        """
        url = httpx.URL(self._site + path, params=params)
        seen = {url}
        while True:
            exchange = self._send(operation, url)
            listing = read_model(Listing, operation, exchange, self._secrets)
            for item in listing.results:
                if keep(item):
                    yield self._item(model, item, operation, exchange)
            if listing.links.next is None:
                return
            url = self._follow(listing.links.next, path.startswith("/api/v2"))
            if url in seen or url.netloc != httpx.URL(self._site).netloc:
                problem = "the `next` link loops or leaves the site"
                raise unreadable(operation, exchange, self._secrets, problem)
            seen.add(url)

    def _follow(self, next_link: str, from_origin: bool) -> httpx.URL:
        link = httpx.URL(next_link)
        if link.is_absolute_url or from_origin:
            return httpx.URL(self._site).join(link)
        return httpx.URL(self._site + next_link)

    def _item(
        self, model: type[Model], item: dict[str, Any], operation: str, exchange: Exchange
    ) -> Model:
        try:
            return model.model_validate(item)
        except ValidationError:
            problem = f"a list item is not a {model.__name__} (id {item.get('id')!r})"
            raise unreadable(operation, exchange, self._secrets, problem) from None

    def _send(self, operation: str, url: httpx.URL) -> Exchange:
        request = self._http.build_request("GET", url)
        try:
            exchange = send(self._http, request, policy=self._config.retry, idempotent=True)
        except TransportFailure as failure:
            raise transport_error(
                failure,
                operation=operation,
                request=request,
                secrets=self._secrets,
                transport_class=ConfluenceTransportError,
                timeout_class=ConfluenceTimeoutError,
            ) from failure.error
        check_status(operation, exchange, self._secrets)
        return exchange


def _check_id(page_id: str) -> None:
    """Confluence ids are numbers; anything else would be a wrong path, not a page."""
    if not (isinstance(page_id, str) and page_id.isdigit()):
        raise ConfluenceConfigError(f"page ids are strings of digits, got {page_id!r}")


def _is_page(item: dict[str, Any]) -> bool:
    return item.get("type") == "page"
