"""Confluence pages as Dot notes: managed <faq> blocks in one org note, and atomic notes.

Expected block text is spelled out by hand here (not built with the code under test), so
these tests also pin the format other clients of the same note, Dot's own script included,
read and write.
"""

from __future__ import annotations

import itertools
import random
import re

import pytest

from dot_orchestration.transforms.note_blocks import (
    MalformedNoteError,
    merge_managed_blocks,
    parse_managed_blocks,
)
from dot_orchestration.transforms.note_parts import (
    OwnedNoteKey,
    content_hash,
    note_title,
    owned_note_key,
    render_owned_note,
    render_owned_notes,
    split_at_headings,
)

WIKI = "https://acme.atlassian.net/wiki/pages"
REVENUE, CHURN, GLOSSARY, ORDERS = (f"{WIKI}/{n}" for n in (101, 202, 303, 404))


def block(url: str, markdown: str) -> str:
    return f'<faq confluence_page_url="{url}">\n\n{markdown}\n\n</faq>'


# A note as a human leaves it: CRLF, unicode, a hand-written FAQ, an HTML comment, trailing
# spaces (a Markdown line break), tabs, and NBSP + blank lines at the very end.
AWKWARD_HEAD = (
    "Ümlaut-Team 📊 notes\r\n"
    "\r\n"
    "<!-- owner: data@acme.example -->\r\n"
    "Revenue is net of refunds.  \r\n"
    "<faq>\nQ: What is a customer?\nA: Anyone with an order.\n</faq>\r\n"
    "\r\n"
)
AWKWARD_MIDDLE = "\r\n\r\nIndented\tthing — ünïcödé\r\n</faq> stray close, kept\r\n\r\n"
AWKWARD_END = "Fin.\u00a0\r\n  \r\n"


def awkward_note() -> str:
    return (
        AWKWARD_HEAD
        + block(REVENUE, "# Revenue\n\nold")
        + AWKWARD_MIDDLE
        + block(CHURN, "# Churn")
        + "\r\n\r\n"
        + AWKWARD_END
    )


# --------------------------------------------------------------------------------------
# merge_managed_blocks / parse_managed_blocks
# --------------------------------------------------------------------------------------


def test_two_pages_never_overwrite_each_other() -> None:
    note = merge_managed_blocks("", {REVENUE: "# Revenue"}).note
    note = merge_managed_blocks(note, {CHURN: "# Churn"}).note

    assert note == block(REVENUE, "# Revenue") + "\n\n" + block(CHURN, "# Churn")
    assert parse_managed_blocks(note) == {REVENUE: "# Revenue", CHURN: "# Churn"}


def test_update_replaces_one_block_in_place_and_every_other_byte_survives() -> None:
    note = awkward_note()

    result = merge_managed_blocks(note, {REVENUE: "# Revenue\n\nnew"})

    expected = note.replace(block(REVENUE, "# Revenue\n\nold"), block(REVENUE, "# Revenue\n\nnew"))
    assert result.note == expected
    assert result.changed
    assert (result.updated, result.added, result.removed, result.unchanged) == (
        [REVENUE],
        [],
        [],
        [],
    )


def test_new_block_goes_after_the_content_and_trailing_whitespace_stays_last() -> None:
    note = awkward_note().replace(block(CHURN, "# Churn") + "\r\n\r\n", "")
    assert note.endswith("Fin.\u00a0\r\n  \r\n")  # NBSP is content; the rest is trailing space

    result = merge_managed_blocks(note, {ORDERS: "# Orders"})

    body, trailing = note[: -len("\r\n  \r\n")], "\r\n  \r\n"
    assert result.note == body + "\n\n" + block(ORDERS, "# Orders") + trailing
    assert result.added == [ORDERS]


def test_a_block_written_by_dots_example_script_is_adopted() -> None:
    markdownify_output = "\n\n# Revenue\n\nNet of refunds.\n\n"
    note = f'Intro\n\n<faq confluence_page_url="{REVENUE}">\n\n{markdownify_output}\n\n</faq>'

    same = merge_managed_blocks(note, {REVENUE: markdownify_output})
    updated = merge_managed_blocks(note, {REVENUE: "# Revenue\n\nGross."})

    assert (same.note, same.changed) == (note, False)
    assert updated.note == "Intro\n\n" + block(REVENUE, "# Revenue\n\nGross.")


