"""Turn one window of Dot's conversation-history export into two typed tables.

`GET /api/export_history` has no documented response shape, so input is read leniently and
output is strict. Every shape a FastAPI service plausibly returns is accepted:

* a JSON list of conversations, each with a nested ``messages`` list;
* an object wrapping that list under ``conversations``, ``data``, ``items``, ``results``,
  ``chats`` or ``history`` (pagination and meta keys may sit beside it);
* flat rows, one per message, each carrying its conversation's id and fields;
* conversations without messages, carrying only a message count.

Output is the source contract of the example dbt project: `CONVERSATION_DTYPES` and
`MESSAGE_DTYPES`, timestamps in UTC, unknown fields kept as JSON text in ``raw``. Anything
that does not fit raises `HistoryShapeError` naming the item, where it sits in the payload and
why, because a row dropped from a daily export is a hole in the history that nobody notices
until a report is wrong.

A wrapper whose pagination keys say more pages follow is refused: their rows would be lost.
A conversation listed twice is merged when both copies say the same, refused otherwise.
``message_count`` is counted from the messages when they are listed (a reported count that
disagrees is kept in ``raw``), else taken as reported.

Dot's auto-review verdict is documented as a label (Issue, Abandoned, Success, OK) with a
one-line reason; "the admin usage export carries each conversation's score and reason", so
the label may arrive under a score's name. A text verdict lands in ``auto_review_label`` and
a number in ``auto_review_score``, wherever either was sent; a label not among the four
documented ones is kept as sent, since Dot may add labels and a failed partition would
lose a day of history for want of a word.

Flat rows carry two kinds of fields in one object, so they are split by name. Fields named
``conversation_…``/``chat_…`` and the known conversation fields (author, title, labels, …)
belong to the conversation; ``message_…``/``msg_…`` fields, ``role``, ``content``, ``id`` and
every other unknown field belong to the message. A bare ``created_at`` belongs to whichever of
the two has no prefixed timestamp; a row whose message is a nested ``message`` object keeps all
its other fields for the conversation.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, tzinfo
from functools import lru_cache
from typing import NamedTuple
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd

__all__ = [
    "AUTO_REVIEW_LABELS",
    "CONVERSATION_DTYPES",
    "MESSAGE_DTYPES",
    "HistoryShapeError",
    "NormalisedHistory",
    "normalise_history",
]

CONVERSATION_DTYPES: Mapping[str, str] = {
    "conversation_id": "string",
    "partition_date": "object",  # datetime.date values; pandas has no date dtype without pyarrow
    "created_at": "datetime64[ns, UTC]",
    "updated_at": "datetime64[ns, UTC]",
    "author_email": "string",
    "author_name": "string",
    "title": "string",
    "message_count": "Int64",
    "labels": "string",
    "auto_review_label": "string",
    "auto_review_score": "float64",
    "auto_review_reason": "string",
    "environment": "string",
    "workspace": "string",
    "raw": "string",
}

MESSAGE_DTYPES: Mapping[str, str] = {
    "conversation_id": "string",
    "message_index": "Int64",
    "partition_date": "object",
    "role": "string",
    "created_at": "datetime64[ns, UTC]",
    "content": "string",
    "raw": "string",
}

_EXCERPT_CHARS = 300
_WRAPPER_KEYS = ("conversations", "data", "items", "results", "chats", "history")
_MAX_WRAPPER_DEPTH = 2
_META_KEYS = ("meta", "pagination", "paging", "page_info", "pageInfo", "links", "_links")
_NEXT_PAGE_KEYS = ("next", "next_page", "nextPage", "next_cursor", "nextCursor", "next_page_token")
_MORE_PAGES_KEYS = ("has_more", "hasMore", "has_next", "hasNext", "has_next_page", "hasNextPage")
_TOTAL_KEYS = ("total", "total_count", "totalCount", "count")
_EPOCH_TEXT = re.compile(r"[+-]?\d+(\.\d*)?")

_Path = tuple[str, ...]
_Where = tuple[object, ...]  # ("$.data", 3, "messages", 2), rendered only when something fails
_MISSING = object()


class HistoryShapeError(ValueError):
    """The export does not fit the contract; nothing was normalised.

    The message says why, where (a JSON path into the payload) and shows a truncated excerpt
    of the offending item, so the unexpected shape can be read straight from a run's log.
    """

    def __init__(self, reason: str, where: str, excerpt: str) -> None:
        super().__init__(reason, where, excerpt)  # all in args: survives pickling
        self.reason = reason
        self.where = where
        self.excerpt = excerpt

    def __str__(self) -> str:
        return f"{self.reason} at {self.where}: {self.excerpt}"


@dataclass(frozen=True)
class NormalisedHistory:
    """The two tables of one export window, with exactly the contract's columns and dtypes."""

    conversations: pd.DataFrame
    messages: pd.DataFrame


