"""Confluence pages in Dot's `single_note` dialect: managed blocks in one org note (pure text).

**`single_note` dialect (Dot's 2024 API): one org note with managed blocks** (``GET
/api/org``, ``POST /api/save_note``). Each synced page lives in the note as a block
``<faq confluence_page_url="URL">\\n\\n{markdown}\\n\\n</faq>``. Dot's example script replaces
*every* ``<faq>`` block with one page's block, so a second page overwrites the first.
`merge_managed_blocks` touches only the blocks it is asked about, and humans edit that note
too, so everything else is kept byte for byte. Its rules:

* *Parsing* is lenient because humans edit notes: tag and attribute names in any case,
  single, double or no quotes, extra attributes, whitespace inside the tag. The URL is
  written HTML-escaped; reading decodes complete character references (``&amp;``,
  ``&#38;``) and strips it, so a raw ``&`` left by a tool that does not escape stays ``&``.
  A ``<faq>`` without a non-empty ``confluence_page_url`` is hand-written and is never
  touched; a ``</faq>`` with no opening tag is plain text.
* An opening tag *with* a URL and no ``</faq>`` before the next ``<faq`` or the end of the
  note raises `MalformedNoteError`: where the block ends cannot be known, and a guess would either
  delete human text or leave a stale copy of the page in the note for good.
* *Duplicates* (a human copied a block): `parse_managed_blocks` reads the first. Merging
  that URL updates the first in place and removes the later copies; leaving the URL out
  leaves all of them alone.
* *Updating* replaces only the text between the tags, so the position and any attributes a
  human added to the tag survive. A block whose Markdown is already the wanted Markdown is
  left byte for byte as it is, even if a human reformatted its tag.
* *Adding*: new blocks go into the managed tail (the run of managed blocks, separated only by
  whitespace, that ends the note) in URL order, or after the last non-whitespace character of
  the note when it does not end with one; a blank line separates them from what is before.
  The note's trailing whitespace stays at the very end of the note: nothing is stripped.
  What this module writes uses ``\n`` line breaks, whatever the rest of the note uses.
* *Removing* a block removes the whitespace between it and whatever is before it (its
  separator); a block with nothing but whitespace before it takes the whitespace after it
  instead, unless it is the only thing in the note. No other byte changes.
* *Escaping*: inside a block, ``<`` before ``faq`` or ``/faq`` is written ``&lt;``, and
  ``&lt;`` (or ``&amp;…lt;``) already there gets one more ``amp;``. Reading undoes exactly
  that, so any Markdown, even Markdown quoting these tags, comes back unchanged.
* *Normalising*: a page's Markdown is compared and stored without leading or trailing line
  breaks (``\\r``, ``\\n``); the tags carry their own blank lines.
* *Whitespace* means ASCII whitespace (space, tab, CR, LF, FF, VT); Unicode spaces such as
  NBSP are content.

Merging is idempotent. It does not depend on order either: the same pages applied one at a
time in any order, or all at once, give the same note, as long as the managed tail is in URL
order and blocks are separated from their neighbours by one blank line. Every note this
module writes meets both conditions. A human who reorders blocks or mangles separators still
gets a deterministic result, and a different order then changes only whitespace.

Tags are recognised anywhere in the note, code fences included, as Dot's own script does.

The `org_notes` dialect (many atomic notes, split and marked) is `note_parts`.
"""

from __future__ import annotations

import html
import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field, replace
from typing import Literal

from dot_orchestration.transforms.note_parts import BLANK_LINE, WHITESPACE

__all__ = ["MalformedNoteError", "MergeResult", "merge_managed_blocks", "parse_managed_blocks"]
_URL_ATTRIBUTE = "confluence_page_url"
_FAQ_TAG = re.compile(
    r"""<faq(?P<attrs>(?:\s+[^\s"'=<>/]+(?:\s*=\s*(?:"[^"]*"|'[^']*'|[^\s"'>]+))?)*)\s*>"""
    r"""|(?P<close></faq\s*>)""",
    re.IGNORECASE,
)
_ATTRIBUTE = re.compile(
    r"""(?P<name>[^\s"'=<>/]+)(?:\s*=\s*(?:"(?P<dq>[^"]*)"|'(?P<sq>[^']*)'|(?P<bare>[^\s"'>]+)))?"""
)
# Only complete references (with ";") are decoded: Dot's own script writes URLs unescaped,
# and html.unescape alone would turn the "&copy" of "?a=1&copy=2" into "©".
_CHARACTER_REFERENCE = re.compile(r"&(?:#[0-9]+|#[xX][0-9a-fA-F]+|[A-Za-z][A-Za-z0-9]*);")
# A superset of what _FAQ_TAG can start with; escaping it makes a tag in content impossible.
_TAG_START_IN_CONTENT = re.compile(r"(?:<|&(?:amp;)*lt;)(?=/?(?i:faq)(?![\w-]))")
_ESCAPED_TAG_START = re.compile(r"&(?P<amps>(?:amp;)*)lt;(?=/?(?i:faq)(?![\w-]))")

