"""Which export bodies the DuckDB path may map, decided from their shape alone.

DuckDB describes a body in one pass each: its structure (`json_structure`: every key with
the JSON type of all its values, merged; ``JSON`` where they differ) and the key list of
every conversation and every message (`json_keys`, duplicates kept). From these, and the
spellings `_fields` knows, `plan_for` decides whether every value of the body can be mapped
column-wise to exactly the Python path's result, and how: the one key each field is read
from, its type, and the unknown keys going into ``raw``.

What it proves is narrow on purpose: a list of conversations with nested ``messages``, each
field spelt one way, values of the types below, no duplicate keys (JSON parsers disagree on
which copy wins). Anything else (wrappers, flat rows, counts without messages, nested or
several spellings, structured content, numbers as text, labels as text, a verdict under a
score's name) gives None, and the body takes the Python path, unchanged. The values are
checked row by row in SQL afterwards (ids present, timestamps ISO 8601, inside the window,
indexes unique, …); a body failing any of those takes the Python path too, which then
gives its result or its error.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from dot_orchestration.transforms.history._fields import (
    CONVERSATION_FIELDS,
    MESSAGE_FIELDS,
    FieldPath,
    direct_keys,
)

# Types as `json_structure` names them.
NULL, TEXT, BOOLEAN = "NULL", "VARCHAR", "BOOLEAN"
NATURAL = "UBIGINT"  # every value a non-negative integer
INTEGER = "BIGINT"  # integers, some negative
NUMBER = "DOUBLE"
MESSAGES = "messages"

Kind = str | tuple[str]  # a type, or a list's element type

_TEXT: frozenset[Kind] = frozenset((NULL, TEXT))
_COUNT: frozenset[Kind] = frozenset((NULL, NATURAL))
# What each field may hold for the Python path's conversion to be a plain SQL one.
_CONVERSATION_TYPES: Mapping[str, frozenset[Kind]] = {
    **dict.fromkeys(CONVERSATION_FIELDS, _TEXT),
    "labels": frozenset((NULL, (NULL,), (TEXT,))),  # a list of names (or only empty lists)
    "auto_review_score": frozenset((NULL, NATURAL, INTEGER, NUMBER)),
    "message_count": _COUNT,
}
_MESSAGE_TYPES: Mapping[str, frozenset[Kind]] = {
    **dict.fromkeys(MESSAGE_FIELDS, _TEXT),
    "message_index": _COUNT,
}
#: Unknown fields are kept in ``raw`` as JSON text; these types encode the same in SQL as
#: in Python's `json` (floats would not: their shortest forms differ in places).
UNKNOWN_TYPES: frozenset[Kind] = frozenset((NULL, TEXT, BOOLEAN, NATURAL, INTEGER))


@dataclass(frozen=True)
class Unknown:
    """A key no field reads: kept in ``raw`` when an item has it (a null value included)."""

    key: str
    kind: str
    everywhere: bool  # every item has it, so no item's key list need be looked at


@dataclass(frozen=True)
class ItemPlan:
    """How to read one kind of item (conversation or message) column-wise."""

    fields: tuple[tuple[str, str | None], ...]  # (field, the key it is read from or None)
    kinds: tuple[tuple[str, Kind], ...]  # (key, its type) for every key a field reads
    unknown: tuple[Unknown, ...]  # in ``raw``'s order (sorted, as `json.dumps` sorts)

    def key(self, field: str) -> str | None:
        return dict(self.fields)[field]

    def target(self) -> dict[str, object]:
        """The `json_transform` structure reading every key of the items."""
        kinds = [*self.kinds, *((unknown.key, unknown.kind) for unknown in self.unknown)]
        return {
            key: [_typed(kind[0])] if isinstance(kind, tuple) else _typed(kind)
            for key, kind in kinds
        }


@dataclass(frozen=True)
class Plan:
    conversation: ItemPlan
    message: ItemPlan

    def target(self) -> str:
        """The `json_transform` structure reading a conversation: every key of it and of
        each of its messages."""
        item = self.conversation.target()
        item[MESSAGES] = [self.message.target() or {"role": TEXT}]  # no message anywhere
        return json.dumps(item)


def plan_for(
    structure: str,
    conversation_keys: Sequence[Sequence[str]] | None = None,
    message_keys: Sequence[Sequence[str]] | None = None,
) -> Plan | None:
    """How to map a body with this structure and these key lists; None when not provable.

    ``conversation_keys`` and ``message_keys`` are the distinct key lists of its items;
    without them every item is taken to have every key of the structure, once, which the
    caller must prove while it reads them (`json_transform_strict` refuses them otherwise).
    """
    shape = json.loads(structure)
    if not (isinstance(shape, list) and len(shape) == 1):
        return None  # not a list of conversations (a wrapper object, say)
    item = {MESSAGES: [NULL]} if shape[0] == NULL else shape[0]  # NULL: an empty list
    listed = [*(conversation_keys or ()), *(message_keys or ())]
    if not isinstance(item, dict) or any(len(set(keys)) != len(keys) for keys in listed):
        return None
    messages = item.pop(MESSAGES, None)
    if not (
        isinstance(messages, list)
        and all(MESSAGES in keys for keys in conversation_keys or ())
        and (messages[0] == NULL or isinstance(messages[0], dict))
    ):
        return None  # counts only, flat rows, or messages that are not objects
    message = messages[0] if isinstance(messages[0], dict) else {}
    conversation = _item_plan(item, conversation_keys, CONVERSATION_FIELDS, _CONVERSATION_TYPES)
    message_plan = _item_plan(message, message_keys, MESSAGE_FIELDS, _MESSAGE_TYPES)
    if conversation is None or message_plan is None:
        return None
    return Plan(conversation, message_plan)


def _item_plan(
    structure: Mapping[str, object],
    key_lists: Sequence[Sequence[str]] | None,
    fields: Mapping[str, tuple[FieldPath, ...]],
    types: Mapping[str, frozenset[Kind]],
) -> ItemPlan | None:
    keys = direct_keys(tuple(structure), fields)
    if keys is None:
        return None
    read: dict[str, Kind] = {}
    for name, key in keys.items():
        if key is not None:
            kind = _kind(structure[key])
            if kind is None or kind not in types[name]:
                return None
            read[key] = kind
    unknown = []
    for key in sorted(structure):
        if key in read:
            continue
        kind = _kind(structure[key])
        if not isinstance(kind, str) or kind not in UNKNOWN_TYPES:
            return None
        everywhere = key_lists is None or all(key in listed for listed in key_lists)
        unknown.append(Unknown(key, kind, everywhere))
    return ItemPlan(tuple(keys.items()), tuple(read.items()), tuple(unknown))


def _typed(kind: str) -> str:
    """A type DuckDB can read into: one holding only nulls is read as text."""
    return TEXT if kind == NULL else kind


def _kind(structure: object) -> Kind | None:
    """A type name, a list's element type name as a 1-tuple, or None (anything nested)."""
    if isinstance(structure, str):
        return structure
    if isinstance(structure, list) and len(structure) == 1 and isinstance(structure[0], str):
        return (structure[0],)
    return None
