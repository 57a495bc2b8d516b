"""Request validation answers FastAPI's 422 bodies, exactly as Dot's own FastAPI does."""

from typing import Any

import httpx
import pytest


def errors(response: httpx.Response) -> list[tuple[tuple[Any, ...], str]]:
    """(loc, type) of every validation error of a 422 response."""
    assert response.status_code == 422, response.text
    return [(tuple(error["loc"]), error["type"]) for error in response.json()["detail"]]


def test_a_missing_body_is_reported_on_body(api: httpx.Client) -> None:
    response = api.post("/api/import_and_overwrite_external_asset")
    assert errors(response) == [(("body",), "missing")]
    assert response.json()["detail"][0]["msg"] == "Field required"


def test_missing_required_fields_are_listed(api: httpx.Client) -> None:
    response = api.post("/api/import_and_overwrite_external_asset", json={"external_asset": {}})
    assert errors(response) == [
        (("body", "external_asset", "id"), "missing"),
        (("body", "external_asset", "subtype"), "missing"),
    ]


def test_invalid_json_is_a_422(api: httpx.Client) -> None:
    response = api.post(
        "/api/ask", content=b'{"messages": [', headers={"Content-Type": "application/json"}
    )
    assert errors(response) == [(("body", 14), "json_invalid")]


def test_a_json_body_without_content_type_is_accepted_like_dot_does(api: httpx.Client) -> None:
    response = api.post("/api/save_note", content=b'{"note": "curl -d style"}')
    assert response.status_code == 200


@pytest.mark.parametrize("bad", ["2024-1-1", "2024-02-30", "2024-01-01T00:00:00", "0", "soon"])
def test_export_dates_must_be_calendar_days(api: httpx.Client, bad: str) -> None:
    response = api.get("/api/export_history", params={"start_date": bad})
    assert errors(response)[0][0] == ("query", "start_date")


def test_an_unknown_agentic_mode_is_a_422(api: httpx.Client) -> None:
    body = {"messages": [{"role": "user", "content": "q"}], "chat_id": "c", "mode": "turbo"}
    assert errors(api.post("/api/agentic", json=body)) == [(("body", "mode"), "literal_error")]


def test_notes_longer_than_50000_characters_are_refused(api: httpx.Client) -> None:
    response = api.post("/api/org_notes", json={"title": "t", "note": "x" * 50_001})
    assert errors(response) == [(("body", "note"), "string_too_long")]


def test_incident_status_is_open_or_resolved(api: httpx.Client) -> None:
    body = {"source": "s", "items": [{"table": "t", "check": "c", "status": "closed"}]}
    response = api.post("/api/quality/incidents", json=body)
    assert errors(response) == [(("body", "items", 0, "status"), "literal_error")]


def test_run_results_need_dbt_results(api: httpx.Client) -> None:
    response = api.post("/api/dbt/run_results", json={"run_results": {}, "manifest": {}})
    assert errors(response) == [(("body", "run_results", "results"), "missing")]


def test_exposures_format_is_yaml_or_json(api: httpx.Client) -> None:
    response = api.get("/api/dbt/exposures", params={"format": "xml"})
    assert errors(response) == [(("query", "format"), "literal_error")]


def test_delete_external_asset_needs_its_query_parameter(api: httpx.Client) -> None:
    assert errors(api.post("/api/delete_external_asset")) == [(("query", "asset_id"), "missing")]