def normalise_history(
    payload: object,
    *,
    window_start: datetime,
    window_end: datetime,
    tz: str | tzinfo = "UTC",
) -> NormalisedHistory:
    """Normalise a decoded export body covering ``[window_start, window_end)``.

    ``tz`` is the timezone of the partitions: ``partition_date`` is a conversation's
    ``created_at`` date there, and naive window bounds are read there. Naive timestamps in
    the payload are UTC. Messages share their conversation's ``partition_date`` so that a
    conversation and its messages are always replaced together. Rows are sorted by
    conversation ``created_at`` and id, messages by index, so the same export always gives
    the same frames.

    Raises `HistoryShapeError` for anything that cannot be normalised whole, including a
    conversation created outside the window, and `ValueError` for an empty window.
    """
    zone = ZoneInfo(tz) if isinstance(tz, str) else tz
    start, end = _window(window_start, window_end, zone)
    items, where = _unwrap(payload, "$", 0)
    conversations = _read_items(items, where)
    return _build(conversations, start, end, zone)


# --- reading the payload ------------------------------------------------------------------


class _Invalid(Exception):
    """A value does not fit its field; the caller adds where it was found."""


class _Message(NamedTuple):
    message_index: int  # not `index`, which would hide tuple.index
    role: str | None
    created_at: object  # as received; parsed column-wise later
    content: str | None
    raw: str
    item: object
    where: _Where

    def same_as(self, other: _Message) -> bool:
        """Equal in everything the tables keep (not where it was found)."""
        return self[:5] == other[:5]


@dataclass
class _Conversation:
    values: dict[str, object]  # typed, except timestamps (parsed column-wise later)
    raw: dict[str, object]
    count: int | None  # the count the payload reported
    count_field: tuple[str, object] | None  # its key and value as received
    messages: list[_Message] | None  # None: the payload did not list them
    item: object
    where: _Where

    def same_as(self, other: _Conversation) -> bool:
        """Equal in everything the tables keep (not where it was found)."""
        return (self.values, self.raw, self.count, self.count_field) == (
            other.values,
            other.raw,
            other.count,
            other.count_field,
        )


def _unwrap(payload: object, where: str, depth: int) -> tuple[list[object], str]:
    """Find the list of conversations or rows, refusing a page that says more follow."""
    if isinstance(payload, list):
        return payload, where
    if isinstance(payload, dict) and depth <= _MAX_WRAPPER_DEPTH:
        keys = [key for key in _WRAPPER_KEYS if key in payload]
        if len(keys) > 1:
            raise _shape_error(
                f"ambiguous wrapper object: several list keys {keys}", where=where, item=payload
            )
        if keys:
            items, inner = _unwrap(payload[keys[0]], f"{where}.{keys[0]}", depth + 1)
            _refuse_partial_page(payload, len(items), where)
            return items, inner
    raise _shape_error(
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
            raise _shape_error(
                f"payload is one page of several ({', '.join(reasons)}); fetch every page and "
                "normalise them together",
                where=where,
                item={key: value for key, value in wrapper.items() if key not in _WRAPPER_KEYS},
            )


def _read_items(items: list[object], where: str) -> list[_Conversation]:
    """Read conversations (nested or count-only) or flat message rows, never a mix."""
    objects = _objects(items, where)
    flat: int | None = None
    nested: int | None = None
    for position, item in enumerate(objects):
        if "messages" in item:
            nested = position if nested is None else nested
        elif flat is None and _is_message_row(tuple(item)):
            flat = position
    if flat is None:
        return _read_conversations(objects, where)
    if nested is not None:
        raise _shape_error(
            f"payload mixes conversations with nested messages ({where}[{nested}]) and flat "
            "message rows",
            where=f"{where}[{flat}]",
            item=objects[flat],
        )
    return _read_flat_rows(objects, where)


def _objects(items: list[object], where: str) -> list[dict[str, object]]:
    for position, item in enumerate(items):
        if not isinstance(item, dict):
            raise _shape_error(
                f"expected an object, got {type(item).__name__}",
                where=f"{where}[{position}]",
                item=item,
            )
    return items  # type: ignore[return-value]  # every item was just checked


def _read_conversations(items: list[dict[str, object]], where: str) -> list[_Conversation]:
    """Shapes (a), (b) and (d): one object per conversation; identical repeats are merged."""
    by_id: dict[str, _Conversation] = {}
    for position, item in enumerate(items):
        _add_once(by_id, _read_conversation(item, (where, position), item=item))
    return list(by_id.values())


def _add_once(by_id: dict[str, _Conversation], conversation: _Conversation) -> None:
    """A repeated id is merged when it says the same thing and refused when it does not."""
    key = str(conversation.values["conversation_id"])
    seen = by_id.get(key)
    if seen is None:
        by_id[key] = conversation
    elif not (seen.same_as(conversation) and _same_messages(seen, conversation)):
        raise _shape_error(
            f"conversation {key!r} appears twice with different content (first at "
            f"{_render(seen.where)})",
            where=_render(conversation.where),
            item=conversation.item,
        )


def _same_messages(first: _Conversation, second: _Conversation) -> bool:
    if first.messages is None or second.messages is None:
        return first.messages is second.messages
    return len(first.messages) == len(second.messages) and all(
        one.same_as(other) for one, other in zip(first.messages, second.messages, strict=True)
    )


def _read_flat_rows(rows: list[dict[str, object]], where: str) -> list[_Conversation]:
    """Shape (c): group message rows by conversation; their conversation fields must agree."""
    by_id: dict[str, _Conversation] = {}
    first_part: dict[str, dict[str, object]] = {}
    for position, row in enumerate(rows):
        row_where = (where, position)
        try:
            conversation_part, message_part = _split_row(row)
        except _Invalid as error:
            raise _shape_error(str(error), where=_render(row_where), item=row) from None
        conversation = _conversation_of_row(by_id, first_part, conversation_part, row, row_where)
        if message_part is None:
            continue
        if conversation.messages is None:
            conversation.messages = []
        if any(value is not None for value in message_part.values()):
            conversation.messages.append(
                _read_message(
                    message_part,
                    len(conversation.messages),
                    str(conversation.values["conversation_id"]),
                    row,
                    row_where,
                )
            )
    return list(by_id.values())


def _conversation_of_row(
    by_id: dict[str, _Conversation],
    first_part: dict[str, dict[str, object]],
    part: dict[str, object],
    row: dict[str, object],
    where: _Where,
) -> _Conversation:
    """The row's conversation, read once; later rows are compared cheaply, parsed if unequal."""
    _, raw_id = _take(part, _conversation_plan(tuple(part))["conversation_id"], [])
    key = None if raw_id is None else str(raw_id)
    if key is not None and first_part.get(key) == part:
        return by_id[key]
    conversation = _read_conversation(part, where, item=row)
    key = str(conversation.values["conversation_id"])
    seen = by_id.get(key)
    if seen is None:
        by_id[key] = conversation
        first_part[key] = part
        return conversation
    if not seen.same_as(conversation):
        raise _shape_error(
            f"rows of conversation {key!r} disagree on its fields (first row at "
            f"{_render(seen.where)})",
            where=_render(where),
            item=row,
        )
    return seen


# --- field spellings ----------------------------------------------------------------------


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.capitalize() for part in rest)


