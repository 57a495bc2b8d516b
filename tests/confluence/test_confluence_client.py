"""ConfluenceClient over real HTTP against the emulator, on both flavours."""

from __future__ import annotations

import base64
import logging
from collections.abc import Callable
from datetime import datetime, timezone

import httpx
import pytest

from dot_orchestration.confluence import (
    ConfluenceAuthError,
    ConfluenceBadRequestError,
    ConfluenceClient,
    ConfluenceConfigError,
    ConfluenceError,
    ConfluenceNotFoundError,
    ConfluencePermissionError,
    ConfluenceRateLimitError,
    ConfluenceResponseError,
    ConfluenceServerError,
    ConfluenceTimeoutError,
    HttpRetries,
    PageRef,
)
from dot_orchestration.emulator.confluence import (
    DEFAULT_USERS,
    ConfluenceEmulatorServer,
    FaultRule,
    seed_page_ids,
)

ANALYST, ADMIN = DEFAULT_USERS
PAGES = seed_page_ids()
HOME, METRICS, REVENUE = PAGES["Data team"], PAGES["Metric definitions"], PAGES["Revenue"]
RESTRICTED = PAGES["Compensation bands"]
DATA_PAGES = {
    id_ for title, id_ in PAGES.items() if title not in {"Engineering", "Deploy checklist"}
}
VISIBLE_DATA_PAGES = DATA_PAGES - {RESTRICTED}
FLAVOURS = ["cloud", "datacenter"]

Site = ConfluenceEmulatorServer
ClientFactory = Callable[..., ConfluenceClient]  # the `make_client` fixture


def journal(site: Site) -> list[tuple[str, str, str | None]]:
    """(path, auth scheme, user) of each request the site served."""
    return [(entry.path, entry.auth or "", entry.user) for entry in site.state.journal]


# ---- get_page


def test_cloud_reads_a_page_through_v2_with_basic_auth(
    cloud: ConfluenceClient, confluence_site: Site
) -> None:
    page = cloud.get_page(REVENUE)

    assert (page.id, page.title, page.version, page.space) == (REVENUE, "Revenue", 23, "DATA")
    assert page.parent_id == METRICS
    assert page.last_modified == datetime(2025, 5, 12, 16, 45, tzinfo=timezone.utc)
    assert page.web_url == f"{confluence_site.url}/spaces/DATA/pages/{REVENUE}/Revenue"
    assert page.body_storage.startswith('<ac:structured-macro ac:name="toc"')
    assert journal(confluence_site) == [(f"/wiki/api/v2/pages/{REVENUE}", "basic", "analyst")]


def test_datacenter_reads_the_same_page_through_v1_with_a_bearer_token(
    cloud: ConfluenceClient, datacenter: ConfluenceClient, confluence_site: Site
) -> None:
    assert datacenter.get_page(REVENUE) == cloud.get_page(REVENUE)
    assert journal(confluence_site)[0] == (f"/wiki/rest/api/content/{REVENUE}", "bearer", "analyst")


@pytest.mark.parametrize("flavour", FLAVOURS)
def test_version_bump_is_visible(
    make_client: ClientFactory, confluence_site: Site, flavour: str
) -> None:
    client = make_client(flavour)
    before = client.get_page_versions([REVENUE])[REVENUE]

    confluence_site.state.update_page(REVENUE, body="<p>Revenue v2</p>", title="Revenue (gross)")

    after = client.get_page_versions([REVENUE])[REVENUE]
    assert after.version == before.version + 1
    assert after.title == "Revenue (gross)"
    assert after.last_modified > before.last_modified
    assert client.get_page(REVENUE).body_storage == "<p>Revenue v2</p>"


# ---- cheap version listing


