"""The payload's list of items into conversations, whichever shape it has.

Items are conversations (with nested messages or only a count) or flat message rows, never
a mix. A conversation listed twice is merged when both copies say the same and refused
otherwise; flat rows are grouped by conversation, and the conversation fields of its rows
must agree.
"""

from __future__ import annotations

from dot_orchestration.transforms.history._errors import Invalid, Where, render, shape_error
from dot_orchestration.transforms.history._fields import (
    conversation_plan,
    is_message_row,
    split_row,
    take,
)
from dot_orchestration.transforms.history._records import (
    Conversation,
    read_conversation,
    read_message,
)


def read_items(items: list[object], where: str) -> list[Conversation]:
    """Read conversations (nested or count-only) or flat message rows, never a mix."""
    objects = _objects(items, where)
    flat: int | None = None
    nested: int | None = None
    for position, item in enumerate(objects):
        if "messages" in item:
            nested = position if nested is None else nested
        elif flat is None and is_message_row(tuple(item)):
            flat = position
    if flat is None:
        return _read_conversations(objects, where)
    if nested is not None:
        raise shape_error(
            f"payload mixes conversations with nested messages ({where}[{nested}]) and flat "
            "message rows",
            where=f"{where}[{flat}]",
            item=objects[flat],
        )
    return _read_flat_rows(objects, where)


def _objects(items: list[object], where: str) -> list[dict[str, object]]:
    for position, item in enumerate(items):
        if not isinstance(item, dict):
            raise shape_error(
                f"expected an object, got {type(item).__name__}",
                where=f"{where}[{position}]",
                item=item,
            )
    return items  # type: ignore[return-value]  # every item was just checked


def _read_conversations(items: list[dict[str, object]], where: str) -> list[Conversation]:
    """Shapes (a), (b) and (d): one object per conversation; identical repeats are merged."""
    by_id: dict[str, Conversation] = {}
    for position, item in enumerate(items):
        _add_once(by_id, read_conversation(item, (where, position), item=item))
    return list(by_id.values())


def _add_once(by_id: dict[str, Conversation], conversation: Conversation) -> None:
    """A repeated id is merged when it says the same thing and refused when it does not."""
    key = str(conversation.values["conversation_id"])
    seen = by_id.get(key)
    if seen is None:
        by_id[key] = conversation
    elif not (seen.same_as(conversation) and _same_messages(seen, conversation)):
        raise shape_error(
            f"conversation {key!r} appears twice with different content (first at "
            f"{render(seen.where)})",
            where=render(conversation.where),
            item=conversation.item,
        )


def _same_messages(first: Conversation, second: Conversation) -> bool:
    if first.messages is None or second.messages is None:
        return first.messages is second.messages
    return len(first.messages) == len(second.messages) and all(
        one.same_as(other) for one, other in zip(first.messages, second.messages, strict=True)
    )


def _read_flat_rows(rows: list[dict[str, object]], where: str) -> list[Conversation]:
    """Shape (c): group message rows by conversation; their conversation fields must agree."""
    by_id: dict[str, Conversation] = {}
    first_part: dict[str, dict[str, object]] = {}
    for position, row in enumerate(rows):
        row_where = (where, position)
        try:
            conversation_part, message_part = split_row(row)
        except Invalid as error:
            raise shape_error(str(error), where=render(row_where), item=row) from None
        conversation = _conversation_of_row(by_id, first_part, conversation_part, row, row_where)
        if message_part is None:
            continue
        if conversation.messages is None:
            conversation.messages = []
        if any(value is not None for value in message_part.values()):
            conversation.messages.append(
                read_message(
                    message_part,
                    len(conversation.messages),
                    str(conversation.values["conversation_id"]),
                    row,
                    row_where,
                )
            )
    return list(by_id.values())


def _conversation_of_row(
    by_id: dict[str, Conversation],
    first_part: dict[str, dict[str, object]],
    part: dict[str, object],
    row: dict[str, object],
    where: Where,
) -> Conversation:
    """The row's conversation, read once; later rows are compared cheaply, parsed if unequal."""
    _, raw_id = take(part, conversation_plan(tuple(part))["conversation_id"], [])
    key = None if raw_id is None else str(raw_id)
    if key is not None and first_part.get(key) == part:
        return by_id[key]
    conversation = read_conversation(part, where, item=row)
    key = str(conversation.values["conversation_id"])
    seen = by_id.get(key)
    if seen is None:
        by_id[key] = conversation
        first_part[key] = part
        return conversation
    if not seen.same_as(conversation):
        raise shape_error(
            f"rows of conversation {key!r} disagree on its fields (first row at "
            f"{render(seen.where)})",
            where=render(where),
            item=row,
        )
    return seen