def _spellings(*names: str) -> tuple[_Path, ...]:
    """Each name as snake_case and camelCase, nested (``a.b``) and as json_normalize's key."""
    paths: list[_Path] = []
    for name in names:
        for spelling in (name, ".".join(_camel(part) for part in name.split("."))):
            paths.append(tuple(spelling.split(".")))
            if "." in spelling:
                paths.append((spelling,))
    return tuple(dict.fromkeys(paths))


_CONVERSATION_ID = _spellings("chat_id", "conversation_id", "id")
_CREATED_AT = _spellings("created_at", "timestamp", "time")
_MESSAGE_COUNT = _spellings("number_of_messages", "num_messages", "message_count", "messages_count")
# Conversation fields in reading order; a spelling earlier in a field's list wins.
_CONVERSATION_FIELDS: dict[str, tuple[_Path, ...]] = {
    "conversation_id": _CONVERSATION_ID,
    "created_at": _CREATED_AT,
    "updated_at": _spellings("updated_at", "last_updated_at", "modified_at"),
    "author_email": _spellings("user_email", "author_email", "author.email", "user.email"),
    "author_name": _spellings(
        "user_name", "author_name", "author.name", "user.name", "author.realname", "user.realname"
    ),
    "title": _spellings("title"),
    "labels": _spellings("labels"),
    "auto_review_label": _spellings("auto_review_label", "auto_review.label", "review_label"),
    "auto_review_score": _spellings(
        "auto_review_score", "auto_review.score", "review_score", "score"
    ),
    "auto_review_reason": _spellings(
        "auto_review_reason", "auto_review.reason", "review_reason", "reason"
    ),
    "environment": _spellings("environment", "environment_id"),
    "workspace": _spellings("workspace", "workspace_id"),
    "message_count": _MESSAGE_COUNT,
}
_MESSAGE_FIELDS: dict[str, tuple[_Path, ...]] = {
    "conversation_id": _spellings("chat_id", "conversation_id"),
    "message_index": _spellings("message_index", "index", "position"),
    "role": _spellings("role", "sender"),
    "created_at": _CREATED_AT,
    "content": _spellings("content", "text", "message", "body"),
}
_AUTHOR_STRINGS = ("author", "user")
_VERDICT_STRING = "auto_review"  # "auto_review": "Success", the UI column's name
#: The verdicts Dot documents (Maintaining Dot → "Let Dot tell you where it failed").
AUTO_REVIEW_LABELS = ("Issue", "Abandoned", "Success", "OK")