_Outcome = Literal["added", "updated", "removed", "unchanged"]


class MalformedNoteError(ValueError):
    """A managed block in the note has no closing tag, so it cannot be merged safely."""


@dataclass(frozen=True)
class MergeResult:
    """The merged note and what happened to each URL the merge was asked about.

    Each URL asked about is in exactly one list, and each list is sorted. ``unchanged`` also
    holds URLs that were to be removed but had no block.
    """

    note: str
    changed: bool
    added: list[str]
    updated: list[str]
    removed: list[str]
    unchanged: list[str]


def merge_managed_blocks(
    note: str,
    blocks: Mapping[str, str | None],
    *,
    managed_urls: Collection[str] | None = None,
) -> MergeResult:
    """Insert, replace or remove the managed blocks of the given pages; keep everything else.

    ``blocks[url] = markdown`` writes that page's block and ``blocks[url] = None`` removes
    it. ``managed_urls`` lists every page the caller owns: a URL in it that is missing from
    ``blocks`` is removed as if it were mapped to ``None``, so a page dropped from the sync
    also leaves the note. Blocks of other URLs and hand-written ``<faq>`` blocks are not
    touched. The rules are in the module docstring.
    """
    wanted = _wanted_blocks(blocks, managed_urls)
    layout = _Layout.parse(note)
    outcomes = {url: layout.apply(url, markdown) for url, markdown in sorted(wanted.items())}
    merged = layout.render()

    def urls(outcome: _Outcome) -> list[str]:
        return [url for url, found in outcomes.items() if found == outcome]

    return MergeResult(
        note=merged,
        changed=merged != note,
        added=urls("added"),
        updated=urls("updated"),
        removed=urls("removed"),
        unchanged=urls("unchanged"),
    )


def parse_managed_blocks(note: str) -> dict[str, str]:
    """Each managed block's page URL mapped to its Markdown, in note order; the first copy wins."""
    found: dict[str, str] = {}
    for block in _Layout.parse(note).blocks:
        found.setdefault(block.url, block.markdown)
    return found


def _wanted_blocks(
    blocks: Mapping[str, str | None], managed_urls: Collection[str] | None
) -> dict[str, str | None]:
    """Check the URLs and normalise the Markdown, so that comparing with the note is exact.

    A URL with surrounding whitespace could never match the stripped URL read from a tag,
    so it would be added again on every run; it is refused instead.
    """
    if isinstance(managed_urls, str):
        raise TypeError("managed_urls must be a collection of URLs, not one string")
    wanted: dict[str, str | None] = dict.fromkeys(managed_urls or ())
    wanted.update(blocks)
    for url in wanted:
        if not url or url != url.strip(WHITESPACE):
            raise ValueError(f"page URL {url!r} must be non-empty, without surrounding space")
    return {
        url: None if markdown is None else _normalise(markdown) for url, markdown in wanted.items()
    }


@dataclass(frozen=True)
class _Block:
    """One managed block, kept as its original text so unchanged blocks stay byte for byte."""

    url: str
    open_tag: str
    content: str
    close_tag: str

    @classmethod
    def new(cls, url: str, markdown: str) -> _Block:
        tag = f'<faq {_URL_ATTRIBUTE}="{html.escape(url, quote=True)}">'
        return cls(url, tag, _frame(markdown), "</faq>")

    @property
    def markdown(self) -> str:
        return _normalise(_unescape_content(self.content))

    def with_markdown(self, markdown: str) -> _Block:
        return replace(self, content=_frame(markdown))

    def render(self) -> str:
        return f"{self.open_tag}{self.content}{self.close_tag}"


