"""Where each conversation and message field may sit, and how to find it fast.

A field has many spellings (snake_case and camelCase, nested ``author.email`` or
json_normalize's flattened ``"author.email"`` key, and synonyms such as ``chat_id``).
Which of them an item can hold depends only on its key set, and the items of one export
share a handful of key sets, so the spellings present are planned once per key set
(cached) and each item costs a lookup or two per field. `take` reads a field's first
non-null spelling and records the spellings it read; `unread` is what is left for ``raw``.

Flat rows carry two kinds of fields in one object, so they are split by name. Fields named
``conversation_…``/``chat_…`` and the known conversation fields (author, title, labels, …)
belong to the conversation; ``message_…``/``msg_…`` fields, ``role``, ``content``, ``id`` and
every other unknown field belong to the message. A bare ``created_at`` belongs to whichever of
the two has no prefixed timestamp; a row whose message is a nested ``message`` object keeps all
its other fields for the conversation.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from functools import lru_cache
from typing import NamedTuple

from dot_orchestration.transforms.history._errors import Invalid

FieldPath = tuple[str, ...]
_MISSING = object()


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.capitalize() for part in rest)


def _spellings(*names: str) -> tuple[FieldPath, ...]:
    """Each name as snake_case and camelCase, nested (``a.b``) and as json_normalize's key."""
    paths: list[FieldPath] = []
    for name in names:
        for spelling in (name, ".".join(_camel(part) for part in name.split("."))):
            paths.append(tuple(spelling.split(".")))
            if "." in spelling:
                paths.append((spelling,))
    return tuple(dict.fromkeys(paths))


CONVERSATION_ID = _spellings("chat_id", "conversation_id", "id")
CREATED_AT = _spellings("created_at", "timestamp", "time")
MESSAGE_COUNT = _spellings("number_of_messages", "num_messages", "message_count", "messages_count")
# Conversation fields in reading order; a spelling earlier in a field's list wins.
CONVERSATION_FIELDS: dict[str, tuple[FieldPath, ...]] = {
    "conversation_id": CONVERSATION_ID,
    "created_at": CREATED_AT,
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
    "message_count": MESSAGE_COUNT,
}
MESSAGE_FIELDS: dict[str, tuple[FieldPath, ...]] = {
    "conversation_id": _spellings("chat_id", "conversation_id"),
    "message_index": _spellings("message_index", "index", "position"),
    "role": _spellings("role", "sender"),
    "created_at": CREATED_AT,
    "content": _spellings("content", "text", "message", "body"),
}
AUTHOR_STRINGS = ("author", "user")
VERDICT_STRING = "auto_review"  # "auto_review": "Success", the UI column's name


_CONVERSATION_PREFIXES = ("conversation", "chat")
_MESSAGE_PREFIXES = ("message", "msg")
_TIMESTAMP_KEYS = frozenset(path[0] for path in CREATED_AT)
# Keys a flat row always means for its conversation (a bare id is the message's own id).
_CONVERSATION_KEYS = (
    frozenset(path[0] for paths in CONVERSATION_FIELDS.values() for path in paths)
    - _TIMESTAMP_KEYS
    - {"id"}
)
_MESSAGE_ROW_KEYS = frozenset(("role", "content", "message"))
_MESSAGE_FIELD_KEYS = frozenset(
    (*(path[0] for paths in MESSAGE_FIELDS.values() for path in paths), "id")
)
_PLAN_CACHE_SIZE = 1024  # distinct key sets per process; exports repeat a handful


@lru_cache(maxsize=_PLAN_CACHE_SIZE)
def conversation_plan(keys: tuple[str, ...]) -> dict[str, tuple[FieldPath, ...]]:
    """Each conversation field's spellings that an item with these keys can hold.

    Items of one export share a few key sets, so this is computed once per set and the
    per-item work is a lookup or two per field instead of a scan over every spelling.
    """
    return _plan(keys, CONVERSATION_FIELDS)


