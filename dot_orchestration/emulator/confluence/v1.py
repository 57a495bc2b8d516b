"""Confluence REST API v1: one content item, and CQL search.

Cloud deprecated v1 content reads in favour of v2 but CQL search has no v2 equivalent;
Data Center only has v1. `expand` works as in Confluence: a single content item always
carries `space`, `history` and `version`; search results carry what `expand` names. Search
pages with `start`/`limit`, and `_links.next` is relative to `_links.base` (it starts with
`/rest`, not `/wiki`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request

from dot_orchestration.emulator.confluence._api import (
    WIKI,
    ConfluenceAPIError,
    current_user,
    site_base,
    site_state,
    timestamp,
    viewable_page,
    webui,
    window,
    with_query,
)
from dot_orchestration.emulator.confluence.cql import CqlError, parse_cql
from dot_orchestration.emulator.confluence.state import ConfluenceState, EmulatorUser, PageRecord

router = APIRouter(prefix=f"{WIKI}/rest/api", tags=["v1"])

User = Annotated[EmulatorUser, Depends(current_user)]
Expand = Annotated[str | None, Query()]

_SINGLE_DEFAULTS = frozenset({"space", "history", "version"})


@router.get("/content/search")
def search_content(
    request: Request,
    user: User,
    cql: Annotated[str | None, Query()] = None,
    expand: Expand = None,
    start: Annotated[int, Query(ge=0)] = 0,
    limit: Annotated[int, Query(ge=1, le=250)] = 25,
) -> dict[str, Any]:
    state = site_state(request)
    if not cql:
        raise ConfluenceAPIError(400, "cql is required")
    try:
        query = parse_cql(cql)
    except CqlError as error:
        raise ConfluenceAPIError(400, str(error)) from None
    visible = [page for page in state.pages() if state.can_view(page, user)]
    matches = query.select(visible, state.ancestors)
    results, next_start = window(matches, start, limit)
    expansions = _expansions(expand)
    base = site_base(request)
    links = {"base": base, "context": WIKI, "self": f"{base}/rest/api/content/search"}
    if next_start is not None:
        links["next"] = with_query(request, start=next_start, limit=limit).removeprefix(WIKI)
    return {
        "results": [content_json(state, page, expansions) for page in results],
        "start": start,
        "limit": limit,
        "size": len(results),
        "totalSize": len(matches),
        "_links": links,
    }


@router.get("/content/{page_id}")
def get_content(page_id: str, request: Request, user: User, expand: Expand = None) -> Any:
    state = site_state(request)
    page = viewable_page(state, page_id, user)
    document = content_json(state, page, _SINGLE_DEFAULTS | _expansions(expand))
    document["_links"] |= {"base": site_base(request), "context": WIKI}
    return document


def content_json(
    state: ConfluenceState, page: PageRecord, expand: frozenset[str]
) -> dict[str, Any]:
    """A page as v1 content, with the parts `expand` names and the rest `_expandable`."""
    parts: dict[str, Callable[[], object]] = {
        "space": lambda: _space_json(state, page),
        "history": lambda: {"latest": True, "createdDate": timestamp(page.created_at)},
        "version": lambda: {
            "number": page.version,
            "when": timestamp(page.modified_at),
            "message": "",
            "minorEdit": False,
        },
        "ancestors": lambda: [_ancestor_json(ancestor) for ancestor in state.ancestors(page)],
        "body": lambda: {
            "storage": {"value": page.body, "representation": "storage", "embeddedContent": []}
        },
        "metadata": lambda: {
            "labels": {
                "results": [{"prefix": "global", "name": label} for label in page.labels],
                "size": len(page.labels),
            }
        },
    }
    wanted = {name.split(".")[0] for name in expand}
    document: dict[str, Any] = {
        "id": page.id,
        "type": "page",
        "status": page.status,
        "title": page.title,
    }
    document |= {name: build() for name, build in parts.items() if name in wanted}
    document["_expandable"] = {name: "" for name in parts if name not in wanted}
    document["_links"] = {"webui": webui(page), "tinyui": f"/x/{page.id}"}
    return document


def _space_json(state: ConfluenceState, page: PageRecord) -> dict[str, Any]:
    space = state.space(page.space_key)
    name = space.name if space else page.space_key
    space_id = int(space.id) if space else None
    return {"id": space_id, "key": page.space_key, "name": name, "type": "global"}


def _ancestor_json(page: PageRecord) -> dict[str, Any]:
    return {"id": page.id, "type": "page", "status": page.status, "title": page.title}


def _expansions(expand: str | None) -> frozenset[str]:
    return frozenset(part.strip() for part in (expand or "").split(",") if part.strip())
