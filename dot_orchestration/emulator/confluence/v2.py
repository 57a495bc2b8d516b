"""Confluence Cloud REST API v2: pages, their children and descendants.

Shapes follow developer.atlassian.com/cloud/confluence/rest/v2: list endpoints page with an
opaque `cursor` named in `_links.next` (relative to the site's origin, so it starts with
`/wiki`) and in a `Link` header; `limit` is 1..250 (default 25); `id` and `space-id` take
comma-separated lists of at most 250.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse

from dot_orchestration.emulator.confluence._api import (
    V2_PREFIX,
    ConfluenceAPIError,
    current_user,
    decode_cursor,
    encode_cursor,
    site_base,
    site_state,
    timestamp,
    viewable_page,
    webui,
    window,
    with_query,
)
from dot_orchestration.emulator.confluence.state import ConfluenceState, EmulatorUser, PageRecord

router = APIRouter(prefix=V2_PREFIX, tags=["v2"])

User = Annotated[EmulatorUser, Depends(current_user)]
Limit = Annotated[int, Query(ge=1, le=250)]
Cursor = Annotated[str | None, Query()]
BodyFormat = Annotated[str | None, Query(alias="body-format")]

_MAX_IDS = 250
_SORTS = {
    "id": lambda page: int(page.id),
    "title": lambda page: page.title.lower(),
    "created-date": lambda page: page.created_at,
    "modified-date": lambda page: page.modified_at,
}


@router.get("/pages/{page_id}")
def get_page(page_id: str, request: Request, user: User, body_format: BodyFormat = None) -> Any:
    state = site_state(request)
    page = viewable_page(state, page_id, user)
    document = page_json(state, page, _include_body(body_format))
    document["_links"]["base"] = site_base(request)
    return document


@router.get("/pages")
def list_pages(
    request: Request,
    user: User,
    page_ids: Annotated[str | None, Query(alias="id")] = None,
    space_id: Annotated[str | None, Query(alias="space-id")] = None,
    title: Annotated[str | None, Query()] = None,
    sort: Annotated[str | None, Query()] = None,
    body_format: BodyFormat = None,
    cursor: Cursor = None,
    limit: Limit = 25,
) -> JSONResponse:
    """Only pages the caller may view are listed, as in Confluence: restricted or deleted
    ids are simply absent."""
    state = site_state(request)
    pages = [page for page in state.pages() if state.can_view(page, user)]
    if page_ids is not None:
        wanted = _id_list(page_ids, "id")
        pages = [page for page in pages if page.id in wanted]
    if space_id is not None:
        space_ids = _id_list(space_id, "space-id")
        keys = {space.key for space in state.spaces() if space.id in space_ids}
        pages = [page for page in pages if page.space_key in keys]
    if title is not None:
        pages = [page for page in pages if page.title == title]
    include_body = _include_body(body_format)
    items = [page_json(state, page, include_body) for page in _sorted(pages, sort)]
    return _listing(request, items, cursor, limit)


@router.get("/pages/{page_id}/children")
@router.get("/pages/{page_id}/direct-children")
def list_children(
    page_id: str, request: Request, user: User, cursor: Cursor = None, limit: Limit = 25
) -> JSONResponse:
    state = site_state(request)
    viewable_page(state, page_id, user)
    children = [page for page in state.children(page_id) if state.can_view(page, user)]
    items = [_summary(state, page) for page in children]
    return _listing(request, items, cursor, limit)


@router.get("/pages/{page_id}/descendants")
def list_descendants(
    page_id: str,
    request: Request,
    user: User,
    depth: Annotated[int, Query(ge=1, le=10)] = 5,
    cursor: Cursor = None,
    limit: Limit = 25,
) -> JSONResponse:
    """Top to bottom (all of depth 1, then depth 2...), down to `depth` levels."""
    state = site_state(request)
    viewable_page(state, page_id, user)
    items = [
        {**_summary(state, page), "parentId": page.parent_id, "depth": level}
        for page, level in state.descendants(page_id, depth)
        if state.can_view(page, user)
    ]
    return _listing(request, items, cursor, limit)


def page_json(state: ConfluenceState, page: PageRecord, include_body: bool) -> dict[str, Any]:
    """A page as v2 returns it; the body only when `body-format=storage` was asked for."""
    space = state.space(page.space_key)
    body = {"storage": {"representation": "storage", "value": page.body}} if include_body else {}
    return {
        "id": page.id,
        "status": page.status,
        "title": page.title,
        "spaceId": space.id if space else None,
        "parentId": page.parent_id,
        "parentType": "page" if page.parent_id else None,
        "position": page.position,
        "createdAt": timestamp(page.created_at),
        "version": {
            "number": page.version,
            "message": "",
            "minorEdit": False,
            "createdAt": timestamp(page.modified_at),
        },
        "body": body,
        "_links": {"webui": webui(page), "editui": f"/pages/resumedraft.action?draftId={page.id}"},
    }


def _summary(state: ConfluenceState, page: PageRecord) -> dict[str, Any]:
    space = state.space(page.space_key)
    return {
        "id": page.id,
        "status": page.status,
        "title": page.title,
        "type": "page",
        "spaceId": space.id if space else None,
        "childPosition": page.position,
    }


def _listing(
    request: Request, items: Sequence[dict[str, Any]], cursor: str | None, limit: int
) -> JSONResponse:
    results, next_offset = window(items, decode_cursor(cursor), limit)
    base = site_base(request)
    links: dict[str, str] = {"base": base}
    headers: dict[str, str] = {}
    if next_offset is not None:
        links["next"] = with_query(request, cursor=encode_cursor(next_offset))
        headers["Link"] = f'<{links["next"]}>; rel="next", <{base}>; rel="base"'
    return JSONResponse({"results": results, "_links": links}, headers=headers)


def _include_body(body_format: str | None) -> bool:
    if body_format is None:
        return False
    if body_format == "storage":
        return True
    raise ConfluenceAPIError(400, f"the emulator serves body-format=storage only: {body_format}")


def _id_list(text: str, name: str) -> set[str]:
    ids = {part.strip() for part in text.split(",") if part.strip()}
    if len(ids) > _MAX_IDS or not all(part.isdigit() for part in ids):
        raise ConfluenceAPIError(400, f"'{name}' takes at most {_MAX_IDS} numeric ids")
    return ids


def _sorted(pages: list[PageRecord], sort: str | None) -> list[PageRecord]:
    field = (sort or "id").removeprefix("-")
    if field not in _SORTS:
        raise ConfluenceAPIError(400, f"Unsupported sort: {sort}")
    return sorted(pages, key=_SORTS[field], reverse=bool(sort and sort.startswith("-")))
