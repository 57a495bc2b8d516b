"""The generated conversation history and `GET /api/export_history`."""

from datetime import date, datetime, timedelta
from typing import Any

import httpx
import pytest

from dot_orchestration.emulator import ADMIN_TOKEN, EmulatorServer, EmulatorState
from dot_orchestration.emulator.clock import utc_today
from dot_orchestration.emulator.conversation import Chat
from dot_orchestration.emulator.vocabulary import REVIEW_SCORES

from .conftest import CONFIGURED, HISTORY_END

START, END = date(2025, 2, 10), date(2025, 2, 17)
EVERYONE = {"include_all_workspaces": "true"}
AUTO_REVIEW_LABELS = {"Issue", "Abandoned", "Success", "OK"}  # Dot's documented verdicts


def export(api: httpx.Client, start: date, end: date, **params: str) -> list[dict[str, Any]]:
    query = {"start_date": start.isoformat(), "end_date": end.isoformat(), **params}
    response = api.get("/api/export_history", params=query)
    assert response.status_code == 200, response.text
    conversations: list[dict[str, Any]] = response.json()
    return conversations


def day_of(timestamp: str) -> date:
    return datetime.fromisoformat(timestamp.replace("Z", "+00:00")).date()


def test_an_export_is_the_window_and_matches_the_truth(
    configured: EmulatorServer, configured_api: httpx.Client
) -> None:
    conversations = export(configured_api, START, END, **EVERYONE)
    truth = configured.state.history_truth(START, END, include_all_workspaces=True)
    assert [c["chat_id"] for c in conversations] == list(truth.chat_ids)
    assert sum(c["num_messages"] for c in conversations) == truth.messages
    assert {day_of(c["created_at"]) for c in conversations} == {
        START + timedelta(days=offset) for offset in range(7)
    }
    assert truth.conversations > 7 * 10


def test_the_end_date_is_exclusive(configured_api: httpx.Client) -> None:
    conversations = export(configured_api, START, START + timedelta(days=1), **EVERYONE)
    assert conversations
    assert {day_of(c["created_at"]) for c in conversations} == {START}
    assert export(configured_api, START, START) == []


def test_the_history_ends_before_its_end_date(configured_api: httpx.Client) -> None:
    last_day = HISTORY_END - timedelta(days=1)
    tail = export(configured_api, last_day, HISTORY_END + timedelta(days=30), **EVERYONE)
    assert tail and {day_of(c["created_at"]) for c in tail} == {last_day}
    first_day = HISTORY_END - timedelta(days=60)
    assert export(configured_api, first_day - timedelta(days=30), first_day, **EVERYONE) == []


def test_exports_are_scoped_to_the_callers_workspace_unless_asked(
    configured: EmulatorServer, configured_api: httpx.Client
) -> None:
    own = export(configured_api, START, END)
    everyone = export(configured_api, START, END, **EVERYONE)
    assert {c["workspace"] for c in own} == {"default"}
    assert len({c["workspace"] for c in everyone}) > 1
    assert len(own) == configured.state.history_truth(START, END).conversations < len(everyone)


def test_history_is_shared_across_environments_tagged_with_each(
    configured: EmulatorServer, configured_api: httpx.Client
) -> None:
    """Dot (docs: Environments): chat history is shared, tagged with the environment."""
    window = {"start_date": "2025-01-01", "end_date": "2025-03-01", **EVERYONE}
    from_staging = configured_api.get(
        "/api/export_history", params=window, headers={"X-Dot-Environment": "staging"}
    ).json()
    from_production = configured_api.get("/api/export_history", params=window).json()
    assert from_staging == from_production
    truth = configured.state.history_truth(
        date(2025, 1, 1), HISTORY_END, include_all_workspaces=True
    )
    assert [c["chat_id"] for c in from_production] == list(truth.chat_ids)
    assert {c["environment"] for c in from_production} == {None, "staging", "dev"}


