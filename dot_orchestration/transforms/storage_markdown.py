"""Confluence storage format (XHTML with ``ac:``/``ri:`` elements) to Markdown for Dot notes.

Plain ``markdownify`` is what Dot's own example uses, and on real pages it leaks macro
parameters into the text, loses code fences and link targets, leaves ``|`` unescaped in
table cells and turns ``fct_orders`` into ``fct\\_orders``. This module converts in two
passes so that each rule lives in one small function:

1. *Rewrite*: every storage-format construct is replaced, in the parsed tree, by the plain
   HTML that means the same thing (a code macro becomes ``<pre>``, a panel a
   ``<blockquote>`` with a bold label, an ``ac:link`` an ``<a>``...). The pass runs
   bottom-up, so a rewrite always sees its children already rewritten (code inside a
   panel inside an expand).
2. *Render*: a ``MarkdownConverter`` subclass turns that HTML into Markdown, changing only
   what markdownify's defaults get wrong for notes (fences, table cells, escaping).

Malformed input. Confluence stores well-formed XML, so a broken body means it was cut off
or edited by hand. Structural damage is repaired the way a browser would (unclosed
elements end with the input, stray end tags are ignored, undefined entities stay text):
no content is lost by that. Lexical damage is not guessed at: a tag, comment or CDATA
section that never ends (a cut-off download, a missing quote) makes the parser either
swallow the rest of the page into an attribute or leak raw markup into the note, so it
raises :class:`StorageFormatError` with the offset instead, as do control characters that
XML forbids (binary data, not storage format). Blank input converts to ``""``.
"""

from __future__ import annotations

import html
import html.entities
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING
from urllib.parse import quote, quote_plus

from bs4 import BeautifulSoup, NavigableString, PageElement, Tag
from markdownify import ATX, BACKSLASH, MarkdownConverter

__all__ = ["StorageFormatError", "storage_to_markdown"]


class StorageFormatError(ValueError):
    """The storage format is too broken to convert without losing or leaking content."""

    def __init__(self, message: str, *, offset: int) -> None:
        super().__init__(f"{message} at offset {offset}")
        self.offset = offset


def storage_to_markdown(
    xhtml: str,
    *,
    base_url: str | None = None,
    space_key: str | None = None,
    page_id: str | None = None,
) -> str:
    """Convert one page's storage-format body to Markdown.

    ``base_url`` is the site base (``https://example.atlassian.net/wiki``). Links to other
    pages get a URL when it can be formed: they need ``base_url`` and a space key, which
    the link names or, for a page in the same space, ``space_key`` supplies. Links to
    attachments of this page need ``page_id`` too. Without a URL a link keeps its text
    and names its target: ``Revenue (page: Revenue)``.

    Raises :class:`StorageFormatError` for input that cannot be read (see module doc).
    """
    if not xhtml.strip():
        return ""
    soup = _parse(xhtml)
    _rewrite(soup, _LinkContext(base_url.rstrip("/") if base_url else None, space_key, page_id))
    return _NoteMarkdownConverter().convert_soup(soup)


# --------------------------------------------------------------------------- parsing

_XML_FORBIDDEN = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")
_CDATA = re.compile(r"<!\[CDATA\[(.*?)\]\]>", re.DOTALL)
# One complete piece of markup: a start or empty tag, an end tag, a comment, a processing
# instruction or a doctype. XML forbids "<" inside attribute values, which is what lets a
# missing quote be caught here instead of swallowing the rest of the page.
_MARKUP = re.compile(
    r"""<(?:
        [A-Za-z][\w:.-]*
          (?:\s+[\w:.-]+(?:\s*=\s*(?:"[^"<]*"|'[^'<]*'|[^\s"'<>=`]+))?)*\s*/?
      | /[A-Za-z][\w:.-]*\s*
      | !--.*?--
      | !\[CDATA\[.*?\]\]
      | \?.*?\?
      | ![A-Za-z][^<>]*
    )>""",
    re.VERBOSE | re.DOTALL,
)
# A "<" that starts markup; any other "<" ("a < b") is tolerated as text.
_MARKUP_START = re.compile(r"<[A-Za-z/!?]")
_ENTITY = re.compile(r"&([A-Za-z][A-Za-z0-9]*;)")


