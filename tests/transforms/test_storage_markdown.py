"""storage_to_markdown on realistic storage-format bodies, one construct per fixture.

Each fixture under tests/fixtures/confluence/storage/ is shaped like what Confluence's
REST API returns in `body.storage.value`; each test pins the exact Markdown.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from dot_orchestration.transforms.storage_markdown import StorageFormatError, storage_to_markdown

FIXTURES = Path(__file__).parents[1] / "fixtures" / "confluence" / "storage"
SITE = "https://acme.atlassian.net/wiki"


def convert(fixture: str, **context: str) -> str:
    return storage_to_markdown((FIXTURES / fixture).read_text(encoding="utf-8"), **context)


def test_code_macro_is_fenced_with_its_language_and_its_body_byte_for_byte() -> None:
    storage = (FIXTURES / "code_macro.xml").read_text(encoding="utf-8")
    first_macro = storage.split("</ac:structured-macro>")[0]
    body = "".join(re.findall(r"<!\[CDATA\[(.*?)\]\]>", first_macro, flags=re.DOTALL))

    markdown = convert("code_macro.xml")

    assert f"````sql\n{body}\n````" in markdown  # the body holds ``` so the fence is longer
    assert markdown == (
        "The nightly check compares both sides:\n"
        "\n"
        "````sql\n"
        "select order_date, sum(amount_usd) as revenue\n"
        "from analytics.fct_orders\n"
        "where status <> 'cancelled' and amount_usd > 0 && true\n"
        "  -- a literal fence: ```\n"
        "  and note not like '%]]>%'\n"
        "group by 1\n"
        "````\n"
        "\n"
        "```\n"
        "dbt build --select fct_orders+\n"
        "```"
    )


def test_panels_become_blockquotes_with_a_bold_label() -> None:
    assert convert("panels.xml") == (
        "> **Info**\n"
        ">\n"
        "> Revenue is reported in **USD**.\n"
        "\n"
        "> **Note: Late data**\n"
        ">\n"
        "> Orders from the EU shop land after 06:00 UTC.\n"
        "\n"
        "> **Warning**\n"
        ">\n"
        "> Never join `fct_orders` to `dim_customers` on email.\n"
        ">\n"
        "> - use `customer_id`\n"
        "\n"
        "> **Tip**\n"
        ">\n"
        "> Filter on `is_test = false`.\n"
        "\n"
        "> **Owner**\n"
        ">\n"
        "> Finance analytics"
    )


def test_cloud_adf_panel_and_other_adf_nodes_use_their_content() -> None:
    assert convert("adf_panel.xml") == (
        "> **Success**\n>\n> Backfill finished for 2025.\n\n- Decided: report gross revenue"
    )


def test_expand_keeps_title_and_body_including_nested_code() -> None:
    assert convert("expand.xml") == (
        "Definition below.\n"
        "\n"
        "**Why gross, not net?**\n"
        "\n"
        "Refunds arrive up to 30 days later.\n"
        "\n"
        "```sql\n"
        "select sum(amount_usd) from fct_refunds\n"
        "```\n"
        "\n"
        "**Expand**\n"
        "\n"
        "No title given."
    )


def test_status_macro_renders_its_title_inline_and_in_tables() -> None:
    assert convert("status.xml") == (
        "| **Metric** | **Status** |\n"
        "| --- | --- |\n"
        "| Revenue | Certified |\n"
        "\n"
        "Churn is In review until Q3."
    )


def test_toc_is_dropped_without_leaking_its_parameters() -> None:
    assert convert("toc.xml") == "# Scope\n\nAll paid orders."


def test_page_links_name_their_target_when_no_url_can_be_formed() -> None:
    assert convert("page_links.xml") == (
        "See how we count customers (page: Active customers), "
        "the Deploy checklist (v2) (page: Deploy checklist (v2)) "
        "and **refund rules** (page: Revenue). "
        "Asked by @user; jump to [the FAQ](#faq)."
    )


def test_page_links_get_urls_from_the_site_and_the_space() -> None:
    assert convert("page_links.xml", base_url=f"{SITE}/", space_key="DATA") == (
        f"See [how we count customers]({SITE}/display/DATA/Active+customers), "
        f"the [Deploy checklist (v2)]({SITE}/display/ENG/Deploy+checklist+%28v2%29) "
        f"and [**refund rules**]({SITE}/display/DATA/Revenue#refunds). "
        "Asked by @user; jump to [the FAQ](#faq)."
    )


def test_attachment_and_url_links() -> None:
    tail = (
        "the mapping in mapping.xlsx (attachment: mapping.xlsx on page Playbook), "
        "and the vendor docs at [Dot notes](https://docs.getdot.ai/notes) "
        "or [getdot.ai](https://www.getdot.ai/)."
    )
    assert convert("attachment_and_url_links.xml") == (
        f"The audit is in the audit report (attachment: revenue audit 2025.pdf), {tail}"
    )
    assert convert("attachment_and_url_links.xml", base_url=SITE, page_id="1020") == (
        "The audit is in [the audit report]"
        f"({SITE}/download/attachments/1020/revenue%20audit%202025.pdf), {tail}"
    )


def test_images_keep_their_alt_text() -> None:
    assert convert("images.xml") == (
        "[image: Order pipeline: Shopify to Snowflake to dbt]\n"
        "\n"
        "Logo: ![logo.svg](https://example.com/logo.svg)\n"
        "\n"
        "[image: Dashboard screenshot]"
    )
    attachment = f"{SITE}/download/attachments/1020/pipeline.png"
    assert convert("images.xml", base_url=SITE, page_id="1020").startswith(
        f"![Order pipeline: Shopify to Snowflake to dbt]({attachment})"
    )


def test_tables_have_a_header_row_escaped_pipes_and_br_between_cell_lines() -> None:
    assert convert("tables.xml") == (
        "| **Column** | **Type** | **Meaning** |\n"
        "| --- | --- | --- |\n"
        "| `order_id` | varchar | Shopify order id, unique per shop.<br>Never reused. |\n"
        "| amount_usd | number(18,2) | Gross amount \\| before refunds<br>in USD |\n"
        "| channel | varchar | - web<br>- app |\n"
        "\n"
        "| Owner | Finance analytics |\n"
        "| --- | --- |\n"
        "| Refresh | hourly |"
    )


def test_task_lists_become_checkboxes_with_nesting() -> None:
    assert convert("task_lists.xml") == (
        "Before month end:\n"
        "\n"
        "- [x] Freeze `fct_orders` snapshot\n"
        "- [ ] Reconcile with finance by 2026-01-31\n"
        "  - [ ] EU shop"
    )


def test_emoticons_become_emoji() -> None:
    assert convert("emoticons.xml") == (
        "Certified ✅ deprecated ❌ careful ⚠️ idea 💡 party 🥳 custom :shipit:"
    )


def test_atx_headings_and_identifiers_are_not_escaped() -> None:
    assert convert("headings_and_identifiers.xml") == (
        "# Revenue & orders\n"
        "\n"
        "Source: `analytics.fct_orders`, joined to dim_customers on customer_id.\n"
        "\n"
        "## How it is computed\n"
        "\n"
        "SELECT * is banned; use count(\\*) and multiply by 1.2 * rate. "
        "*Gross* means **before refunds**.\n"
        "\n"
        "### Edge cases\n"
        "\n"
        "1. Orders with amount_usd = 0\n"
        "2. Test shops (`is_test`)"
    )


def test_unknown_macros_keep_their_body_and_never_their_parameters() -> None:
    markdown = convert("unknown_macro.xml")

    assert markdown == (
        "Owner: finance\n"
        "\n"
        "```\n"
        "graph LR\n"
        "  shopify --> snowflake\n"
        "```\n"
        "\n"
        "Ticket DATA-142 tracks it."
    )
    for parameter in ("metric-props", "title", "System JIRA", "b2c3d4e5", "flow"):
        assert parameter not in markdown


def test_layouts_and_inline_comment_markers_are_transparent() -> None:
    assert convert("layouts.xml") == (
        "## Inputs\n\nShopify orders\n\n## Outputs\n\nRevenue dashboard (daily)"
    )


def test_blank_body_is_an_empty_note() -> None:
    assert storage_to_markdown("  \n") == ""


@pytest.mark.parametrize(
    ("storage", "markdown"),
    [
        ("<p>Hello <strong>world</p><p>next", "Hello **world**\n\nnext"),  # unclosed, misnested
        ("</div><p>stray end</span></p>", "stray end"),  # end tags without a start
        ("<p>a < b, AT&T, &rsquo;, &bogus;</p>", "a < b, AT&T, \u2019, &bogus;"),  # lone < &
        ("plain text without markup", "plain text without markup"),
    ],
)
def test_structural_damage_is_repaired_without_losing_text(storage: str, markdown: str) -> None:
    assert storage_to_markdown(storage) == markdown


@pytest.mark.parametrize(
    ("storage", "offset", "problem"),
    [
        ('<p>Revenue</p><ac:structured-macro ac:name="co', 14, "unreadable markup"),  # cut off
        ('<p class="lead>Revenue</p><p class="x">more</p>', 0, "unreadable markup"),  # quote
        ("<p>a</p><!-- draft <p>Revenue</p>", 8, "unreadable markup '<!-- draft"),
        ("<ac:plain-text-body><![CDATA[select 1 from fct_orders", 20, "'<![CDATA[select"),
        ("PK\x03\x04binary", 2, "control character"),
    ],
)
def test_lexical_damage_raises_with_the_offset(storage: str, offset: int, problem: str) -> None:
    with pytest.raises(StorageFormatError, match=re.escape(problem)) as raised:
        storage_to_markdown(storage)

    assert raised.value.offset == offset
    assert str(raised.value).endswith(f"at offset {offset}")