@pytest.mark.parametrize("flavour", FLAVOURS)
def test_page_versions_cost_one_request_per_250_pages_and_skip_unreadable_ones(
    make_client: ClientFactory, confluence_site: Site, flavour: str
) -> None:
    client = make_client(flavour)
    wanted = [*sorted(DATA_PAGES), "999999", REVENUE]  # unknown, restricted, repeated

    versions = client.get_page_versions(wanted)

    assert set(versions) == VISIBLE_DATA_PAGES
    assert versions[REVENUE].version == 23
    assert versions[HOME].parent_id is None
    assert len(confluence_site.state.journal) == 1
    assert "body" not in confluence_site.state.journal[0].query


@pytest.mark.parametrize("flavour", FLAVOURS)
def test_page_versions_chunk_by_page_size(
    make_client: ClientFactory, confluence_site: Site, flavour: str
) -> None:
    client = make_client(flavour, page_size=3)

    versions = client.get_page_versions(sorted(VISIBLE_DATA_PAGES))

    assert set(versions) == VISIBLE_DATA_PAGES
    assert len(confluence_site.state.journal) == 3  # 8 ids in chunks of 3


# ---- descendants and pagination


@pytest.mark.parametrize("flavour", FLAVOURS)
def test_descendants_follow_pagination_to_the_end(
    make_client: ClientFactory, confluence_site: Site, flavour: str
) -> None:
    client = make_client(flavour, page_size=2)

    found = list(client.iter_descendants(HOME))

    assert {ref.id for ref in found} == VISIBLE_DATA_PAGES - {HOME}
    nrr = PAGES["Net revenue retention"]
    assert PageRef(id=nrr, title="Net revenue retention", parent_id=REVENUE) in found
    assert len(confluence_site.state.journal) == 4  # 7 pages, 2 per request


@pytest.mark.parametrize("flavour", FLAVOURS)
def test_descendants_reach_below_the_depth_one_call_returns(
    make_client: ClientFactory, confluence_site: Site, flavour: str
) -> None:
    parent = REVENUE
    chain = []
    for level in range(1, 9):  # deeper than v2's per-call depth of 5
        page = confluence_site.state.create_page(
            title=f"Level {level}", body="<p>deep</p>", space_key="DATA", parent_id=parent
        )
        chain.append(page.id)
        parent = page.id

    found = [ref.id for ref in make_client(flavour).iter_descendants(REVENUE)]

    assert set(chain) <= set(found)


@pytest.mark.parametrize("flavour", FLAVOURS)
def test_moved_and_deleted_pages(
    make_client: ClientFactory, confluence_site: Site, flavour: str
) -> None:
    client = make_client(flavour)
    state = confluence_site.state
    state.move_page(PAGES["FAQ"], METRICS)
    state.delete_page(REVENUE)  # its child moves up to Metric definitions

    below_metrics = {ref.id: ref.parent_id for ref in client.iter_descendants(METRICS)}

    assert below_metrics[PAGES["FAQ"]] == METRICS
    assert below_metrics[PAGES["Net revenue retention"]] == METRICS
    assert REVENUE not in below_metrics
    assert REVENUE not in client.get_page_versions([REVENUE])
    with pytest.raises(ConfluenceNotFoundError):
        client.get_page(REVENUE)


# ---- CQL


@pytest.mark.parametrize(
    ("cql", "titles"),
    [
        ('space = DATA and label = "dot" and title ~ "revenue"', ["Revenue"]),
        (
            f"ancestor = {METRICS} order by title desc",
            ["Revenue", "Net revenue retention", "Active customers"],
        ),
        ('type = page and space in (ENG) and lastModified > "2025-01-01"', ["Deploy checklist"]),
        ('label = metrics and created >= "2025-03-14 13:00"', ["Net revenue retention"]),
        (f"parent = {HOME} and label != dot", []),
        ('title ~ "net rev*"', ["Net revenue retention"]),
    ],
)  # fmt: skip
def test_cql_search(cloud: ConfluenceClient, cql: str, titles: list[str]) -> None:
    assert [summary.title for summary in cloud.search_cql(cql)] == titles


