"""Find the list of conversations (or message rows) inside Dot's reply.

The list may be the reply itself or sit under one of a few wrapper keys, at most two
wrappers deep, with pagination and meta keys beside it. One reply is all the normaliser
sees, so a wrapper whose pagination keys say more pages follow is refused: the rows on the
other pages would be lost without a word.
"""

from __future__ import annotations

from dot_orchestration.transforms.history._errors import shape_error

_WRAPPER_KEYS = ("conversations", "data", "items", "results", "chats", "history")
_MAX_WRAPPER_DEPTH = 2
_META_KEYS = ("meta", "pagination", "paging", "page_info", "pageInfo", "links", "_links")
_NEXT_PAGE_KEYS = ("next", "next_page", "nextPage", "next_cursor", "nextCursor", "next_page_token")
_MORE_PAGES_KEYS = ("has_more", "hasMore", "has_next", "hasNext", "has_next_page", "hasNextPage")
_TOTAL_KEYS = ("total", "total_count", "totalCount", "count")


def unwrap(payload: object, where: str, depth: int) -> tuple[list[object], str]:
    """Find the list of conversations or rows, refusing a page that says more follow."""
    if isinstance(payload, list):
        return payload, where
    if isinstance(payload, dict) and depth <= _MAX_WRAPPER_DEPTH:
        keys = [key for key in _WRAPPER_KEYS if key in payload]
        if len(keys) > 1:
            raise shape_error(
                f"ambiguous wrapper object: several list keys {keys}", where=where, item=payload
            )
        if keys:
            items, inner = unwrap(payload[keys[0]], f"{where}.{keys[0]}", depth + 1)
            _refuse_partial_page(payload, len(items), where)
            return items, inner
    raise shape_error(
        "unknown top-level shape: expected a list of conversations or message rows, or an "
        f"object wrapping one under one of {list(_WRAPPER_KEYS)}",
        where=where,
        item=payload,
    )


def _refuse_partial_page(wrapper: dict[str, object], received: int, where: str) -> None:
    """One response is all this function sees: rows on later pages would be lost silently."""
    for meta in (wrapper, *(wrapper.get(key) for key in _META_KEYS)):
        if not isinstance(meta, dict):
            continue
        reasons = [f"{key}={meta[key]!r}" for key in _NEXT_PAGE_KEYS if meta.get(key)]
        reasons += [f"{key}=true" for key in _MORE_PAGES_KEYS if meta.get(key) is True]
        reasons += [
            f"{key}={meta[key]} but {received} received"
            for key in _TOTAL_KEYS
            if type(meta.get(key)) is int and meta[key] > received
        ]
        if reasons:
            raise shape_error(
                f"payload is one page of several ({', '.join(reasons)}); fetch every page and "
                "normalise them together",
                where=where,
                item={key: value for key, value in wrapper.items() if key not in _WRAPPER_KEYS},
            )
