"""The Confluence emulator as any HTTP client sees it: shapes, paging, auth, CQL, controls."""

from __future__ import annotations

import re
from importlib.resources import files
from typing import Any

import httpx
import markdownify
import pytest

from dot_orchestration.emulator.confluence import (
    DEFAULT_USERS,
    ConfluenceEmulatorServer,
    CqlError,
    parse_cql,
    seed_page_ids,
)
from dot_orchestration.transforms.storage_markdown import storage_to_markdown

ANALYST, ADMIN = DEFAULT_USERS
BASIC = (ANALYST.email, ANALYST.api_token)
PAGES = seed_page_ids()
HOME, METRICS, REVENUE = PAGES["Data team"], PAGES["Metric definitions"], PAGES["Revenue"]
Site = ConfluenceEmulatorServer


def get(site: Site, path: str, **params: Any) -> httpx.Response:
    return httpx.get(f"{site.url}{path}", params=params, auth=BASIC)


def test_the_2024_docs_confluence_script_works_unmodified(confluence_site: Site) -> None:
    """Dot's example: v1 content with expand=body.storage, basic auth, markdownify ATX."""
    requests = pytest.importorskip("requests")
    atl_site, page_id = confluence_site.url, REVENUE
    atl_auth = (ANALYST.email, ANALYST.api_token)

    r = requests.get(f"{atl_site}/rest/api/content/{page_id}?expand=body.storage", auth=atl_auth)
    r.raise_for_status()
    html = r.json()["body"]["storage"]["value"]
    md = markdownify.markdownify(html, heading_style="ATX")

    assert "# Revenue" in md
    assert "analytics.fct\\_orders" in md  # the escaping our converter exists to avoid


def test_v2_page_has_confluences_shape(confluence_site: Site) -> None:
    page = get(confluence_site, f"/api/v2/pages/{REVENUE}", **{"body-format": "storage"}).json()

    assert page["id"] == REVENUE
    assert (page["title"], page["status"], page["spaceId"]) == ("Revenue", "current", "98305")
    assert page["parentId"] == METRICS
    assert page["version"] == {
        "number": 23,
        "message": "",
        "minorEdit": False,
        "createdAt": "2025-05-12T16:45:00.000Z",
    }
    assert page["body"]["storage"]["representation"] == "storage"
    assert page["body"]["storage"]["value"].startswith("<ac:structured-macro")
    assert page["_links"]["webui"] == f"/spaces/DATA/pages/{REVENUE}/Revenue"
    assert page["_links"]["base"] == confluence_site.url


def test_v2_bodies_only_when_asked_for(confluence_site: Site) -> None:
    assert get(confluence_site, f"/api/v2/pages/{REVENUE}").json()["body"] == {}
    bad = get(confluence_site, f"/api/v2/pages/{REVENUE}", **{"body-format": "wiki"})
    assert bad.status_code == 400


@pytest.mark.parametrize(
    ("path", "params"),
    [
        ("/api/v2/pages", {"space-id": "98305"}),
        (f"/api/v2/pages/{HOME}/children", {}),
        (f"/api/v2/pages/{HOME}/direct-children", {}),
        (f"/api/v2/pages/{HOME}/descendants", {}),
    ],
)
def test_v2_lists_page_with_cursors_to_the_end(
    confluence_site: Site, path: str, params: dict[str, str]
) -> None:
    response = get(confluence_site, path, limit=2, **params)
    ids: list[str] = []
    while True:
        body = response.json()
        ids += [item["id"] for item in body["results"]]
        if "next" not in body["_links"]:
            break
        assert body["_links"]["next"].startswith("/wiki/api/v2/")
        assert response.headers["Link"].startswith(f'<{body["_links"]["next"]}>; rel="next"')
        origin = confluence_site.url.removesuffix("/wiki")
        response = httpx.get(origin + body["_links"]["next"], auth=BASIC)

    assert len(ids) == len(set(ids)) > 2
    assert PAGES["Compensation bands"] not in ids  # restricted: listed for nobody but admin


def test_v2_descendants_are_top_to_bottom_with_depth(confluence_site: Site) -> None:
    items = get(confluence_site, f"/api/v2/pages/{HOME}/descendants", depth=2).json()["results"]

    depths = [item["depth"] for item in items]
    assert depths == sorted(depths) and set(depths) == {1, 2}
    assert {"id", "title", "parentId", "depth", "type", "status"} <= set(items[0])


@pytest.mark.parametrize("params", [{"limit": "0"}, {"limit": "251"}, {"cursor": "garbage!"}])
def test_v2_rejects_bad_paging_with_400(confluence_site: Site, params: dict[str, str]) -> None:
    response = get(confluence_site, "/api/v2/pages", **params)

    assert response.status_code == 400
    assert response.json()["errors"][0]["status"] == 400