def _parse(xhtml: str) -> BeautifulSoup:
    """Check the input can be read, then parse it leniently.

    CDATA sections (code macro bodies, plain-text link bodies) are turned into escaped
    text before parsing: the content then reaches the tree exactly as written, whatever
    the Python version's HTML parser thinks of CDATA. An entity HTML does not define
    (``&nbsp;`` is defined, ``&foo;`` is not) stays text instead of losing its ``;``.
    """
    if (control := _XML_FORBIDDEN.search(xhtml)) is not None:
        raise StorageFormatError(
            f"control character {control.group()!r} cannot occur in storage format",
            offset=control.start(),
        )
    _check_markup_is_readable(xhtml)
    escaped = _CDATA.sub(lambda match: html.escape(match.group(1), quote=False), xhtml)
    escaped = _ENTITY.sub(_keep_undefined_entity, escaped)
    return BeautifulSoup(escaped, "html.parser")


def _keep_undefined_entity(match: re.Match[str]) -> str:
    return match.group() if match.group(1) in html.entities.html5 else f"&amp;{match.group(1)}"


def _check_markup_is_readable(xhtml: str) -> None:
    """Raise at the first markup that never ends (see the module doc for why)."""
    position = 0
    while (start := xhtml.find("<", position)) != -1:
        if (markup := _MARKUP.match(xhtml, start)) is not None:
            position = markup.end()
            continue
        if _MARKUP_START.match(xhtml, start):
            snippet = xhtml[start : start + 40]
            raise StorageFormatError(f"unreadable markup {snippet!r}", offset=start)
        position = start + 1


# --------------------------------------------------------------------------- rewriting


@dataclass(frozen=True)
class _LinkContext:
    """What a link needs to become a URL: where the site is and which page we are on."""

    base_url: str | None
    space_key: str | None
    page_id: str | None


@dataclass(frozen=True)
class _Target:
    """Where an ``ac:link`` or ``ac:image`` points: a URL when one can be formed, else a
    description (``page: Revenue``) so that the note still says what was linked."""

    label: str
    url: str | None = None
    description: str | None = None


_PANEL_LABELS = {"info": "Info", "note": "Note", "warning": "Warning", "tip": "Tip", "panel": ""}
_CODE_MACROS = {"code", "noformat"}
# Inline macros whose visible text is one parameter.
_TEXT_PARAMETER = {"status": "title", "jira": "key"}
# Confluence's built-in emoticon names (Server/DC and older Cloud pages).
_EMOTICONS = {
    "smile": "🙂",
    "sad": "🙁",
    "cheeky": "😛",
    "laugh": "😀",
    "wink": "😉",
    "thumbs-up": "👍",
    "thumbs-down": "👎",
    "information": "\u2139\ufe0f",  # escaped: ruff flags the glyph as ambiguous
    "tick": "✅",
    "cross": "❌",
    "warning": "⚠️",
    "plus": "\u2795",
    "minus": "\u2796",
    "question": "❓",
    "light-on": "💡",
    "light-off": "💡",
    "yellow-star": "⭐",
    "red-star": "⭐",
    "green-star": "⭐",
    "blue-star": "⭐",
    "heart": "❤️",
    "broken-heart": "💔",
}
_EMOJI_ID = re.compile(r"[0-9a-f]{4,6}(?:-[0-9a-f]{4,6})*")


def _rewrite(soup: BeautifulSoup, context: _LinkContext) -> None:
    """Replace every storage-format element by plain HTML, innermost first."""
    rewriter = _Rewriter(soup, context)
    for element in reversed(soup.find_all(list(_REWRITES))):
        _REWRITES[element.name](rewriter, element)
    for element in soup.find_all(_is_storage_element):
        # What no rewrite claimed: parameters and resource identifiers carry no text of
        # their own; anything else (comment markers, stray bodies) keeps its content.
        if element.name == "ac:parameter" or element.name.startswith("ri:"):
            element.decompose()
        else:
            element.unwrap()
    for text in soup.find_all(string=lambda text: "\xa0" in text):
        if text.find_parent(["pre", "code"]) is None:
            text.replace_with(text.replace("\xa0", " "))


def _is_storage_element(tag: Tag) -> bool:
    return tag.name.startswith(("ac:", "ri:"))


