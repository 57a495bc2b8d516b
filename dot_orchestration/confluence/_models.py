"""What the client returns, and the slices of Confluence's JSON it reads them from.

v2 (Cloud) and v1 (Data Center, and Cloud's CQL search) describe the same page in
different shapes; each public model has one reader per shape, so callers never see which
API a value came from.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any
from urllib.parse import unquote

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["ConfluencePage", "PageRef", "PageSummary"]


class ConfluencePage(BaseModel):
    """One page with its body in storage format (feed it to `storage_to_markdown`).

    `space` is the space key (`DATA`); `web_url` is the page as a reader opens it;
    `last_modified` is when the current `version` was saved.
    """

    model_config = ConfigDict(frozen=True)

    id: str
    title: str
    version: int
    body_storage: str
    web_url: str
    space: str | None
    parent_id: str | None
    last_modified: datetime


class PageSummary(BaseModel):
    """A page without its body: enough to tell whether it changed since the last sync."""

    model_config = ConfigDict(frozen=True)

    id: str
    title: str
    version: int
    last_modified: datetime
    web_url: str
    space: str | None
    parent_id: str | None


class PageRef(BaseModel):
    """A page found below another one: where it sits in the tree, nothing more."""

    model_config = ConfigDict(frozen=True)

    id: str
    title: str
    parent_id: str | None


# --------------------------------------------------------------------------- wire shapes


class _Wire(BaseModel):
    model_config = ConfigDict(extra="ignore", populate_by_name=True)


class _Storage(_Wire):
    value: str


class _Body(_Wire):
    storage: _Storage


class _Links(_Wire):
    webui: str


class _V2Version(_Wire):
    number: int
    created_at: datetime = Field(alias="createdAt")


class V2Page(_Wire):
    """`GET /api/v2/pages/{id}` and the items of `GET /api/v2/pages`."""

    id: str
    title: str
    parent_id: str | None = Field(default=None, alias="parentId")
    version: _V2Version
    links: _Links = Field(alias="_links")

    def summary(self, site: str) -> PageSummary:
        return PageSummary(
            id=self.id,
            title=self.title,
            version=self.version.number,
            last_modified=self.version.created_at,
            web_url=site + self.links.webui,
            space=space_key(self.links.webui),
            parent_id=self.parent_id,
        )


class V2PageWithBody(V2Page):
    """`GET /api/v2/pages/{id}?body-format=storage`."""

    body: _Body

    def page(self, site: str) -> ConfluencePage:
        return ConfluencePage(
            **self.summary(site).model_dump(), body_storage=self.body.storage.value
        )


class V2Descendant(_Wire):
    """An item of `GET /api/v2/pages/{id}/descendants` (folders and whiteboards too)."""

    id: str
    title: str
    type: str = "page"
    parent_id: str | None = Field(default=None, alias="parentId")
    depth: int = 1

    def ref(self) -> PageRef:
        return PageRef(id=self.id, title=self.title, parent_id=self.parent_id)


class _V1Version(_Wire):
    number: int
    when: datetime


class _V1Space(_Wire):
    key: str


class _V1Ancestor(_Wire):
    id: str


class V1Content(_Wire):
    """`GET /rest/api/content/{id}` and the results of `GET /rest/api/content/search`,
    with `version`, `space` and `ancestors` expanded."""

    id: str
    type: str
    title: str
    version: _V1Version
    space: _V1Space | None = None
    ancestors: list[_V1Ancestor] = Field(default_factory=list)
    links: _Links = Field(alias="_links")

    def summary(self, site: str) -> PageSummary:
        return PageSummary(
            id=self.id,
            title=self.title,
            version=self.version.number,
            last_modified=self.version.when,
            web_url=site + self.links.webui,
            space=self.space.key if self.space else space_key(self.links.webui),
            parent_id=self._parent_id,
        )

    def ref(self) -> PageRef:
        return PageRef(id=self.id, title=self.title, parent_id=self._parent_id)

    @property
    def _parent_id(self) -> str | None:
        return self.ancestors[-1].id if self.ancestors else None


class V1ContentWithBody(V1Content):
    """`GET /rest/api/content/{id}?expand=body.storage,...`."""

    body: _Body

    def page(self, site: str) -> ConfluencePage:
        return ConfluencePage(
            **self.summary(site).model_dump(), body_storage=self.body.storage.value
        )


#: Cloud's `/spaces/KEY/pages/...` and Data Center's `/display/KEY/Title`.
_SPACE_IN_WEBUI = re.compile(r"^/(?:spaces|display)/([^/?#]+)")


def space_key(webui: str) -> str | None:
    """The space key in a page's web path: v2 gives only the numeric space id."""
    match = _SPACE_IN_WEBUI.match(webui)
    return unquote(match.group(1)) if match else None


class _ListingLinks(_Wire):
    next: str | None = None


class Listing(_Wire):
    """One window of a list: v2's `{results, _links.next}` or v1 search's, which adds
    `start`/`limit`/`size` the client does not need (it follows `next`)."""

    results: list[dict[str, Any]]
    links: _ListingLinks = Field(default_factory=_ListingLinks, alias="_links")