def test_hand_written_faq_is_never_touched() -> None:
    hand_written = "<faq>\nQ: Fiscal year?\nA: Starts in April.\n</faq>"

    note = merge_managed_blocks(hand_written, {REVENUE: "# Revenue"}).note

    assert note == hand_written + "\n\n" + block(REVENUE, "# Revenue")
    assert parse_managed_blocks(note) == {REVENUE: "# Revenue"}
    assert merge_managed_blocks(note, {REVENUE: None}).note == hand_written


def test_removal_takes_the_block_and_its_separator_only() -> None:
    note = awkward_note()

    result = merge_managed_blocks(note, {REVENUE: None, GLOSSARY: None})

    assert result.note == (
        AWKWARD_HEAD.rstrip() + AWKWARD_MIDDLE + block(CHURN, "# Churn") + "\r\n\r\n" + AWKWARD_END
    )
    assert (result.removed, result.unchanged) == ([REVENUE], [GLOSSARY])


@pytest.mark.parametrize(
    ("note", "expected"),
    [
        (block(REVENUE, "r") + "\n\n" + block(CHURN, "c") + "\n", block(CHURN, "c") + "\n"),
        (block(CHURN, "c") + "\n\n" + block(REVENUE, "r") + "\n", block(CHURN, "c") + "\n"),
        ("\n" + block(REVENUE, "r") + "\n\nText", "\nText"),
        (" " + block(REVENUE, "r") + "\n", " \n"),
    ],
    ids=["first", "last", "first-before-text", "only"],
)
def test_removal_at_the_edges_of_the_note(note: str, expected: str) -> None:
    assert merge_managed_blocks(note, {REVENUE: None}).note == expected


def test_managed_urls_removes_pages_dropped_from_the_sync() -> None:
    note = (
        "Intro\n\n" + block(REVENUE, "r") + "\n\n" + block(CHURN, "c") + "\n\n" + block(ORDERS, "o")
    )

    result = merge_managed_blocks(note, {CHURN: "c"}, managed_urls=[REVENUE, CHURN])

    assert result.note == "Intro\n\n" + block(CHURN, "c") + "\n\n" + block(ORDERS, "o")
    assert (result.removed, result.unchanged) == ([REVENUE], [CHURN])


def test_merging_twice_changes_nothing_the_second_time() -> None:
    blocks = {REVENUE: "# Revenue\n\nnew\n", CHURN: None, ORDERS: "# Orders", GLOSSARY: None}
    first = merge_managed_blocks(awkward_note(), blocks)

    second = merge_managed_blocks(first.note, blocks)

    assert first.changed
    assert second.note == first.note
    assert not second.changed
    assert second.unchanged == sorted(blocks)


def test_markdown_is_compared_without_its_leading_and_trailing_line_breaks() -> None:
    note = block(REVENUE, "# Revenue")

    result = merge_managed_blocks(note, {REVENUE: "\r\n# Revenue\n\n"})

    assert (result.note, result.changed, result.unchanged) == (note, False, [REVENUE])


ORDER_NOTES = [
    "",
    "Intro  \r\n",
    "Intro\n\n" + block(CHURN, "c0") + "\n\n" + block(ORDERS, "o0") + "\n",
    block(CHURN, "c0") + "\n\n" + block(ORDERS, "o0"),
    "Intro\n\n" + block(ORDERS, "o0") + "\n\nBetween\n\n" + block(CHURN, "c0") + "\n\nEnd\n",
    "<faq>hand</faq>\n\n" + block(CHURN, "c0") + "\n\n" + block(CHURN, "dup") + "\n",
]
ORDER_BATCHES = [
    {REVENUE: "r", GLOSSARY: "g", CHURN: None, ORDERS: "o1"},
    {REVENUE: "r", CHURN: "c1", GLOSSARY: None, ORDERS: None},
    {GLOSSARY: "g", CHURN: None, ORDERS: None, REVENUE: None},
]


@pytest.mark.parametrize("note", ORDER_NOTES)
def test_one_page_at_a_time_in_any_order_gives_the_same_note_as_all_at_once(note: str) -> None:
    for batch in ORDER_BATCHES:
        all_at_once = merge_managed_blocks(note, batch).note
        for order in itertools.permutations(batch):
            one_by_one = note
            for url in order:
                one_by_one = merge_managed_blocks(one_by_one, {url: batch[url]}).note
            assert one_by_one == all_at_once, (note, order)


