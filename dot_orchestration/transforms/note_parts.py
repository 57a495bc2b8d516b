"""Confluence pages in Dot's current `org_notes` dialect: pure text transforms.

Many atomic notes (``/api/org_notes``). Dot advises keeping a note
under about 50,000 characters. `split_at_headings` cuts a page's Markdown at the highest
heading level that works, and the parts joined with ``""`` give back the input exactly.
`render_owned_note` ends each note with a marker line::

    <!-- dot-orchestration:confluence page=123456 part=2/3 version=23 -->

`owned_note_key` reads that marker back. ``version`` (optional) is the Confluence version the
text was rendered from: with it, Dot itself records which notes are current, so a sync can
skip pages whose notes already hold their version and a check can find stale notes, without
any state kept beside Dot. A title is no proof of ownership, because a human
may well create "[Confluence] Revenue" by hand. So only the marker counts, in exactly the
form written, on the last non-blank line of the note. An HTML comment is invisible when
Markdown is rendered, and a human does not type it by accident. `render_owned_notes` does
the split and the marking in one call and leaves room for the marker, so every note it
returns fits the limit.
"""

from __future__ import annotations

import hashlib
import json
import re
from bisect import bisect_left, bisect_right
from collections.abc import Iterator
from dataclasses import dataclass
from itertools import pairwise

__all__ = [
    "BLANK_LINE",
    "NOTE_CHAR_LIMIT",
    "WHITESPACE",
    "OwnedNoteKey",
    "content_hash",
    "note_title",
    "owned_note_key",
    "render_owned_note",
    "render_owned_notes",
    "split_at_headings",
]

NOTE_CHAR_LIMIT = 50_000
"""Dot's guidance for the size of one atomic note, in characters."""

WHITESPACE = " \t\r\n\f\v"
"""ASCII whitespace: what both dialects trim and compare by (Unicode spaces are content)."""
BLANK_LINE = "\n\n"

_ATX_HEADING = re.compile(r" {0,3}(#{1,6})(?=[ \t\r]|$)")
_FENCE = re.compile(r" {0,3}(`{3,}|~{3,})")
_PARAGRAPH_LEVEL = 7  # cut before a non-blank line that follows a blank line
_LINE_LEVEL = 8  # cut before any non-blank line; the last resort before a hard cut
_PAGE_ID = r"[A-Za-z0-9._-]{1,64}"
_MARKER = re.compile(
    rf"<!-- dot-orchestration:confluence page=(?P<page_id>{_PAGE_ID})"
    r" part=(?P<part>[1-9][0-9]*)/(?P<parts>[1-9][0-9]*)(?: version=(?P<version>[1-9][0-9]*))? -->"
)


def split_at_headings(markdown: str, *, limit: int = NOTE_CHAR_LIMIT) -> list[str]:
    """Cut Markdown into parts of at most ``limit`` characters; ``"".join(parts) == markdown``.

    The Markdown is first cut into pieces that fit: whole H1 sections where they fit; a
    section that does not fit is cut before its H2 headings, then H3 and so on down to H6,
    then after blank lines (paragraphs), then before any non-blank line, and as a last
    resort every ``limit`` characters. Pieces are then packed in order, as many to a part as
    fit. So a part starts before a heading wherever sections fit, and deeper cuts happen
    only inside a section that is too big for one part.

    Headings are ATX (``#`` … ``######``), which is what markdownify writes with
    ``heading_style="ATX"``. Inside fenced code blocks no heading or blank line is a cut
    point. Only the line and hard cuts can fall inside a fence, and only when the fence
    alone is over the limit. Blank lines stay with the text above them, and a heading with
    the line below it (short of a hard cut). Markdown within the limit comes back as one
    part, even when it is empty.
    """
    if limit < 1:
        raise ValueError(f"limit must be at least 1, got {limit}")
    pieces = _pieces(_cut_points(markdown), 0, len(markdown), 1, limit)
    return [markdown[start:end] for start, end in _pack(pieces, limit)]


def _cut_points(markdown: str) -> dict[int, list[int]]:
    """Line-start offsets where a cut may go, by level: 1-6 headings, paragraph, line.

    No cut goes right after a heading line, so a heading stays with what it heads.
    """
    cuts: dict[int, list[int]] = {level: [] for level in range(1, _LINE_LEVEL + 1)}
    fence = ""  # the opening fence while inside a fenced code block
    blank_before = after_heading = False
    for start, line in _lines(markdown):
        blank = not line.strip(WHITESPACE)
        heading = None if fence else _ATX_HEADING.match(line)
        if not blank and not after_heading:
            cuts[_LINE_LEVEL].append(start)
            if heading:
                cuts[len(heading[1])].append(start)
            elif blank_before and not fence:
                cuts[_PARAGRAPH_LEVEL].append(start)
        if fence:
            fence = "" if _closes_fence(line, fence) else fence
        elif opening := _FENCE.match(line):
            fence = opening[1]
        after_heading = heading is not None or (blank and after_heading)
        blank_before = blank
    return cuts