class _Rewriter:
    """One method per storage-format construct; each replaces its element in the tree."""

    def __init__(self, soup: BeautifulSoup, context: _LinkContext) -> None:
        self._soup = soup
        self._context = context

    # ---- macros

    def macro(self, macro: Tag) -> None:
        name = str(macro.get("ac:name", "")).lower()
        parameters = _macro_parameters(macro)
        rich_body = macro.find("ac:rich-text-body", recursive=False)
        plain_body = macro.find("ac:plain-text-body", recursive=False)
        if name in _CODE_MACROS:
            language = parameters.get("language", "") if name == "code" else ""
            macro.replace_with(self._code_block(plain_body, language))
        elif name in _PANEL_LABELS:
            label = ": ".join(
                part for part in (_PANEL_LABELS[name], parameters.get("title")) if part
            )
            macro.replace_with(self._labelled("blockquote", label, rich_body))
        elif name == "expand":
            title = parameters.get("title") or "Expand"
            macro.replace_with(self._labelled("div", title, rich_body))
        elif name in _TEXT_PARAMETER:
            macro.replace_with(parameters.get(_TEXT_PARAMETER[name], ""))
        elif rich_body is not None:
            macro.replace_with(self._block("div", rich_body.contents))
        elif plain_body is not None:
            macro.replace_with(self._code_block(plain_body, ""))
        else:  # toc, children, anchor, ...: generated content with nothing to keep
            macro.decompose()

    def adf_extension(self, extension: Tag) -> None:
        """Cloud's newer panels (note, success, error, custom) are ADF nodes in storage."""
        node = extension.find("ac:adf-node")
        content = node.find("ac:adf-content") if node is not None else None
        if node is not None and node.get("type") == "panel" and content is not None:
            panel_type = node.find("ac:adf-attribute", attrs={"key": "panel-type"})
            label = panel_type.get_text(strip=True).capitalize() if panel_type else ""
            extension.replace_with(self._labelled("blockquote", label, content))
            return
        fallback = extension.find("ac:adf-fallback") or content
        if fallback is None:
            extension.decompose()
        else:
            extension.replace_with(self._block("div", fallback.contents))

    def _code_block(self, body: Tag | None, language: str) -> Tag:
        pre = self._soup.new_tag("pre", attrs={"data-language": language.strip()})
        pre.string = body.get_text() if body is not None else ""
        return pre

    def _labelled(self, name: str, label: str, body: Tag | None) -> Tag:
        """A block that opens with its label in bold: panels and expands."""
        children: list[PageElement] = []
        if label:
            paragraph = self._soup.new_tag("p")
            strong = self._soup.new_tag("strong")
            strong.string = label
            paragraph.append(strong)
            children.append(paragraph)
        return self._block(name, [*children, *(body.contents if body is not None else [])])

    def _block(self, name: str, children: Iterable[PageElement]) -> Tag:
        block = self._soup.new_tag(name)
        block.extend(list(children))
        return block

    # ---- links and images

    def link(self, link: Tag) -> None:
        target = self._target(_resource(link), link.get("ac:anchor"))
        rich_body = link.find("ac:link-body", recursive=False)
        plain_body = link.find("ac:plain-text-link-body", recursive=False)
        if rich_body is not None and rich_body.get_text(strip=True):
            body: list[PageElement] = list(rich_body.contents)
        else:
            text = plain_body.get_text(strip=True) if plain_body is not None else ""
            body = [NavigableString(text or target.label)]
        if target.url is not None:
            replacement = self._soup.new_tag("a", attrs={"href": target.url})
        else:
            replacement = self._soup.new_tag("span")
            if target.description:
                body.append(NavigableString(f" ({target.description})"))
        replacement.extend(body)
        link.replace_with(replacement)

    def image(self, image: Tag) -> None:
        target = self._target(_resource(image), None)
        named = image.get("ac:alt") or image.get("ac:title")
        alt = str(named or target.label.rsplit("/", 1)[-1] or "image")
        if target.url is None:
            image.replace_with(f"[image: {alt}]")
        else:
            image.replace_with(self._soup.new_tag("img", attrs={"alt": alt, "src": target.url}))

    def _target(self, resource: Tag | None, anchor: object) -> _Target:
        fragment = f"#{anchor}" if anchor else ""
        if resource is None:
            return _Target(label=str(anchor or ""), url=fragment or None)
        describe = _TARGETS.get(resource.name, _unknown_target)
        target = describe(self._context, resource)
        if target.url is not None and fragment:
            return _Target(target.label, target.url + fragment, target.description)
        return target

    # ---- small inline constructs

    def emoticon(self, emoticon: Tag) -> None:
        emoticon.replace_with(_emoticon_text(emoticon))

    def time(self, time: Tag) -> None:
        if not time.get_text(strip=True):
            time.replace_with(str(time.get("datetime", "")))

    def task_list(self, task_list: Tag) -> None:
        """Tasks become ``- [ ]``/``- [x]`` items; a nested list goes into the task above."""
        items = self._soup.new_tag("ul")
        last: Tag | None = None
        for child in task_list.find_all(recursive=False):
            if child.name == "ac:task":
                last = self._task_item(child)
                items.append(last)
            elif child.name == "ul" and last is not None:
                last.append(child)
        task_list.replace_with(items)

    def _task_item(self, task: Tag) -> Tag:
        status = task.find("ac:task-status", recursive=False)
        body = task.find("ac:task-body", recursive=False)
        done = status is not None and status.get_text(strip=True) == "complete"
        item = self._soup.new_tag("li")
        item.append("[x] " if done else "[ ] ")
        if body is not None:
            item.extend(list(body.contents))
        return item

    def block(self, element: Tag) -> None:
        element.name = "div"

    def drop(self, element: Tag) -> None:
        element.decompose()