def test_with_mangled_separators_a_different_order_changes_whitespace_only() -> None:
    rng = random.Random(7)
    urls = [f"{WIKI}/{n}" for n in range(6)]
    separators = ["", " ", "\n", "\r\n\r\n", "\n\n\n", "  \n"]
    squeeze = re.compile(r"[ \t\r\n]+")
    for _ in range(150):
        tail = sorted(rng.sample(urls, rng.randint(0, 3)))
        pieces = ["Text  ", *(block(url, "x") for url in tail)]
        note = "".join(piece + rng.choice(separators) for piece in pieces)
        batch = {url: rng.choice([None, "x", "y"]) for url in rng.sample(urls, 3)}
        all_at_once = squeeze.sub("", merge_managed_blocks(note, batch).note)
        for order in itertools.permutations(batch):
            one_by_one = note
            for url in order:
                one_by_one = merge_managed_blocks(one_by_one, {url: batch[url]}).note
            assert squeeze.sub("", one_by_one) == all_at_once, (note, order)


def test_duplicate_blocks_first_wins_and_merging_removes_the_copies() -> None:
    note = (
        block(REVENUE, "first")
        + "\n\nText\n\n"
        + block(REVENUE, "copy")
        + "\n\n"
        + block(CHURN, "c")
        + "\n\n"
        + block(REVENUE, "copy 2")
    )
    assert parse_managed_blocks(note)[REVENUE] == "first"
    assert merge_managed_blocks(note, {CHURN: "c"}).note == note  # REVENUE not asked about

    updated = merge_managed_blocks(note, {REVENUE: "new"})
    same = merge_managed_blocks(note, {REVENUE: "first"})
    removed = merge_managed_blocks(note, {REVENUE: None})

    assert updated.note == block(REVENUE, "new") + "\n\nText\n\n" + block(CHURN, "c")
    assert same.note == block(REVENUE, "first") + "\n\nText\n\n" + block(CHURN, "c")
    assert same.updated == [REVENUE]  # the copies went, so the note changed
    assert removed.note == "Text\n\n" + block(CHURN, "c")


def test_faq_tags_inside_markdown_are_escaped_and_come_back_unchanged() -> None:
    markdown = (
        'Our notes use `<faq confluence_page_url="x">` … `</faq>` blocks.\n'
        "</FAQ >\n"
        "Already escaped: &lt;/faq> and &amp;lt;faq x>; not tags: <faqs> <faq-item>"
    )
    note = merge_managed_blocks("", {REVENUE: markdown, CHURN: "# Churn"}).note

    assert note.count("</faq>") == 2
    assert block(REVENUE, "") not in note
    assert "&lt;/faq>" in note and "&amp;amp;lt;faq x>" in note and "<faqs> <faq-item>" in note
    assert parse_managed_blocks(note) == {REVENUE: markdown, CHURN: "# Churn"}
    assert not merge_managed_blocks(note, {REVENUE: markdown}).changed


def test_page_urls_are_html_escaped_in_the_tag() -> None:
    url = f'{WIKI}/101?a=1&b="2"'

    note = merge_managed_blocks("", {url: "x"}).note

    assert note.startswith(f'<faq confluence_page_url="{WIKI}/101?a=1&amp;b=&quot;2&quot;">')
    assert parse_managed_blocks(note) == {url: "x"}


def test_only_complete_character_references_in_a_url_are_decoded() -> None:
    # Dot's own script writes the URL unescaped: a raw "&copy" must not become "©".
    note = '<faq confluence_page_url="https://x/?a=1&copy=2&amp;b=&#51;">\n\nx\n\n</faq>'

    assert parse_managed_blocks(note) == {"https://x/?a=1&copy=2&b=3": "x"}


def test_parsing_tolerates_what_humans_do_to_tags_and_updates_keep_the_tag() -> None:
    tags = [
        f"<FAQ Confluence_Page_URL='{REVENUE}'>",
        f'<faq\n  title="Revenue > cost"\n  confluence_page_url = " {CHURN} " >',
        f"<faq data-x confluence_page_url={GLOSSARY}>",
    ]
    note = "".join(f"{tag}body {i}</faq >\n" for i, tag in enumerate(tags))

    assert parse_managed_blocks(note) == {REVENUE: "body 0", CHURN: "body 1", GLOSSARY: "body 2"}
    updated = merge_managed_blocks(note, {CHURN: "new"}).note
    assert updated == note.replace("body 1</faq >", "\n\nnew\n\n</faq >")


