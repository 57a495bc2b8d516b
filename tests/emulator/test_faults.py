"""Fault injection: statuses, drops, malformed bodies, latency; rates, limits and phases."""

import json
import time
from typing import Any

import httpx
import pytest

from dot_orchestration.emulator import EmulatorServer, FaultRule

from .conftest import journal

ME = "/api/auth/me"
SYNC = "/api/sync/snowflake/prod"


def inject(control: httpx.Client, *rules: dict[str, Any], seed: int | None = None) -> None:
    response = control.put("/faults", json={"seed": seed, "rules": list(rules)})
    assert response.status_code == 200, response.text


def test_a_status_fault_answers_like_an_overloaded_dot(
    api: httpx.Client, control: httpx.Client
) -> None:
    inject(control, {"path": ME, "kind": "status", "status": 429, "retry_after": 0.25})
    response = api.get(ME)
    assert response.status_code == 429
    assert response.headers["retry-after"] == "0.25"
    assert response.json() == {"detail": "Too Many Requests (fault injected by the Dot emulator)"}


def test_a_status_fault_defaults_to_503_without_retry_after(
    api: httpx.Client, control: httpx.Client
) -> None:
    inject(control, {"path": ME, "kind": "status"})
    response = api.get(ME)
    assert response.status_code == 503
    assert "retry-after" not in response.headers


def test_a_dropped_connection_has_no_response_and_no_effect(
    dot_emulator: EmulatorServer, api: httpx.Client, control: httpx.Client
) -> None:
    inject(control, {"method": "POST", "path": "/api/sync/*", "kind": "drop"})
    with pytest.raises(httpx.RemoteProtocolError, match="without sending a response"):
        api.post(SYNC)
    assert dot_emulator.state.sync_log == []
    [entry] = journal(control)
    assert (entry["status"], entry["fault"]) == (
        None,
        {"rule": 0, "kind": "drop", "phase": "before"},
    )


def test_a_connection_dropped_after_the_handler_leaves_its_effect(
    dot_emulator: EmulatorServer, api: httpx.Client, control: httpx.Client
) -> None:
    inject(control, {"path": "/api/sync/*", "kind": "drop", "phase": "after"})
    with pytest.raises(httpx.RemoteProtocolError):
        api.post(SYNC)
    assert len(dot_emulator.state.sync_log) == 1  # the request reached Dot


def test_an_error_after_the_handler_hides_a_successful_create(
    dot_emulator: EmulatorServer, api: httpx.Client, control: httpx.Client
) -> None:
    inject(control, {"path": "/api/ask", "kind": "status", "status": 504, "phase": "after"})
    body = {"messages": [{"role": "user", "content": "q"}], "chat_id": "c-1"}
    assert api.post("/api/ask", json=body).status_code == 504
    assert dot_emulator.state.chats.is_live("c-1")


@pytest.mark.parametrize("phase", ["before", "after"])
def test_a_truncated_json_body_is_a_complete_response_that_does_not_parse(
    api: httpx.Client, control: httpx.Client, phase: str
) -> None:
    inject(control, {"path": ME, "kind": "malformed", "phase": phase})
    response = api.get(ME)
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    with pytest.raises(json.JSONDecodeError):
        json.loads(response.content)
    if phase == "after":
        assert response.text.startswith('{"id":"admin@example.com"')


@pytest.mark.parametrize(("status", "expected"), [(None, 502), (200, 200), (503, 503)])
def test_an_html_proxy_page(
    api: httpx.Client, control: httpx.Client, status: int | None, expected: int
) -> None:
    inject(control, {"path": ME, "kind": "malformed", "malformed": "html", "status": status})
    response = api.get(ME)
    assert response.status_code == expected
    assert response.headers["content-type"] == "text/html"
    assert "<center>nginx</center>" in response.text


def test_a_timeout_fault_is_silence_then_the_normal_answer(
    api: httpx.Client, control: httpx.Client
) -> None:
    inject(control, {"path": ME, "kind": "timeout", "latency_ms": 400})
    with pytest.raises(httpx.ReadTimeout):
        api.get(ME, timeout=0.1)
    [in_flight] = journal(control)
    assert (in_flight["status"], in_flight["duration_ms"]) == (None, None)  # still sleeping
    started = time.monotonic()
    assert api.get(ME).status_code == 200
    assert time.monotonic() - started >= 0.4
    assert [entry["status"] for entry in journal(control)] == [200, 200]


