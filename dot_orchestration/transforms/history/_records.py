"""One conversation and one message, read into typed records.

A record keeps its typed values, its unknown fields, the item it came from and where that
sat, so that anything found wrong later (a repeat that disagrees, a timestamp outside the
window) can still name the item. Timestamps are kept as received: they are parsed a whole
column at a time (`_timestamps`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import NamedTuple

from dot_orchestration.transforms.history._errors import Invalid, Where, render, shape_error
from dot_orchestration.transforms.history._fields import (
    AUTHOR_STRINGS,
    CONVERSATION_FIELDS,
    CREATED_AT,
    VERDICT_STRING,
    FieldPath,
    conversation_plan,
    message_fields,
    names,
    take,
    unread,
)
from dot_orchestration.transforms.history._raw import raw_json
from dot_orchestration.transforms.history._values import (
    as_content,
    as_count,
    as_identifier,
    as_label_text,
    as_labels,
    as_score,
    as_text,
    is_count,
)


class Message(NamedTuple):
    message_index: int  # not `index`, which would hide tuple.index
    role: str | None
    created_at: object  # as received; parsed column-wise later
    content: str | None
    raw: str
    item: object
    where: Where

    def same_as(self, other: Message) -> bool:
        """Equal in everything the tables keep (not where it was found)."""
        return self[:5] == other[:5]


@dataclass
class Conversation:
    values: dict[str, object]  # typed, except timestamps (parsed column-wise later)
    raw: dict[str, object]
    count: int | None  # the count the payload reported
    count_field: tuple[str, object] | None  # its key and value as received
    messages: list[Message] | None  # None: the payload did not list them
    item: object
    where: Where

    def same_as(self, other: Conversation) -> bool:
        """Equal in everything the tables keep (not where it was found)."""
        return (self.values, self.raw, self.count, self.count_field) == (
            other.values,
            other.raw,
            other.count,
            other.count_field,
        )


def read_conversation(
    part: Mapping[str, object], where: Where, *, item: dict[str, object]
) -> Conversation:
    """One conversation object (or a flat row's conversation fields) into typed values."""
    try:
        return _conversation_values(part, where, item)
    except Invalid as error:
        raise shape_error(str(error), where=render(where), item=item) from None


def _as_received(value: object, field: str) -> object:
    """Timestamps are parsed later, a whole column at a time (`_timestamps.utc_column`)."""
    return value


_CONVERTERS: dict[str, Callable[[object, str], object]] = {
    "conversation_id": lambda value, _: as_identifier(value),
    "created_at": _as_received,
    "updated_at": _as_received,
    "labels": lambda value, _: as_labels(value),
    "auto_review_label": lambda value, field: (
        None if value is None else as_label_text(value, field)
    ),
    "auto_review_score": _as_received,  # a number or a label: split by `_verdict`
}


def _conversation_values(part: Mapping[str, object], where: Where, item: object) -> Conversation:
    plan = conversation_plan(tuple(part))
    read: list[FieldPath] = []
    values = {
        name: _CONVERTERS.get(name, as_text)(take(part, plan[name], read)[1], name)
        for name in CONVERSATION_FIELDS
        if name != "message_count"
    }
    if values["created_at"] is None:
        raise Invalid(f"conversation has no created_at (looked for {names(CREATED_AT)})")
    _author_from_string(part, values, read)
    _verdict(part, values, read)
    count_path, count_value = take(part, plan["message_count"], read)
    messages = None
    if not is_count(part.get("messages")):
        messages = _nested_messages(part, str(values["conversation_id"]), where, read)
    elif count_path is None:  # "messages": 12 is the count; beside another count, it is raw
        count_path, count_value = take(part, (("messages",),), read)
    return Conversation(
        values=values,
        raw=unread(part, read),
        count=None if count_path is None else as_count(count_value),
        count_field=None if count_path is None else (count_path[0], count_value),
        messages=messages,
        item=item,
        where=where,
    )


def _author_from_string(
    part: Mapping[str, object], values: dict[str, object], read: list[FieldPath]
) -> None:
    """``"author": "ana@example.com"`` is an email; ``"author": "Ana"`` a name."""
    if values["author_email"] is not None or values["author_name"] is not None:
        return
    for key in AUTHOR_STRINGS:
        author = part.get(key)
        if isinstance(author, str):
            values["author_email" if "@" in author else "author_name"] = author
            read.append((key,))
            return


def _verdict(part: Mapping[str, object], values: dict[str, object], read: list[FieldPath]) -> None:
    """The auto-review verdict into its two columns: text is a label, a number a score.

    A label sent both as a label and under a score's name must agree; a bare
    ``"auto_review": "<label>"`` counts when no other spelling gave one.
    """
    sent = values["auto_review_score"]
    score = as_score(sent) if sent is not None else None
    label = values["auto_review_label"]
    if score is None and sent is not None:
        label_in_score = as_label_text(sent, "auto_review_score")
        if label is not None and label_in_score != label:
            raise Invalid(f"auto-review verdict sent twice, as {label!r} and {label_in_score!r}")
        label = label_in_score
    if label is None and isinstance(part.get(VERDICT_STRING), str):
        label = as_label_text(part[VERDICT_STRING], VERDICT_STRING)
        read.append((VERDICT_STRING,))
    values["auto_review_score"] = score
    values["auto_review_label"] = label


def _nested_messages(
    part: Mapping[str, object], conversation_id: str, where: Where, read: list[FieldPath]
) -> list[Message] | None:
    """The ``messages`` list, if the conversation carries one."""
    messages = part.get("messages")
    if "messages" in part:
        read.append(("messages",))
    if messages is None:
        return None
    if not isinstance(messages, list):
        raise Invalid(f"messages must be a list, got {type(messages).__name__}")
    return [
        read_message(message, position, conversation_id, message, (*where, "messages", position))
        for position, message in enumerate(messages)
    ]


def read_message(
    message: object, position: int, conversation_id: str, item: object, where: Where
) -> Message:
    """One message object (or a flat row's message fields) into typed values."""
    if not isinstance(message, dict):
        raise shape_error(
            f"expected a message object, got {type(message).__name__}",
            where=render(where),
            item=message,
        )
    (parent, index, role, created_at, content), rest = message_fields(message)
    try:
        if parent is not None and str(parent) != conversation_id:
            raise Invalid(f"message names conversation {parent!r}, not {conversation_id!r}")
        return Message(
            position if index is None else as_count(index, "message_index"),
            as_text(role, "role"),
            created_at,
            as_content(content),
            raw_json(rest),
            item,
            where,
        )
    except Invalid as error:
        raise shape_error(str(error), where=render(where), item=item) from None