@dataclass
class _Layout:
    """A note as text, block, text, block, …, text: ``len(texts) == len(blocks) + 1``.

    Hand-written ``<faq>`` blocks and stray tags stay inside the texts, so rendering an
    untouched layout gives back the note exactly.
    """

    texts: list[str] = field(default_factory=list)
    blocks: list[_Block] = field(default_factory=list)

    @classmethod
    def parse(cls, note: str) -> _Layout:
        layout = cls()
        text_start = 0
        opening: re.Match[str] | None = None
        for tag in _FAQ_TAG.finditer(note):
            if tag["close"] is None:
                _reject_unclosed(note, opening)
                opening = tag
                continue
            if opening is not None and (url := _page_url(opening["attrs"])) is not None:
                layout.texts.append(note[text_start : opening.start()])
                content = note[opening.end() : tag.start()]
                layout.blocks.append(_Block(url, opening[0], content, tag[0]))
                text_start = tag.end()
            opening = None
        _reject_unclosed(note, opening)
        layout.texts.append(note[text_start:])
        return layout

    def render(self) -> str:
        rendered = [self.texts[0]]
        for block, text in zip(self.blocks, self.texts[1:], strict=True):
            rendered += [block.render(), text]
        return "".join(rendered)

    def apply(self, url: str, markdown: str | None) -> _Outcome:
        """Bring one page's block(s) to the wanted state; say what that took."""
        indexes = [i for i, block in enumerate(self.blocks) if block.url == url]
        if not indexes:
            if markdown is None:
                return "unchanged"
            self.insert(_Block.new(url, markdown))
            return "added"
        first, duplicates = indexes[0], indexes[1:]
        for index in reversed(duplicates):
            self.remove(index)
        if markdown is None:
            self.remove(first)
            return "removed"
        if self.blocks[first].markdown == markdown:
            return "updated" if duplicates else "unchanged"
        self.blocks[first] = self.blocks[first].with_markdown(markdown)
        return "updated"

    def insert(self, block: _Block) -> None:
        """Put a new block after the content before its place, a blank line between them."""
        index = self._insertion_index(block.url)
        before = self.texts[index]
        body = before.rstrip(WHITESPACE)
        if body or index > 0:
            self.texts[index : index + 1] = [body + BLANK_LINE, before[len(body) :]]
        elif index < len(self.blocks):  # first thing in the note, blocks after it
            self.texts[index : index + 1] = [before, BLANK_LINE]
        else:  # the note is whitespace only
            self.texts[index : index + 1] = ["", before]
        self.blocks.insert(index, block)

    def remove(self, index: int) -> None:
        """Delete a block with its separator: the exact inverse of `insert`."""
        before, after = self.texts[index], self.texts[index + 1]
        if before.strip(WHITESPACE) or index > 0:
            joined = before.rstrip(WHITESPACE) + after
        elif after.strip(WHITESPACE) or index < len(self.blocks) - 1:
            joined = before + after.lstrip(WHITESPACE)
        else:  # the only thing in the note
            joined = before + after
        self.texts[index : index + 2] = [joined]
        del self.blocks[index]

    def _insertion_index(self, url: str) -> int:
        """Keep the managed tail in URL order, so the order pages arrive in does not matter."""
        tail_start = len(self.blocks)
        while tail_start > 0 and not self.texts[tail_start].strip(WHITESPACE):
            tail_start -= 1
        later = (i for i in range(tail_start, len(self.blocks)) if self.blocks[i].url > url)
        return next(later, len(self.blocks))


def _page_url(attrs: str) -> str | None:
    """The tag's page URL, or None for a hand-written ``<faq>``."""
    for attribute in _ATTRIBUTE.finditer(attrs):
        if attribute["name"].lower() == _URL_ATTRIBUTE:
            value = attribute["dq"] or attribute["sq"] or attribute["bare"] or ""
            return _CHARACTER_REFERENCE.sub(_unescape, value).strip(WHITESPACE) or None
    return None


def _unescape(reference: re.Match[str]) -> str:
    return html.unescape(reference[0])


def _reject_unclosed(note: str, opening: re.Match[str] | None) -> None:
    if opening is None or (url := _page_url(opening["attrs"])) is None:
        return
    line = note.count("\n", 0, opening.start()) + 1
    raise MalformedNoteError(
        f"line {line}: the <faq> block for {url!r} is not closed before the next <faq> or the "
        "end of the note; add its </faq> by hand"
    )


def _normalise(markdown: str) -> str:
    return markdown.strip("\r\n")


def _frame(markdown: str) -> str:
    return f"{BLANK_LINE}{_escape_content(markdown)}{BLANK_LINE}"


def _escape_content(markdown: str) -> str:
    return _TAG_START_IN_CONTENT.sub(
        lambda found: "&lt;" if found[0] == "<" else "&amp;" + found[0][1:], markdown
    )


def _unescape_content(content: str) -> str:
    return _ESCAPED_TAG_START.sub(
        lambda found: f"&{found['amps'][4:]}lt;" if found["amps"] else "<", content
    )