def test_a_managed_block_without_its_closing_tag_is_refused() -> None:
    note = "Intro\n" + f'<faq confluence_page_url="{REVENUE}">\n\nno end\n\n' + block(CHURN, "c")

    with pytest.raises(MalformedNoteError, match=r"line 2: .*wiki/pages/101"):
        merge_managed_blocks(note, {CHURN: "new"})
    with pytest.raises(MalformedNoteError):
        parse_managed_blocks(note + f"\n<faq confluence_page_url='{ORDERS}'>")


def test_an_unclosed_hand_written_faq_and_a_stray_close_are_plain_text() -> None:
    note = "<faq>\nQ: never closed\n" + block(REVENUE, "r") + "\n</faq>\n"

    assert parse_managed_blocks(note) == {REVENUE: "r"}
    assert merge_managed_blocks(note, {REVENUE: "new"}).note == note.replace("\nr\n", "\nnew\n")


@pytest.mark.parametrize("url", ["", " https://x", "https://x\n"])
def test_page_urls_with_surrounding_whitespace_are_refused(url: str) -> None:
    with pytest.raises(ValueError, match="page URL"):
        merge_managed_blocks("", {url: "x"})


def test_managed_urls_must_be_a_collection_not_one_url() -> None:
    with pytest.raises(TypeError):
        merge_managed_blocks("", {}, managed_urls=REVENUE)


# --------------------------------------------------------------------------------------
# split_at_headings
# --------------------------------------------------------------------------------------


PARAGRAPH = "p" * 79 + "\n\n"  # 81 characters


def assert_parts(parts: list[str], markdown: str, limit: int) -> None:
    assert "".join(parts) == markdown
    assert all(len(part) <= limit for part in parts)
    assert all(parts) or parts == [""]


def starts(parts: list[str]) -> list[str]:
    return [part.split("\n", 1)[0][:5] for part in parts]


def test_markdown_within_the_limit_is_one_part() -> None:
    assert split_at_headings("") == [""]
    assert split_at_headings("# Small\n\ntext\n") == ["# Small\n\ntext\n"]


def test_sections_that_fit_are_cut_at_h1_only_and_share_parts() -> None:
    a = "# A\n\n" + PARAGRAPH * 3  # 248
    b = "# B\n\n" + PARAGRAPH * 2 + "## B1\n\n" + PARAGRAPH * 3  # 417
    c = "# C\n\n" + PARAGRAPH * 2  # 167
    markdown = "Preamble\n\n" + a + b + c

    parts = split_at_headings(markdown, limit=600)

    assert parts == ["Preamble\n\n" + a, b + c]


def test_a_section_over_the_limit_is_cut_at_h2_then_at_paragraphs() -> None:
    a = "# A\n\n" + PARAGRAPH  # 86
    a1 = "## A1\n\n" + PARAGRAPH * 2  # 169
    a2 = "## A2\n\n" + PARAGRAPH * 8  # 655: over the limit on its own
    b = "# B\n\n" + PARAGRAPH  # 86
    markdown = a + a1 + a2 + b

    parts = split_at_headings(markdown, limit=300)

    assert_parts(parts, markdown, 300)
    assert parts[0] == a + a1
    assert starts(parts) == ["# A", "## A2", "ppppp", "ppppp"]
    assert parts[-1].endswith(PARAGRAPH + b)


def test_a_heading_stays_with_the_text_below_it() -> None:
    markdown = "x" * 35 + "\n\n# B\n\n" + "y" * 50 + "\n"

    parts = split_at_headings(markdown, limit=40)

    assert_parts(parts, markdown, 40)
    assert parts[1].startswith("# B\n\nyyy")


def test_headings_and_blank_lines_inside_code_fences_are_not_cut_points() -> None:
    fence = "```python\n# not a heading\n\nx = 1\n\n# still code\n```\n\n"
    tilde = "~~~~\n```\n# inside a tilde fence\n```\n\n## nor this\n~~~~\n\n"
    markdown = "# Top\n\n" + "intro " * 10 + "\n\n" + fence + tilde + "after " * 10 + "\n"

    for limit in range(80, len(markdown) + 1, 7):
        parts = split_at_headings(markdown, limit=limit)
        assert_parts(parts, markdown, limit)
        for part in parts[1:]:
            assert part.startswith(("```python", "~~~~", "after")), (limit, part)


def test_a_fence_over_the_limit_is_cut_between_lines_as_a_last_resort() -> None:
    code = "".join(f"row_{i} = {i}\n" for i in range(40))
    markdown = f"# Code\n\n```\n{code}```\n"

    parts = split_at_headings(markdown, limit=100)

    assert_parts(parts, markdown, 100)
    assert all(part.endswith("\n") for part in parts)