def _lines(text: str) -> Iterator[tuple[int, str]]:
    start = 0
    for line in text.split("\n"):
        yield start, line
        start += len(line) + 1


def _closes_fence(line: str, fence: str) -> bool:
    closing = _FENCE.fullmatch(line.rstrip(WHITESPACE))
    return closing is not None and closing[1][0] == fence[0] and len(closing[1]) >= len(fence)


def _pieces(
    cuts: dict[int, list[int]], start: int, end: int, level: int, limit: int
) -> list[tuple[int, int]]:
    """``start:end`` as spans that fit, each cut at the highest level that makes it fit."""
    if end - start <= limit:
        return [(start, end)]
    if level > _LINE_LEVEL:
        return [(at, min(at + limit, end)) for at in range(start, end, limit)]
    points = cuts[level]
    bounds = [start, *points[bisect_right(points, start) : bisect_left(points, end)], end]
    return [
        piece
        for section_start, section_end in pairwise(bounds)
        for piece in _pieces(cuts, section_start, section_end, level + 1, limit)
    ]


def _pack(pieces: list[tuple[int, int]], limit: int) -> list[tuple[int, int]]:
    """Join consecutive pieces while they fit, so a heading is not left alone in a part."""
    parts: list[tuple[int, int]] = []
    for start, end in pieces:
        if parts and end - parts[-1][0] <= limit:
            parts[-1] = (parts[-1][0], end)
        else:
            parts.append((start, end))
    return parts


def note_title(page_title: str, prefix: str, part: int, parts: int) -> str:
    """The note's title, e.g. ``"[Confluence] Revenue (2/3)"``; one part gets no counter."""
    _check_part(part, parts)
    title = f"{prefix} {page_title}".strip(WHITESPACE)
    return title if parts == 1 else f"{title} ({part}/{parts})"


def content_hash(title: str, note: str) -> str:
    """A sha256 hex digest of a note's title and text, to skip writes that change nothing.

    Both fields go through JSON, so no title/text pair can collide with another by moving
    characters across the boundary between them.
    """
    return hashlib.sha256(json.dumps([title, note]).encode("ascii")).hexdigest()


@dataclass(frozen=True)
class OwnedNoteKey:
    """Which page, which part of it, and (when recorded) which version of it a note written
    by this package holds."""

    page_id: str
    part: int
    parts: int
    version: int | None = None

    def __post_init__(self) -> None:
        if not re.fullmatch(_PAGE_ID, self.page_id):
            raise ValueError(f"page id {self.page_id!r} must match {_PAGE_ID}")
        _check_part(self.part, self.parts)
        if self.version is not None and self.version < 1:
            raise ValueError(f"version {self.version} must be at least 1")

    @property
    def marker(self) -> str:
        version = "" if self.version is None else f" version={self.version}"
        return (
            f"<!-- dot-orchestration:confluence page={self.page_id} "
            f"part={self.part}/{self.parts}{version} -->"
        )


def render_owned_note(
    markdown: str, page_id: str, part: int, parts: int, *, version: int | None = None
) -> str:
    """The note text: the Markdown without trailing whitespace, a blank line, the marker."""
    marker = OwnedNoteKey(page_id, part, parts, version).marker
    body = markdown.rstrip(WHITESPACE)
    return f"{body}{BLANK_LINE}{marker}" if body else marker


def owned_note_key(note_text: str) -> OwnedNoteKey | None:
    """The key in the note's marker, or None for a note this package did not write.

    Only an exact marker on the last non-blank line counts. A lookalike title, or a marker
    quoted somewhere in the middle of a note, claims nothing.
    """
    last_line = note_text.rstrip(WHITESPACE).rpartition("\n")[2].strip(WHITESPACE)
    found = _MARKER.fullmatch(last_line)
    if found is None or int(found["part"]) > int(found["parts"]):
        return None
    version = int(found["version"]) if found["version"] else None
    return OwnedNoteKey(found["page_id"], int(found["part"]), int(found["parts"]), version)


def render_owned_notes(
    markdown: str, page_id: str, *, limit: int = NOTE_CHAR_LIMIT, version: int | None = None
) -> list[str]:
    """A page as marked notes of at most ``limit`` characters each, marker included.

    The marker's length depends on how many parts there are, and that depends on the room
    left after the marker, so the split is redone when the part count gains a digit.
    """
    digits = 1
    while True:
        widest = 10**digits - 1
        widest_marker = OwnedNoteKey(page_id, widest, widest, version).marker
        room = limit - len(widest_marker) - len(BLANK_LINE)
        if room < 1:
            raise ValueError(f"limit {limit} leaves no room beside the marker")
        parts = split_at_headings(markdown, limit=room)
        if len(str(len(parts))) <= digits:
            break
        digits += 1
    return [
        render_owned_note(text, page_id, i, len(parts), version=version)
        for i, text in enumerate(parts, 1)
    ]


def _check_part(part: int, parts: int) -> None:
    if not 1 <= part <= parts:
        raise ValueError(f"part {part} of {parts} is out of range")