_CONVERSATION_PREFIXES = ("conversation", "chat")
_MESSAGE_PREFIXES = ("message", "msg")
_TIMESTAMP_KEYS = frozenset(path[0] for path in _CREATED_AT)
# Keys a flat row always means for its conversation (a bare id is the message's own id).
_CONVERSATION_KEYS = (
    frozenset(path[0] for paths in _CONVERSATION_FIELDS.values() for path in paths)
    - _TIMESTAMP_KEYS
    - {"id"}
)
_MESSAGE_ROW_KEYS = frozenset(("role", "content", "message"))
_MESSAGE_FIELD_KEYS = frozenset(
    (*(path[0] for paths in _MESSAGE_FIELDS.values() for path in paths), "id")
)
_PLAN_CACHE_SIZE = 1024  # distinct key sets per process; exports repeat a handful


@lru_cache(maxsize=_PLAN_CACHE_SIZE)
def _conversation_plan(keys: tuple[str, ...]) -> dict[str, tuple[_Path, ...]]:
    """Each conversation field's spellings that an item with these keys can hold.

    Items of one export share a few key sets, so this is computed once per set and the
    per-item work is a lookup or two per field instead of a scan over every spelling.
    """
    return _plan(keys, _CONVERSATION_FIELDS)


class _MessagePlan(NamedTuple):
    """How to read messages with one key set.

    ``direct`` is set when each field has at most one spelling present and none is nested
    (nearly always): reading is then one lookup per field and ``rest`` is known in advance.
    """

    paths: dict[str, tuple[_Path, ...]]
    direct: tuple[str | None, ...] | None  # the key of each field, in `_MESSAGE_FIELDS` order
    rest: tuple[str, ...]  # keys no field reads (with a direct plan)


@lru_cache(maxsize=_PLAN_CACHE_SIZE)
def _message_plan(keys: tuple[str, ...]) -> _MessagePlan:
    """`_conversation_plan` for messages, which are ten times as many, with a fast path."""
    paths = _plan(keys, _MESSAGE_FIELDS)
    if any(
        len(spellings) > 1 or len(spellings[0]) > 1 for spellings in paths.values() if spellings
    ):
        return _MessagePlan(paths, None, ())
    direct = tuple(spellings[0][0] if spellings else None for spellings in paths.values())
    return _MessagePlan(paths, direct, tuple(key for key in keys if key not in direct))


def _message_fields(message: Mapping[str, object]) -> tuple[list[object], dict[str, object]]:
    """The raw value of each message field (in `_MESSAGE_FIELDS` order) and the unread rest."""
    plan = _message_plan(tuple(message))
    if plan.direct is not None:
        values = [None if key is None else message[key] for key in plan.direct]
        return values, {key: message[key] for key in plan.rest}
    read: list[_Path] = []
    values = [_take(message, spellings, read)[1] for spellings in plan.paths.values()]
    return values, _unread(message, read)


def _plan(
    keys: tuple[str, ...], fields: Mapping[str, tuple[_Path, ...]]
) -> dict[str, tuple[_Path, ...]]:
    present = set(keys)
    return {
        name: tuple(path for path in paths if path[0] in present) for name, paths in fields.items()
    }


def _strip_prefix(key: str, prefixes: tuple[str, ...]) -> str | None:
    """``message_role``/``message.role``/``messageRole`` → ``role``; None when unprefixed."""
    for prefix in prefixes:
        if key.startswith(prefix) and len(key) > len(prefix) + 1:
            rest = key[len(prefix) :]
            if rest[0] in "_.":
                return rest[1:]
            if rest[0].isupper():
                return rest[0].lower() + rest[1:]
    return None


@lru_cache(maxsize=_PLAN_CACHE_SIZE)
def _is_message_row(keys: tuple[str, ...]) -> bool:
    """A row is a message when it names one: ``role``, ``content``, ``message_id``, ….

    Only known message fields count, so a conversation's ``message_preview`` does not turn
    it into a message.
    """
    return any(_names_a_message_field(key) for key in keys)


def _names_a_message_field(key: str) -> bool:
    if key in _MESSAGE_ROW_KEYS:
        return True
    if key in _CONVERSATION_KEYS:  # message_count
        return False
    return _strip_prefix(key, _MESSAGE_PREFIXES) in _MESSAGE_FIELD_KEYS


class _RowPlan(NamedTuple):
    """Which keys of a flat row go to its conversation and which to its message."""

    conversation: tuple[tuple[str, str], ...]  # (key in the row, name for the conversation)
    message: tuple[tuple[str, str], ...] | None  # None: the row holds no message