def test_cql_search_pages_to_the_end(make_client: ClientFactory, confluence_site: Site) -> None:
    found = list(make_client("cloud", page_size=2).search_cql("space = DATA"))

    assert {summary.id for summary in found} == VISIBLE_DATA_PAGES
    assert all(summary.space == "DATA" and summary.version > 0 for summary in found)
    assert len(confluence_site.state.journal) == 4


@pytest.mark.parametrize(
    "cql", ["space = DATA OR space = ENG", "text ~ revenue", "created > now('-4w')"]
)
def test_unsupported_cql_is_a_bad_request_with_confluences_reason(
    cloud: ConfluenceClient, cql: str
) -> None:
    with pytest.raises(ConfluenceBadRequestError) as raised:
        list(cloud.search_cql(cql))

    assert raised.value.detail is not None
    assert raised.value.detail.startswith("Could not parse cql")
    assert raised.value.status_code == 400


# ---- errors


@pytest.mark.parametrize("flavour", FLAVOURS)
def test_wrong_credentials_are_an_auth_error(make_client: ClientFactory, flavour: str) -> None:
    impostor = ANALYST.model_copy(
        update={"api_token": "atl-wrong-token-7c1e", "personal_access_token": "dc-wrong-pat-7c1e"}
    )
    with pytest.raises(ConfluenceAuthError) as raised:
        make_client(flavour, user=impostor).get_page(REVENUE)

    assert raised.value.status_code == 401
    assert raised.value.operation == "get_page"
    assert "7c1e" not in str(raised.value)


@pytest.mark.parametrize("flavour", FLAVOURS)
def test_restricted_page_is_a_permission_error_for_the_analyst_only(
    make_client: ClientFactory, flavour: str
) -> None:
    with pytest.raises(ConfluencePermissionError, match=rf"GET /wiki/.*/{RESTRICTED} -> HTTP 403"):
        make_client(flavour).get_page(RESTRICTED)

    assert make_client(flavour, user=ADMIN).get_page(RESTRICTED).title == "Compensation bands"


@pytest.mark.parametrize("flavour", FLAVOURS)
def test_unknown_page_is_not_found(make_client: ClientFactory, flavour: str) -> None:
    with pytest.raises(
        ConfluenceNotFoundError, match=r"get_page: GET /wiki/\S+/424242 -> HTTP 404"
    ):
        make_client(flavour).get_page("424242")


def test_ids_are_checked_before_anything_is_sent(
    cloud: ConfluenceClient, confluence_site: Site
) -> None:
    with pytest.raises(ConfluenceConfigError, match="strings of digits"):
        cloud.get_page("../admin")
    assert confluence_site.state.journal == []


# ---- retries


@pytest.mark.parametrize("flavour", FLAVOURS)
@pytest.mark.parametrize("status", [429, 503])
def test_rate_limits_and_unavailability_are_retried_after_retry_after(
    make_client: ClientFactory, confluence_site: Site, flavour: str, status: int
) -> None:
    confluence_site.state.faults = [FaultRule(status=status, retry_after=0.05, times=2)]

    assert make_client(flavour).get_page(REVENUE).id == REVENUE

    statuses = [entry.status for entry in confluence_site.state.journal]
    assert statuses == [status, status, 200]


def test_rate_limit_outlasting_the_retries_is_typed_with_retry_after(
    make_client: ClientFactory, confluence_site: Site
) -> None:
    confluence_site.state.faults = [FaultRule(status=429, retry_after=0.01, times=None)]

    with pytest.raises(ConfluenceRateLimitError) as raised:
        make_client("cloud").get_page_versions([REVENUE])

    assert raised.value.retry_after == pytest.approx(0.01)
    assert raised.value.attempts == 3
    assert "after 3 attempts" in str(raised.value)


def test_server_errors_after_retries_are_typed(
    make_client: ClientFactory, confluence_site: Site
) -> None:
    confluence_site.state.faults = [FaultRule(status=502, retry_after=None, times=None)]

    with pytest.raises(ConfluenceServerError):
        list(make_client("datacenter").iter_descendants(HOME))


# ---- secrets