def test_latency_delays_other_kinds_too(api: httpx.Client, control: httpx.Client) -> None:
    inject(control, {"path": ME, "kind": "status", "latency_ms": 300, "phase": "after"})
    started = time.monotonic()
    assert api.get(ME).status_code == 503
    assert time.monotonic() - started >= 0.3


def test_times_caps_the_injections(api: httpx.Client, control: httpx.Client) -> None:
    inject(control, {"path": ME, "kind": "status", "times": 2})
    assert [api.get(ME).status_code for _ in range(4)] == [503, 503, 200, 200]
    assert control.get("/faults").json()["rules"][0]["injected"] == 2


def test_rules_match_method_and_path(api: httpx.Client, control: httpx.Client) -> None:
    inject(control, {"method": "get", "path": "/api/org*", "kind": "status"})
    assert api.get("/api/org").status_code == 503
    assert api.get("/api/org_notes").status_code == 503
    assert api.post("/api/org_notes", json={"title": "t", "note": "n"}).status_code == 200
    assert api.get(ME).status_code == 200


def test_the_first_matching_rule_wins(api: httpx.Client, control: httpx.Client) -> None:
    inject(
        control,
        {"path": ME, "kind": "status", "status": 502, "times": 1},
        {"path": "*", "kind": "status", "status": 504},
    )
    assert [api.get(ME).status_code for _ in range(2)] == [502, 504]


def pattern(api: httpx.Client, control: httpx.Client, seed: int) -> list[int]:
    inject(control, {"path": ME, "kind": "status", "rate": 0.5}, seed=seed)
    return [api.get(ME).status_code for _ in range(24)]


def test_rates_are_drawn_from_a_seeded_rng(api: httpx.Client, control: httpx.Client) -> None:
    first = pattern(api, control, seed=1)
    assert 0 < first.count(503) < 24
    assert pattern(api, control, seed=1) == first
    assert pattern(api, control, seed=2) != first


def test_other_traffic_does_not_shift_the_pattern(api: httpx.Client, control: httpx.Client) -> None:
    inject(control, {"path": ME, "kind": "status", "rate": 0.5}, seed=3)
    quiet = [api.get(ME).status_code for _ in range(12)]
    inject(control, {"path": ME, "kind": "status", "rate": 0.5}, seed=3)
    busy = []
    for _ in range(12):
        api.get("/api/org")
        busy.append(api.get(ME).status_code)
    assert busy == quiet


def test_the_control_plane_is_never_faulted(api: httpx.Client, control: httpx.Client) -> None:
    inject(control, {"path": "*", "kind": "drop"})
    assert control.get("/faults").status_code == 200
    assert control.get("/journal").json() == {"entries": []}


def test_faults_can_be_cleared(api: httpx.Client, control: httpx.Client) -> None:
    inject(control, {"path": "*", "kind": "status"})
    assert control.delete("/faults").json()["rules"] == []
    assert api.get(ME).status_code == 200


def test_invalid_rules_are_refused(control: httpx.Client) -> None:
    response = control.put("/faults", json={"rules": [{"kind": "explode"}]})
    assert response.status_code == 422
    response = control.put("/faults", json={"rules": [{"kind": "status", "rate": 2}]})
    assert response.status_code == 422


def test_faults_from_python_take_the_same_model(
    dot_emulator: EmulatorServer, api: httpx.Client
) -> None:
    dot_emulator.state.faults = [FaultRule(path=ME, kind="status", status=418)]
    assert api.get(ME).status_code == 418
    assert dot_emulator.state.faults.injected == [1]


def test_configured_faults_are_active_from_the_start_and_after_reset(
    configured: EmulatorServer, configured_api: httpx.Client
) -> None:
    assert configured_api.get("/api/org").status_code == 503
    configured.state.faults.clear()
    assert configured_api.get("/api/org").status_code == 200
    configured.state.reset()
    assert configured_api.get("/api/org").status_code == 503