@lru_cache(maxsize=_PLAN_CACHE_SIZE)
def _row_plan(keys: tuple[str, ...]) -> _RowPlan:
    """Split a flat row's keys (see the module docstring); depends on the key set only."""
    if not _is_message_row(keys):
        return _RowPlan(tuple((key, key) for key in keys), None)
    conversation: dict[str, str] = {}  # name → key
    message: dict[str, str] = {}
    bare_times: list[str] = []
    prefixed: list[tuple[dict[str, str], str, str]] = []
    for key in keys:
        if key in _CONVERSATION_KEYS:
            conversation[key] = key
        elif (name := _strip_prefix(key, _MESSAGE_PREFIXES)) is not None:
            prefixed.append((message, name, key))
        elif (name := _strip_prefix(key, _CONVERSATION_PREFIXES)) is not None:
            prefixed.append((conversation, name, key))
        elif key in _TIMESTAMP_KEYS:
            bare_times.append(key)
        else:
            message[key] = key
    for side, name, key in prefixed:  # a name already taken keeps its prefix
        side[key if name in side else name] = key
    if bare_times:
        _place_bare_times(bare_times, conversation, message)
    return _RowPlan(
        tuple((key, name) for name, key in conversation.items()),
        tuple((key, name) for name, key in message.items()),
    )


def _place_bare_times(
    times: list[str], conversation: dict[str, str], message: dict[str, str]
) -> None:
    """A bare ``created_at`` belongs to the one side that has no prefixed timestamp."""
    conversation_has = not _TIMESTAMP_KEYS.isdisjoint(conversation)
    message_has = not _TIMESTAMP_KEYS.isdisjoint(message)
    if conversation_has == message_has:
        raise _Invalid(
            f"flat row has a bare {', '.join(times)} and "
            f"{'both' if conversation_has else 'neither'} of a conversation_ and a message_ "
            "prefixed timestamp: cannot tell whether it is the conversation's or the message's"
        )
    (message if conversation_has else conversation).update((key, key) for key in times)


def _split_row(row: Mapping[str, object]) -> tuple[dict[str, object], dict[str, object] | None]:
    """A flat row's conversation fields and message fields (None: the row has no message).

    A row whose message is a nested ``message`` object keeps every other field for the
    conversation.
    """
    nested = row.get("message")
    if isinstance(nested, dict):
        return {key: value for key, value in row.items() if key != "message"}, nested
    plan = _row_plan(tuple(row))
    conversation = {name: row[key] for key, name in plan.conversation}
    if plan.message is None:
        return conversation, None
    return conversation, {name: row[key] for key, name in plan.message}


# --- one conversation, one message --------------------------------------------------------


def _take(
    item: Mapping[str, object], paths: tuple[_Path, ...], read: list[_Path]
) -> tuple[_Path | None, object]:
    """The first non-null value among a field's spellings, and its spelling.

    Every spelling present up to that one is recorded in ``read``: a null says "no value",
    which the typed column already records, so it need not clutter ``raw``. Spellings after
    the one used stay unread and so land in ``raw``.
    """
    for path in paths:
        value = item[path[0]]
        for key in path[1:]:
            value = value.get(key, _MISSING) if isinstance(value, dict) else _MISSING
        if value is _MISSING:
            continue
        read.append(path)
        if value is not None:
            return path, value
    return None, None


def _unread(item: Mapping[str, object], read: list[_Path]) -> dict[str, object]:
    """What is left of ``item`` once the read paths are removed; nested objects are pruned."""
    whole = {path[0] for path in read if len(path) == 1}
    if len(whole) == len(read):
        return {key: value for key, value in item.items() if key not in whole}
    partial: dict[str, list[_Path]] = {}
    for path in read:
        if len(path) > 1:
            partial.setdefault(path[0], []).append(path[1:])
    left: dict[str, object] = {}
    for key, value in item.items():
        if key in whole:
            continue
        if key in partial and isinstance(value, dict):
            value = _unread(value, partial[key])
            if not value:
                continue
        left[key] = value
    return left


def _read_conversation(
    part: Mapping[str, object], where: _Where, *, item: dict[str, object]
) -> _Conversation:
    """One conversation object (or a flat row's conversation fields) into typed values."""
    try:
        return _conversation_values(part, where, item)
    except _Invalid as error:
        raise _shape_error(str(error), where=_render(where), item=item) from None


def _as_received(value: object, field: str) -> object:
    """Timestamps are parsed later, a whole column at a time (`_utc_column`)."""
    return value


_CONVERTERS: dict[str, Callable[[object, str], object]] = {
    "conversation_id": lambda value, _: _identifier(value),
    "created_at": _as_received,
    "updated_at": _as_received,
    "labels": lambda value, _: _labels(value),
    "auto_review_label": lambda value, field: None if value is None else _label_text(value, field),
    "auto_review_score": _as_received,  # a number or a label: split by `_verdict`
}


