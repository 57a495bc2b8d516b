"""How a payload that does not fit is reported: why, where, and what it looked like.

Reading code raises `Invalid` where only the value is known; the caller that knows the item
and its place turns it into a `HistoryShapeError` (`shape_error`), whose message carries a
JSON path (`render`) and a truncated excerpt, so an unexpected shape can be read straight
from a run's log. A ``Where`` is kept as a tuple and rendered only when something fails.
"""

from __future__ import annotations

import json

_EXCERPT_CHARS = 300
Where = tuple[object, ...]  # ("$.data", 3, "messages", 2), rendered only when something fails


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


class Invalid(Exception):
    """A value does not fit its field; the caller adds where it was found."""


def shape_error(reason: str, *, where: str, item: object) -> HistoryShapeError:
    return HistoryShapeError(reason, where, _excerpt(item))


def render(where: Where) -> str:
    """``("$.data", 3, "messages", 2)`` → ``$.data[3].messages[2]``."""
    return "".join(
        f"[{part}]" if isinstance(part, int) else (str(part) if pos == 0 else f".{part}")
        for pos, part in enumerate(where)
    )


def _excerpt(item: object) -> str:
    text = json.dumps(item, sort_keys=True, ensure_ascii=False, default=repr)
    if len(text) <= _EXCERPT_CHARS:
        return text
    return f"{text[:_EXCERPT_CHARS]}… ({len(text)} characters)"