class _MessagePlan(NamedTuple):
    """How to read messages with one key set.

    ``direct`` is set when each field has at most one spelling present and none is nested
    (nearly always): reading is then one lookup per field and ``rest`` is known in advance.
    """

    paths: dict[str, tuple[FieldPath, ...]]
    direct: tuple[str | None, ...] | None  # the key of each field, in `MESSAGE_FIELDS` order
    rest: tuple[str, ...]  # keys no field reads (with a direct plan)


@lru_cache(maxsize=_PLAN_CACHE_SIZE)
def _message_plan(keys: tuple[str, ...]) -> _MessagePlan:
    """`conversation_plan` for messages, which are ten times as many, with a fast path."""
    paths = _plan(keys, MESSAGE_FIELDS)
    direct = direct_keys(keys, MESSAGE_FIELDS)
    if direct is None:
        return _MessagePlan(paths, None, ())
    used = tuple(direct.values())
    return _MessagePlan(paths, used, tuple(key for key in keys if key not in used))


def direct_keys(
    keys: tuple[str, ...], fields: Mapping[str, tuple[FieldPath, ...]]
) -> dict[str, str | None] | None:
    """The one top-level key each field is read from in items with these keys (None: absent).

    None when some field has several spellings present or a nested one: reading then needs
    `take`, which tries them in order per item. Nearly every export spells each field one
    way, so a whole column can then be read from its one key (also by the DuckDB path).
    """
    paths = _plan(keys, fields)
    if any(
        len(spellings) > 1 or len(spellings[0]) > 1 for spellings in paths.values() if spellings
    ):
        return None
    return {name: spellings[0][0] if spellings else None for name, spellings in paths.items()}


def message_fields(message: Mapping[str, object]) -> tuple[list[object], dict[str, object]]:
    """The raw value of each message field (in `MESSAGE_FIELDS` order) and the unread rest."""
    plan = _message_plan(tuple(message))
    if plan.direct is not None:
        values = [None if key is None else message[key] for key in plan.direct]
        return values, {key: message[key] for key in plan.rest}
    read: list[FieldPath] = []
    values = [take(message, spellings, read)[1] for spellings in plan.paths.values()]
    return values, unread(message, read)


def _plan(
    keys: tuple[str, ...], fields: Mapping[str, tuple[FieldPath, ...]]
) -> dict[str, tuple[FieldPath, ...]]:
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
def is_message_row(keys: tuple[str, ...]) -> bool:
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
    if not is_message_row(keys):
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
        raise Invalid(
            f"flat row has a bare {', '.join(times)} and "
            f"{'both' if conversation_has else 'neither'} of a conversation_ and a message_ "
            "prefixed timestamp: cannot tell whether it is the conversation's or the message's"
        )
    (message if conversation_has else conversation).update((key, key) for key in times)


def split_row(row: Mapping[str, object]) -> tuple[dict[str, object], dict[str, object] | None]:
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


def take(
    item: Mapping[str, object], paths: tuple[FieldPath, ...], read: list[FieldPath]
) -> tuple[FieldPath | None, object]:
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


def unread(item: Mapping[str, object], read: list[FieldPath]) -> dict[str, object]:
    """What is left of ``item`` once the read paths are removed; nested objects are pruned."""
    whole = {path[0] for path in read if len(path) == 1}
    if len(whole) == len(read):
        return {key: value for key, value in item.items() if key not in whole}
    partial: dict[str, list[FieldPath]] = {}
    for path in read:
        if len(path) > 1:
            partial.setdefault(path[0], []).append(path[1:])
    left: dict[str, object] = {}
    for key, value in item.items():
        if key in whole:
            continue
        if key in partial and isinstance(value, dict):
            value = unread(value, partial[key])
            if not value:
                continue
        left[key] = value
    return left


def names(paths: Sequence[FieldPath]) -> str:
    """A field's spellings, for a message saying where it was looked for."""
    return ", ".join(dict.fromkeys(".".join(path) for path in paths))