def test_conversations_look_like_dots(configured_api: httpx.Client) -> None:
    for conversation in export(configured_api, START, END, **EVERYONE):
        messages = conversation["messages"]
        assert conversation["num_messages"] == len(messages) >= 2
        assert [m["role"] for m in messages] == ["user", "assistant"] * (len(messages) // 2)
        stamps = [m["created_at"] for m in messages]
        assert stamps == sorted(stamps) and stamps[0] == conversation["created_at"]
        assert day_of(stamps[-1]) == day_of(stamps[0])
        assert conversation["updated_at"] == stamps[-1]
        assert conversation["title"] == messages[0]["content"][:80]
        assert conversation["author_email"].endswith("@example.com")
        assert conversation["author_name"]
        assert conversation["auto_review_label"] in AUTO_REVIEW_LABELS
        assert conversation["auto_review_score"] == REVIEW_SCORES[conversation["auto_review_label"]]
        assert conversation["auto_review_reason"]
        assert conversation["channel"] in {"web", "slack", "teams", "api"}
        assert isinstance(conversation["labels"], list)


def test_generation_is_deterministic_per_seed_and_day() -> None:
    day = date(2025, 2, 12)
    first, again = EmulatorState(CONFIGURED), EmulatorState(CONFIGURED)
    shifted = EmulatorState(
        CONFIGURED.model_copy(update={"history_end": date(2025, 5, 1), "history_days": 200})
    )
    other_seed = EmulatorState(CONFIGURED.model_copy(update={"seed": 8}))

    def records(state: EmulatorState) -> list[dict[str, Any]]:
        return [chat.export_record() for chat in state.history.conversations_on(day)]

    assert records(first) == records(again) == records(shifted)
    assert records(first) != records(other_seed)


def test_generated_chats_can_be_found_by_id() -> None:
    history = EmulatorState(CONFIGURED).history
    chat = history.conversations_on(START)[3]
    found = history.find(chat.chat_id)
    assert found is not None and found.export_record() == chat.export_record()
    for bogus in ("nope", "20250230-0001-abcdef", "20250210-9999-abcdef", "20250210-0003-000000"):
        assert history.find(bogus) is None


def test_the_volume_knob_reaches_half_a_million_messages_a_year() -> None:
    busy = CONFIGURED.model_copy(update={"history_conversations_per_day": 330})
    history = EmulatorState(busy).history
    four_weeks = history.days(HISTORY_END - timedelta(days=28), HISTORY_END)
    messages = sum(
        len(chat.messages) for day in four_weeks for chat in history.conversations_on(day)
    )
    assert messages * 365 / 28 >= 500_000


def test_the_default_window_is_two_weeks_ago_until_tomorrow(
    dot_emulator: EmulatorServer, api: httpx.Client
) -> None:
    conversations = api.get("/api/export_history").json()
    today = utc_today()
    truth = dot_emulator.state.history_truth(today - timedelta(days=14), today + timedelta(days=1))
    assert [c["chat_id"] for c in conversations] == list(truth.chat_ids)
    assert min(day_of(c["created_at"]) for c in conversations) == today - timedelta(days=14)


def test_live_chats_and_labels_show_up_in_the_export(
    dot_emulator: EmulatorServer, api: httpx.Client
) -> None:
    today = utc_today()
    generated = dot_emulator.state.history.conversations_on(today - timedelta(days=2))[0]
    api.post("/api/add_label_to_chat", json={"chat_id": generated.chat_id, "labels": ["audit"]})
    question = {"role": "user", "content": "Orders today?"}
    api.post("/api/agentic", json={"messages": [question], "chat_id": "live-1"})
    api.post(
        "/api/agentic_with_history",
        json={"new_message": question, "chat_id": generated.chat_id},
    )
    conversations = {
        c["chat_id"]: c
        for c in export(api, today - timedelta(days=3), today + timedelta(days=1), **EVERYONE)
    }
    live = conversations["live-1"]
    assert (live["num_messages"], live["channel"], live["auto_review_score"]) == (2, "api", None)
    assert live["author_email"] == "admin@example.com"
    followed_up = conversations[generated.chat_id]
    assert followed_up["labels"][-1] == "audit"
    assert followed_up["num_messages"] == len(generated.messages) + 2
    truth = dot_emulator.state.history_truth(
        today - timedelta(days=3), today + timedelta(days=1), include_all_workspaces=True
    )
    assert len(conversations) == truth.conversations  # the followed-up chat is not listed twice


def test_a_reversed_window_is_a_bad_request(api: httpx.Client) -> None:
    response = api.get(
        "/api/export_history", params={"start_date": "2025-02-02", "end_date": "2025-02-01"}
    )
    assert response.status_code == 400


def test_history_is_generated_one_day_at_a_time(monkeypatch: pytest.MonkeyPatch) -> None:
    state = EmulatorState(CONFIGURED)
    generated: list[date] = []
    generate = state.history.conversations_on

    def counting(day: date) -> list[Chat]:
        generated.append(day)
        return generate(day)

    monkeypatch.setattr(state.history, "conversations_on", counting)
    days = state.conversations(date(2000, 1, 1), HISTORY_END, workspace=None)
    assert generated == []
    next(days)
    next(days)
    assert generated == [HISTORY_END - timedelta(days=60), HISTORY_END - timedelta(days=59)]


def test_exports_are_streamed(api: httpx.Client) -> None:
    with api.stream("GET", "/api/export_history", params=EVERYONE) as response:
        assert response.headers["transfer-encoding"] == "chunked"
        assert response.headers["content-type"] == "application/json"
        assert b"".join(response.iter_bytes()).startswith(b'[{"chat_id":')


def test_the_strict_profile_sends_labels_and_knows_no_workspace_parameter(
    strict_dot_emulator: EmulatorServer, transport: httpx.HTTPTransport
) -> None:
    """Strict: the verdict is the documented label alone (under the score's name, as the
    docs word it), and `include_all_workspaces`, in no Dot document, changes nothing."""
    strict = httpx.Client(
        base_url=strict_dot_emulator.url,
        headers={"X-API-KEY": ADMIN_TOKEN},
        transport=transport,
        timeout=10,
    )
    today = utc_today()
    window = (today - timedelta(days=5), today)
    conversations = export(strict, *window)
    assert conversations
    assert {c["auto_review_score"] for c in conversations} <= AUTO_REVIEW_LABELS
    assert all("auto_review_label" not in c and c["auto_review_reason"] for c in conversations)
    assert export(strict, *window, **EVERYONE) == conversations
    assert {c["workspace"] for c in conversations} == {strict_dot_emulator.state.default_workspace}