def _emoticon_text(emoticon: Tag) -> str:
    """Cloud emoji carry the character (``ac:emoji-fallback``) or its code points
    (``ac:emoji-id``, e.g. ``1f468-200d-1f4bb``) and a placeholder ``ac:name``; Server and
    DC pages only carry one of the built-in names."""
    fallback = str(emoticon.get("ac:emoji-fallback", ""))
    if fallback and not fallback.startswith(":"):
        return fallback
    emoji_id = str(emoticon.get("ac:emoji-id", ""))
    if _EMOJI_ID.fullmatch(emoji_id):
        return "".join(chr(int(code, 16)) for code in emoji_id.split("-"))
    name = str(emoticon.get("ac:name", ""))
    return str(emoticon.get("ac:emoji-shortname") or _EMOTICONS.get(name) or f":{name}:")


def _macro_parameters(macro: Tag) -> dict[str, str]:
    return {
        str(parameter.get("ac:name", "")): parameter.get_text(strip=True)
        for parameter in macro.find_all("ac:parameter", recursive=False)
    }


def _resource(element: Tag) -> Tag | None:
    """The ``ri:`` resource identifier an ``ac:link``/``ac:image`` points at."""
    return next(
        (child for child in element.find_all(recursive=False) if child.name.startswith("ri:")), None
    )


def _page_url(context: _LinkContext, resource: Tag, path: str) -> str | None:
    space = resource.get("ri:space-key") or context.space_key
    if context.base_url is None or not space:
        return None
    return f"{context.base_url}/display/{quote(str(space))}/{path}"


def _page_target(context: _LinkContext, resource: Tag) -> _Target:
    title = str(resource.get("ri:content-title", ""))
    return _Target(title, _page_url(context, resource, quote_plus(title)), f"page: {title}")


def _blog_post_target(context: _LinkContext, resource: Tag) -> _Target:
    title = str(resource.get("ri:content-title", ""))
    path = f"{resource.get('ri:posting-day', '')}/{quote_plus(title)}"
    url = _page_url(context, resource, path) if resource.get("ri:posting-day") else None
    return _Target(title, url, f"blog post: {title}")


def _attachment_target(context: _LinkContext, resource: Tag) -> _Target:
    filename = str(resource.get("ri:filename", ""))
    owner = resource.find("ri:page")  # an attachment of another page: its id is unknown
    if owner is not None:
        where = f"attachment: {filename} on page {owner.get('ri:content-title', '')}"
        return _Target(filename, None, where)
    url = None
    if context.base_url and context.page_id:
        url = f"{context.base_url}/download/attachments/{context.page_id}/{quote(filename)}"
    return _Target(filename, url, f"attachment: {filename}")


def _url_target(context: _LinkContext, resource: Tag) -> _Target:
    value = str(resource.get("ri:value", ""))
    return _Target(value, value or None)


def _space_target(context: _LinkContext, resource: Tag) -> _Target:
    key = str(resource.get("ri:space-key", ""))
    url = f"{context.base_url}/display/{quote(key)}" if context.base_url and key else None
    return _Target(key, url, f"space: {key}")


def _user_target(context: _LinkContext, resource: Tag) -> _Target:
    """Storage format holds an account id, not a name: the mention keeps its text only."""
    return _Target(f"@{resource.get('ri:username') or 'user'}")


def _unknown_target(context: _LinkContext, resource: Tag) -> _Target:
    return _Target("")


_TARGETS: dict[str, Callable[[_LinkContext, Tag], _Target]] = {
    "ri:page": _page_target,
    "ri:blog-post": _blog_post_target,
    "ri:attachment": _attachment_target,
    "ri:url": _url_target,
    "ri:space": _space_target,
    "ri:user": _user_target,
}