def _conversation_values(part: Mapping[str, object], where: _Where, item: object) -> _Conversation:
    plan = _conversation_plan(tuple(part))
    read: list[_Path] = []
    values = {
        name: _CONVERTERS.get(name, _text)(_take(part, plan[name], read)[1], name)
        for name in _CONVERSATION_FIELDS
        if name != "message_count"
    }
    if values["created_at"] is None:
        raise _Invalid(f"conversation has no created_at (looked for {_names(_CREATED_AT)})")
    _author_from_string(part, values, read)
    _verdict(part, values, read)
    count_path, count_value = _take(part, plan["message_count"], read)
    messages = None
    if not _is_count(part.get("messages")):
        messages = _nested_messages(part, str(values["conversation_id"]), where, read)
    elif count_path is None:  # "messages": 12 is the count; beside another count, it is raw
        count_path, count_value = _take(part, (("messages",),), read)
    return _Conversation(
        values=values,
        raw=_unread(part, read),
        count=None if count_path is None else _count(count_value),
        count_field=None if count_path is None else (count_path[0], count_value),
        messages=messages,
        item=item,
        where=where,
    )


def _author_from_string(
    part: Mapping[str, object], values: dict[str, object], read: list[_Path]
) -> None:
    """``"author": "ana@example.com"`` is an email; ``"author": "Ana"`` a name."""
    if values["author_email"] is not None or values["author_name"] is not None:
        return
    for key in _AUTHOR_STRINGS:
        author = part.get(key)
        if isinstance(author, str):
            values["author_email" if "@" in author else "author_name"] = author
            read.append((key,))
            return


def _verdict(part: Mapping[str, object], values: dict[str, object], read: list[_Path]) -> None:
    """The auto-review verdict into its two columns: text is a label, a number a score.

    A label sent both as a label and under a score's name must agree; a bare
    ``"auto_review": "<label>"`` counts when no other spelling gave one.
    """
    sent = values["auto_review_score"]
    score = _score(sent) if sent is not None else None
    label = values["auto_review_label"]
    if score is None and sent is not None:
        label_in_score = _label_text(sent, "auto_review_score")
        if label is not None and label_in_score != label:
            raise _Invalid(f"auto-review verdict sent twice, as {label!r} and {label_in_score!r}")
        label = label_in_score
    if label is None and isinstance(part.get(_VERDICT_STRING), str):
        label = _label_text(part[_VERDICT_STRING], _VERDICT_STRING)
        read.append((_VERDICT_STRING,))
    values["auto_review_score"] = score
    values["auto_review_label"] = label


def _is_count(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _nested_messages(
    part: Mapping[str, object], conversation_id: str, where: _Where, read: list[_Path]
) -> list[_Message] | None:
    """The ``messages`` list, if the conversation carries one."""
    messages = part.get("messages")
    if "messages" in part:
        read.append(("messages",))
    if messages is None:
        return None
    if not isinstance(messages, list):
        raise _Invalid(f"messages must be a list, got {type(messages).__name__}")
    return [
        _read_message(message, position, conversation_id, message, (*where, "messages", position))
        for position, message in enumerate(messages)
    ]


def _read_message(
    message: object, position: int, conversation_id: str, item: object, where: _Where
) -> _Message:
    """One message object (or a flat row's message fields) into typed values."""
    if not isinstance(message, dict):
        raise _shape_error(
            f"expected a message object, got {type(message).__name__}",
            where=_render(where),
            item=message,
        )
    (parent, index, role, created_at, content), rest = _message_fields(message)
    try:
        if parent is not None and str(parent) != conversation_id:
            raise _Invalid(f"message names conversation {parent!r}, not {conversation_id!r}")
        return _Message(
            position if index is None else _count(index, "message_index"),
            _text(role, "role"),
            created_at,
            _content(content),
            _raw_json(rest),
            item,
            where,
        )
    except _Invalid as error:
        raise _shape_error(str(error), where=_render(where), item=item) from None


# --- values -------------------------------------------------------------------------------


def _identifier(value: object) -> str:
    if isinstance(value, bool) or not isinstance(value, (str, int)) or value == "":
        raise _Invalid(
            f"conversation has no usable id (looked for {_names(_CONVERSATION_ID)}, got {value!r})"
        )
    return str(value)


def _text(value: object, field: str) -> str | None:
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return str(value)
    raise _Invalid(f"{field} must be text, got {type(value).__name__} {value!r}")


def _content(value: object) -> str | None:
    """Structured content (a list of parts, an object) is kept whole as JSON text."""
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, (dict, list)):
        return _json(value)
    return _text(value, "content")


def _count(value: object, field: str = "message count") -> int:
    if (isinstance(value, float) and value.is_integer()) or (
        isinstance(value, str) and value.strip().isdigit()
    ):
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise _Invalid(f"{field} must be a non-negative integer, got {value!r}")
    return value