def test_no_secret_reaches_errors_logs_or_reprs(
    make_client: ClientFactory,
    confluence_site: Site,
    caplog: pytest.LogCaptureFixture,
    capsys: pytest.CaptureFixture[str],
) -> None:
    caplog.set_level(logging.DEBUG)
    confluence_site.state.faults = [FaultRule(status=429, retry_after=0.01, times=1)]
    impostor = ANALYST.model_copy(
        update={"api_token": "atl-secret-b64c", "personal_access_token": "dc-secret-b64c"}
    )
    texts: list[str] = []
    for flavour in FLAVOURS:
        for user in (ANALYST, impostor):
            client = make_client(flavour, user=user)
            texts.append(repr(client))
            try:
                client.get_page(RESTRICTED)
            except ConfluenceError as error:
                texts += [str(error), repr(error), str(getattr(error, "body", ""))]
    texts += [caplog.text, *capsys.readouterr()]
    texts += [entry.model_dump_json() for entry in confluence_site.state.journal]
    captured = "\n".join(texts)

    assert "attempt 1 failed (HTTP 429)" in captured  # the retry was logged...
    for user in (ANALYST, impostor):  # ...and no credential in any form was
        basic = base64.b64encode(f"{user.email}:{user.api_token}".encode()).decode()
        for secret in (user.api_token, user.personal_access_token, basic):
            assert secret not in captured


def test_settings_errors_never_echo_a_token(confluence_site: Site) -> None:
    attempts = [
        {"email": "a@example.com", "api_token": "tok-1a2b", "personal_access_token": "pat-1a2b"},
        {"personal_access_token": "pat-1a2b", "flavour": "cloud"},
        {"email": "a@example.com", "api_token": "tok-1a2b", "flavour": "datacenter"},
        {"email": "a@example.com"},
        {"api_token": "tok-1a2b\n"},
    ]
    for settings in attempts:
        with pytest.raises(ConfluenceConfigError) as raised:
            ConfluenceClient(confluence_site.url, **settings)
        assert "1a2b" not in str(raised.value)


@pytest.mark.parametrize(
    ("base_url", "problem"),
    [
        ("http://confluence.example.com", "refusing plain http"),
        ("https://example.atlassian.net/wiki/rest/api", "site base, not an API path"),
    ],
)
def test_base_url_must_be_a_secure_site_base(base_url: str, problem: str) -> None:
    with pytest.raises(ConfluenceConfigError, match=problem):
        ConfluenceClient(base_url, email="a@example.com", api_token="any-api-token")


# ---- next links the client must not follow


@pytest.mark.parametrize(
    "next_link", ["/wiki/api/v2/pages?cursor=same", "https://elsewhere.example/x"]
)
def test_next_links_that_loop_or_leave_the_site_are_refused(next_link: str) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json={"results": [], "_links": {"next": next_link}})

    with (
        ConfluenceClient(
            "https://example.atlassian.net/wiki",
            email="a@example.com",
            api_token="mock-api-token",
            transport=httpx.MockTransport(handler),
        ) as client,
        pytest.raises(ConfluenceResponseError, match="loops or leaves the site"),
    ):
        client.get_page_versions([HOME])


def test_timeouts_are_retried_then_typed_without_secrets() -> None:
    calls: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(request)
        raise httpx.ReadTimeout("timed out", request=request)

    with (
        ConfluenceClient(
            "https://confluence.example.com",
            personal_access_token="dc-mock-pat-0f9e",
            retry=HttpRetries(max_attempts=2, initial_backoff=0, max_backoff=0),
            transport=httpx.MockTransport(handler),
        ) as client,
        pytest.raises(
            ConfluenceTimeoutError, match=r"get_page: GET /rest/api/content/1 after 2"
        ) as raised,
    ):
        client.get_page("1")

    assert len(calls) == 2
    assert calls[0].headers["Authorization"] == "Bearer dc-mock-pat-0f9e"
    assert "0f9e" not in str(raised.value)