_REWRITES: dict[str, Callable[[_Rewriter, Tag], None]] = {
    "ac:structured-macro": _Rewriter.macro,
    "ac:macro": _Rewriter.macro,  # the Confluence 4 spelling, still found in old pages
    "ac:adf-extension": _Rewriter.adf_extension,
    "ac:link": _Rewriter.link,
    "ac:image": _Rewriter.image,
    "ac:emoticon": _Rewriter.emoticon,
    "ac:task-list": _Rewriter.task_list,
    "ac:layout": _Rewriter.block,
    "ac:layout-section": _Rewriter.block,
    "ac:layout-cell": _Rewriter.block,
    "ac:placeholder": _Rewriter.drop,  # editor hint text, never shown on the page
    "colgroup": _Rewriter.drop,  # column widths; markdownify would misplace the header row
    "time": _Rewriter.time,
}


# --------------------------------------------------------------------------- rendering

# A "*" that could open or close emphasis, or start a list item: everything except a
# "*" with whitespace on both sides ("SELECT a * b"), which Markdown leaves alone.
_EMPHASIS_ASTERISK = re.compile(r"(?<!\s)\*|\*(?!\s)")
_BACKTICK_RUN = re.compile(r"`+")
_CELL_TAGS = frozenset({"td", "th"})


if TYPE_CHECKING:

    class _Converter(MarkdownConverter):
        """The subclassing API markdownify documents (options, escaping, one `convert_<tag>`
        per tag) and uses at run time, which its bundled stub leaves out."""

        class DefaultOptions: ...

        def escape(self, text: str, parent_tags: set[str]) -> str: ...
        def process_text(self, el: NavigableString, parent_tags: set[str] | None = None) -> str: ...
        def convert_p(self, el: Tag, text: str, parent_tags: set[str]) -> str: ...
        def convert_br(self, el: Tag, text: str, parent_tags: set[str]) -> str: ...
        def convert_td(self, el: Tag, text: str, parent_tags: set[str]) -> str: ...

else:
    _Converter = MarkdownConverter


class _NoteMarkdownConverter(_Converter):
    """markdownify with the rules Dot notes need; see each override for why."""

    class Options(_Converter.DefaultOptions):
        heading_style = ATX
        bullets = "-"
        escape_underscores = False  # identifiers such as fct_orders must stay searchable
        escape_asterisks = False  # see escape()
        newline_style = BACKSLASH  # trailing-space line breaks do not survive editors
        table_infer_header = True  # Markdown tables need a header row; Confluence's may be td

    def escape(self, text: str, parent_tags: set[str]) -> str:
        return _EMPHASIS_ASTERISK.sub(r"\\*", super().escape(text, parent_tags))

    def process_text(self, el: NavigableString, parent_tags: set[str] | None = None) -> str:
        text = super().process_text(el, parent_tags=parent_tags)
        if parent_tags and _CELL_TAGS & parent_tags and "pre" not in parent_tags:
            return text.replace("\n", " ")  # a soft wrap; cell lines come from p and br only
        return text

    def convert_pre(self, el: Tag, text: str, parent_tags: set[str]) -> str:
        """Fenced, language kept, body exactly as stored; the fence outgrows any backtick
        run in the body so code that contains a fence cannot close it early."""
        if _CELL_TAGS & parent_tags:
            return "\n".join(f"`{line}`" for line in text.splitlines() if line.strip())
        longest = max((len(run) for run in _BACKTICK_RUN.findall(text)), default=0)
        fence = "`" * max(3, longest + 1)
        newline = "" if text.endswith("\n") or not text else "\n"
        return f"\n\n{fence}{el.get('data-language', '')}\n{text}{newline}{fence}\n\n"

    def convert_p(self, el: Tag, text: str, parent_tags: set[str]) -> str:
        if _CELL_TAGS & parent_tags:
            return f"\n{text.strip()}\n"  # one cell line; convert_td joins them with <br>
        return super().convert_p(el, text, parent_tags)

    def convert_br(self, el: Tag, text: str, parent_tags: set[str]) -> str:
        if _CELL_TAGS & parent_tags:
            return "\n"
        return super().convert_br(el, text, parent_tags)

    def convert_td(self, el: Tag, text: str, parent_tags: set[str]) -> str:
        """A cell is one line: its lines are joined with ``<br>`` and ``|`` is escaped
        everywhere in it, code spans included, as GFM requires."""
        lines = (line.strip() for line in text.splitlines())
        cell = "<br>".join(line for line in lines if line).replace("|", r"\|")
        return super().convert_td(el, cell, parent_tags)

    convert_th = convert_td