def test_one_long_line_is_hard_split() -> None:
    markdown = "z" * 250

    assert split_at_headings(markdown, limit=100) == ["z" * 100, "z" * 100, "z" * 50]


def test_any_markdown_splits_into_parts_that_fit_and_join_back_exactly() -> None:
    rng = random.Random(3)
    lines = ["# H1", "## H2", "### H3", "", "", "text line", "```", "~~~", "- item", "\r", "x" * 40]
    for _ in range(300):
        markdown = "\n".join(rng.choice(lines) for _ in range(rng.randint(0, 60)))
        limit = rng.randint(1, 120)
        assert_parts(split_at_headings(markdown, limit=limit), markdown, limit)


def test_limit_must_be_positive() -> None:
    with pytest.raises(ValueError, match="limit"):
        split_at_headings("x", limit=0)


# --------------------------------------------------------------------------------------
# note_title, content_hash, owned-note marker
# --------------------------------------------------------------------------------------


def test_note_title() -> None:
    assert note_title("Revenue", "[Confluence]", 2, 3) == "[Confluence] Revenue (2/3)"
    assert note_title("Revenue", "[Confluence]", 1, 1) == "[Confluence] Revenue"
    assert note_title("Revenue", "", 1, 2) == "Revenue (1/2)"
    with pytest.raises(ValueError):
        note_title("Revenue", "", 3, 2)


def test_content_hash_covers_title_and_text_without_ambiguity() -> None:
    digest = content_hash("Revenue", "# Revenue")

    assert re.fullmatch(r"[0-9a-f]{64}", digest)
    assert digest == content_hash("Revenue", "# Revenue")
    assert digest != content_hash("Revenue ", "# Revenue")
    assert content_hash("ab", "c") != content_hash("a", "bc")


def test_owned_note_marker_round_trip() -> None:
    note = render_owned_note("# Revenue\n\ntext\n\n", "123456", 2, 3)

    assert note == "# Revenue\n\ntext\n\n<!-- dot-orchestration:confluence page=123456 part=2/3 -->"
    assert owned_note_key(note) == OwnedNoteKey("123456", 2, 3)
    assert owned_note_key(note + "\r\n\n") == OwnedNoteKey("123456", 2, 3)  # stored with CRLF


@pytest.mark.parametrize(
    "note",
    [
        "# Revenue\n\nWritten by hand under a title like ours.",
        "<!-- dot-orchestration:confluence page=123 part=1/1 -->\n\nQuoted, then more text.",
        "<!-- dot-orchestration:confluence page=123 part=1/1 --> and more",
        "<!-- dot-orchestration:confluence page=123 part=3/2 -->",
        "<!-- dot-orchestration:confluence page=123 part=1/1 hash=x -->",
        "<!-- dot-orchestration:confluence page=123 part=0/1 -->",
        "<!--dot-orchestration:confluence page=123 part=1/1-->",
        "",
    ],
    ids=[
        "title-only",
        "marker-not-last",
        "trailing-text",
        "part>parts",
        "extra-field",
        "part-0",
        "no-spaces",
        "empty",
    ],
)
def test_a_lookalike_note_is_not_claimed(note: str) -> None:
    assert owned_note_key(note) is None


@pytest.mark.parametrize("page_id", ["", "12 34", "1-->", "x" * 65])
def test_page_ids_that_would_break_the_marker_are_refused(page_id: str) -> None:
    with pytest.raises(ValueError, match="page id"):
        render_owned_note("x", page_id, 1, 1)


def test_render_owned_notes_fit_the_limit_marker_included() -> None:
    markdown = "".join(f"# S{i}\n\n" + PARAGRAPH for i in range(30))

    for limit in (200, 400, 5_000):
        notes = render_owned_notes(markdown, "123456", limit=limit)
        assert all(len(note) <= limit for note in notes)
        assert [owned_note_key(note) for note in notes] == [
            OwnedNoteKey("123456", part, len(notes)) for part in range(1, len(notes) + 1)
        ]
        bodies = [note.rpartition("\n\n<!--")[0] for note in notes]
        assert "".join(bodies).replace("\n", "") == markdown.replace("\n", "")
    assert len(render_owned_notes(markdown, "123456", limit=200)) >= 10  # marker gained a digit


def test_render_owned_notes_needs_room_beside_the_marker() -> None:
    with pytest.raises(ValueError, match="no room"):
        render_owned_notes("x", "123456", limit=50)