def test_v1_content_expands_like_confluence(confluence_site: Site) -> None:
    plain = get(confluence_site, f"/rest/api/content/{REVENUE}").json()
    full = get(
        confluence_site, f"/rest/api/content/{REVENUE}", expand="body.storage,ancestors"
    ).json()

    assert {"space", "history", "version"} <= set(plain) and "body" not in plain
    assert plain["version"]["number"] == 23 and plain["space"]["key"] == "DATA"
    assert full["body"]["storage"]["representation"] == "storage"
    assert [ancestor["id"] for ancestor in full["ancestors"]] == [HOME, METRICS]
    assert full["_links"]["base"] == confluence_site.url


def test_v1_search_pages_with_start_and_limit(confluence_site: Site) -> None:
    first = get(confluence_site, "/rest/api/content/search", cql="space = DATA", limit=3).json()

    assert (first["start"], first["limit"], first["size"]) == (0, 3, 3)
    assert first["_links"]["next"].startswith("/rest/api/content/search?")
    second = httpx.get(first["_links"]["base"] + first["_links"]["next"], auth=BASIC).json()
    assert second["start"] == 3
    assert not {r["id"] for r in first["results"]} & {r["id"] for r in second["results"]}


@pytest.mark.parametrize(
    ("headers", "status"),
    [
        ({}, 401),
        ({"Authorization": "Bearer dc-no-such-pat"}, 401),
        ({"Authorization": "Basic bm90OmJhc2U2NA=="}, 401),  # not:base64
        ({"Authorization": f"Bearer {ADMIN.personal_access_token}"}, 200),
    ],
)
def test_auth_is_basic_or_bearer(
    confluence_site: Site, headers: dict[str, str], status: int
) -> None:
    for path in (f"/api/v2/pages/{REVENUE}", f"/rest/api/content/{REVENUE}"):
        assert httpx.get(f"{confluence_site.url}{path}", headers=headers).status_code == status


@pytest.mark.parametrize(
    ("page", "status"),
    [(PAGES["Compensation bands"], 403), ("424242", 404)],
)
def test_errors_use_each_apis_shape(confluence_site: Site, page: str, status: int) -> None:
    v2 = get(confluence_site, f"/api/v2/pages/{page}")
    v1 = get(confluence_site, f"/rest/api/content/{page}")

    assert v2.status_code == v1.status_code == status
    assert v2.json()["errors"][0]["status"] == status
    assert v1.json()["statusCode"] == status


def test_control_plane_injects_faults_keeps_a_journal_edits_and_resets(
    confluence_site: Site,
) -> None:
    control = confluence_site.url.removesuffix("/wiki") + "/_emulator"
    rule = {"path": "/wiki/api/v2/pages/*", "status": 429, "retry_after": 7, "times": 1}
    httpx.put(f"{control}/faults", json={"rules": [rule]}).raise_for_status()

    refused = get(confluence_site, f"/api/v2/pages/{REVENUE}")
    served = get(confluence_site, f"/api/v2/pages/{REVENUE}")
    edited = httpx.put(f"{control}/pages/{REVENUE}", json={"body": "<p>new</p>"}).json()

    assert (refused.status_code, refused.headers["Retry-After"]) == (429, "7")
    assert served.status_code == 200
    assert edited["version"]["number"] == 24
    entries = httpx.get(f"{control}/journal").json()["entries"]
    assert [(e["status"], e["fault"], e["auth"]) for e in entries] == [
        (429, True, None),
        (200, False, "basic"),
    ]
    assert httpx.get(f"{control}/faults").json()["rules"][0]["injected"] == 1
    httpx.post(f"{control}/reset").raise_for_status()
    assert confluence_site.state.page(REVENUE).version == 23  # type: ignore[union-attr]
    assert confluence_site.state.journal == []


@pytest.mark.parametrize(
    "cql",
    [
        "space = DATA OR space = ENG",
        "NOT space = DATA",
        "(space = DATA)",
        "space = DATA AND",
        'lastModified > now("-4w")',
        'lastModified > "last tuesday"',
        "text ~ revenue",
        "title > Revenue",
        "space = DATA ORDER BY popularity",
        "",
        'title = "unterminated',
    ],
)
def test_unsupported_cql_is_refused_rather_than_misread(cql: str) -> None:
    with pytest.raises(CqlError, match="Could not parse cql"):
        parse_cql(cql)


def test_every_seed_page_converts_without_leaking_macro_parameters() -> None:
    pages = files("dot_orchestration.emulator.confluence") / "pages"
    for page in pages.iterdir():
        if page.name.endswith(".xml"):
            markdown = storage_to_markdown(page.read_text(encoding="utf-8"))
            assert markdown, page.name
            assert not re.search(r"maxLevel|schema-version|macro-id|true(?!\w)", markdown)


def test_the_oversized_seed_page_needs_splitting_at_headings(confluence_site: Site) -> None:
    page = confluence_site.state.page(PAGES["Warehouse handbook"])
    assert page is not None

    markdown = storage_to_markdown(page.body)

    assert len(markdown) > 50_000
    assert len(re.findall(r"^# ", markdown, flags=re.MULTILINE)) >= 5
    assert len(re.findall(r"^## ", markdown, flags=re.MULTILINE)) >= 20