def _score(value: object) -> float | None:
    """A numeric verdict (a number or a numeric string); None when it is not one."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            return None
    return None


def _label_text(value: object, field: str) -> str | None:
    """A text verdict, stripped (None when blank); anything else is refused, naming the
    documented labels."""
    if isinstance(value, str):
        return value.strip() or None
    raise _Invalid(
        f"{field} must be a number or one of Dot's auto-review labels "
        f"({', '.join(AUTO_REVIEW_LABELS)}), got {value!r}"
    )


def _labels(value: object) -> str | None:
    """A list of names (or of ``{name: …}`` objects) or a comma-separated string, as JSON."""
    if value is None:
        return None
    if isinstance(value, str):
        return _json([label.strip() for label in value.split(",") if label.strip()])
    if isinstance(value, list):
        return _json([_label(label) for label in value])
    raise _Invalid(f"labels must be a list or a comma-separated string, got {value!r}")


def _label(value: object) -> str:
    if isinstance(value, dict):
        value = value.get("name", value.get("label"))
    if not isinstance(value, str):
        raise _Invalid(f"a label must be a name, got {value!r}")
    return value


_ENCODER = json.JSONEncoder(sort_keys=True, ensure_ascii=False, default=str)


def _json(value: object) -> str:
    """One encoder for the whole module: `json.dumps` with options builds one per call."""
    return _ENCODER.encode(value)


def _raw_json(raw: dict[str, object]) -> str:
    """Most messages have no unknown fields: skip the encoder for them."""
    return _json(raw) if raw else "{}"


# --- building the frames ------------------------------------------------------------------


def _window(start: datetime, end: datetime, zone: tzinfo) -> tuple[pd.Timestamp, pd.Timestamp]:
    bounds = [
        pd.Timestamp(bound if bound.tzinfo else bound.replace(tzinfo=zone)).tz_convert("UTC")
        for bound in (start, end)
    ]
    if bounds[0] >= bounds[1]:
        raise ValueError(f"empty export window: start {start} is not before end {end}")
    return bounds[0], bounds[1]


def _build(
    conversations: list[_Conversation], start: pd.Timestamp, end: pd.Timestamp, zone: tzinfo
) -> NormalisedHistory:
    """Columns are built as lists in one pass each; the frames are made once, typed once."""
    created = _utc_column(
        [c.values["created_at"] for c in conversations],
        "created_at",
        lambda pos: conversations[pos],
    )
    _check_window(created, start, end, conversations)
    nanos = created.asi8
    order = sorted(
        range(len(conversations)),
        key=lambda pos: (nanos[pos], conversations[pos].values["conversation_id"]),
    )
    conversations = [conversations[pos] for pos in order]
    created = created[order]
    dates = np.asarray(created.tz_convert(zone).date, dtype=object)
    for conversation in conversations:
        conversation.messages = _ordered_messages(conversation)
    return NormalisedHistory(
        conversations=_conversation_frame(conversations, created, dates),
        messages=_message_frame(conversations, dates),
    )


def _check_window(
    created: pd.DatetimeIndex,
    start: pd.Timestamp,
    end: pd.Timestamp,
    conversations: list[_Conversation],
) -> None:
    outside = np.flatnonzero((created < start) | (created >= end))
    if len(outside):
        first = conversations[outside[0]]
        raise _shape_error(
            f"conversation created at {created[outside[0]].isoformat()} is outside the export "
            f"window [{start.isoformat()}, {end.isoformat()}) ({len(outside)} such "
            "conversations)",
            where=_render(first.where),
            item=first.item,
        )


def _ordered_messages(conversation: _Conversation) -> list[_Message] | None:
    """Messages by index; an index seen twice is merged if identical, refused if not."""
    if not conversation.messages:
        return conversation.messages
    by_index: dict[int, _Message] = {}
    for message in conversation.messages:
        seen = by_index.setdefault(message.message_index, message)
        if seen is not message and not seen.same_as(message):
            raise _shape_error(
                f"conversation {conversation.values['conversation_id']!r} has two different "
                f"messages with index {message.message_index} (first at {_render(seen.where)})",
                where=_render(message.where),
                item=message.item,
            )
    return [by_index[index] for index in sorted(by_index)]


def _conversation_frame(
    conversations: list[_Conversation], created: pd.DatetimeIndex, dates: np.ndarray
) -> pd.DataFrame:
    columns: dict[str, object] = {
        "conversation_id": [c.values["conversation_id"] for c in conversations],
        "partition_date": dates,
        "created_at": created,
        "updated_at": _utc_column(
            [c.values["updated_at"] for c in conversations],
            "updated_at",
            lambda pos: conversations[pos],
        ),
    }
    for name in ("author_email", "author_name", "title"):
        columns[name] = [c.values[name] for c in conversations]
    columns["message_count"] = [_message_count(c) for c in conversations]
    verdict = ("auto_review_label", "auto_review_score", "auto_review_reason")
    for name in ("labels", *verdict, "environment", "workspace"):
        columns[name] = [c.values[name] for c in conversations]
    columns["raw"] = [_conversation_raw(c) for c in conversations]
    return _frame(columns, CONVERSATION_DTYPES)


def _message_count(conversation: _Conversation) -> int | None:
    """Counted from the messages when the payload lists them, else as reported."""
    if conversation.messages is None:
        return conversation.count
    return len(conversation.messages)


def _conversation_raw(conversation: _Conversation) -> str:
    """Unknown fields; a reported count that disagrees with the messages is kept here too."""
    raw = conversation.raw
    field = conversation.count_field
    if (
        field
        and conversation.messages is not None
        and conversation.count != len(conversation.messages)
    ):
        raw = {**raw, field[0]: field[1]}
    return _raw_json(raw)


def _message_frame(conversations: list[_Conversation], dates: np.ndarray) -> pd.DataFrame:
    messages = [m for c in conversations if c.messages for m in c.messages]
    counts = [len(c.messages or ()) for c in conversations]
    ids = np.asarray([c.values["conversation_id"] for c in conversations], dtype=object)
    columns: dict[str, object] = {
        "conversation_id": np.repeat(ids, counts),
        "message_index": [m.message_index for m in messages],
        "partition_date": np.repeat(dates, counts),
        "role": [m.role for m in messages],
        "created_at": _utc_column(
            [m.created_at for m in messages], "message created_at", lambda pos: messages[pos]
        ),
        "content": [m.content for m in messages],
        "raw": [m.raw for m in messages],
    }
    return _frame(columns, MESSAGE_DTYPES)


def _frame(columns: dict[str, object], dtypes: Mapping[str, str]) -> pd.DataFrame:
    """Each column is built in its final dtype: five times faster than one `astype` after."""
    return pd.DataFrame(
        {name: pd.array(columns[name], dtype=dtype) for name, dtype in dtypes.items()}, copy=False
    )


def _utc_column(
    values: list[object],
    field: str,
    source: Callable[[int], _Conversation | _Message],
) -> pd.DatetimeIndex:
    """ISO strings in one vectorised pass; epochs, digit strings and datetimes one by one."""
    text = [value if isinstance(value, str) else None for value in values]
    parsed = pd.to_datetime(text, format="ISO8601", utc=True, errors="coerce")
    nanos = parsed.asi8.copy()
    missed = np.flatnonzero(parsed.isna())
    for pos in map(int, missed):
        value = values[pos]
        if value is None:
            continue
        instant = _instant(value)
        if instant is None:
            origin = source(pos)
            raise _shape_error(
                f"unparseable {field} {value!r}", where=_render(origin.where), item=origin.item
            )
        nanos[pos] = instant
    return pd.DatetimeIndex(nanos.view("M8[ns]")).tz_localize("UTC")


def _instant(value: object) -> int | None:
    """Nanoseconds since the epoch, or None when the value is no point in time.

    Epoch numbers are read as seconds below 1e11 (year 5138), milliseconds below 1e14,
    microseconds below 1e17, nanoseconds above. Naive datetimes are UTC.
    """
    if isinstance(value, str) and _EPOCH_TEXT.fullmatch(value.strip()):
        value = float(value)
    try:
        if isinstance(value, datetime):
            stamp = pd.Timestamp(value)
            return int((stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp).value)
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            if not math.isfinite(value):
                return None
            magnitude = abs(value)
            unit = "s" if magnitude < 1e11 else "ms" if magnitude < 1e14 else "us"
            unit = unit if magnitude < 1e17 else "ns"
            return int(pd.Timestamp(value, unit=unit).value)
    except (OverflowError, ValueError, pd.errors.OutOfBoundsDatetime):
        return None
    return None


# --- messages for people ------------------------------------------------------------------


def _shape_error(reason: str, *, where: str, item: object) -> HistoryShapeError:
    return HistoryShapeError(reason, where, _excerpt(item))


def _render(where: _Where) -> str:
    """``("$.data", 3, "messages", 2)`` → ``$.data[3].messages[2]``."""
    return "".join(
        f"[{part}]" if isinstance(part, int) else (str(part) if pos == 0 else f".{part}")
        for pos, part in enumerate(where)
    )


def _names(paths: Sequence[_Path]) -> str:
    return ", ".join(dict.fromkeys(".".join(path) for path in paths))


def _excerpt(item: object) -> str:
    text = json.dumps(item, sort_keys=True, ensure_ascii=False, default=repr)
    if len(text) <= _EXCERPT_CHARS:
        return text
    return f"{text[:_EXCERPT_CHARS]}… ({len(text)} characters)"
