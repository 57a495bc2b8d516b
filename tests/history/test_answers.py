"""Answers the emulator never gives, from a stub Dot over HTTP: other response shapes, data
outside the requested window, an unknown shape, slow answers."""

from collections.abc import Callable
from datetime import date, datetime, timedelta, timezone
from typing import Any

import pandas as pd
import pytest

from dot_orchestration.emulator import EmulatorServer
from dot_orchestration.transforms.history import normalise_history
from dot_orchestration.warehouse import read_partition

from ._support import Export, StubDot, export_records

DAY = date(2025, 3, 4)
CONVERSATION_FIELDS = ("title", "updated_at", "author_email", "author_name", "workspace")
CONVERSATION_FIELDS += ("environment", "labels", "auto_review_label", "auto_review_score")
CONVERSATION_FIELDS += ("auto_review_reason",)


def nested(records: list[dict[str, Any]]) -> object:
    """The emulator's shape: a list of conversations with their messages."""
    return records


def wrapped(records: list[dict[str, Any]]) -> object:
    return {"data": records, "meta": {"total": len(records), "next": None}}


def flat(records: list[dict[str, Any]]) -> object:
    """One row per message, carrying its conversation's fields."""
    return [
        {
            "chat_id": record["chat_id"],
            "conversation_created_at": record["created_at"],
            "conversation_channel": record["channel"],
            **{name: record[name] for name in CONVERSATION_FIELDS},
            "message_id": message["id"],
            "role": message["role"],
            "content": message["content"],
            "message_created_at": message["created_at"],
        }
        for record in records
        for message in record["messages"]
    ]


def counts_only(records: list[dict[str, Any]]) -> object:
    """Conversations with their message count, without the messages."""
    return [{k: v for k, v in record.items() if k != "messages"} for record in records]


def stored(export: Export, table: str) -> pd.DataFrame:
    frame = read_partition(
        export.db, schema="dot_history", table=table, partition_column="partition_date"
    )
    return frame.drop(columns=["raw"])


@pytest.mark.parametrize("shape", [nested, wrapped, flat, counts_only])
def test_each_response_shape_lands_the_same_rows(
    dot: EmulatorServer,
    stub_dot: StubDot,
    export_for: Callable[..., Export],
    shape: Callable[[list[dict[str, Any]]], object],
) -> None:
    records = export_records(dot, DAY)
    stub_dot.answer = lambda start, end: shape(export_records(dot, start))
    export = export_for(stub_dot.url)

    assert export.run(str(DAY)).success

    midnight = datetime(DAY.year, DAY.month, DAY.day, tzinfo=timezone.utc)
    expected = normalise_history(
        records, window_start=midnight, window_end=midnight + timedelta(days=1)
    )
    pd.testing.assert_frame_equal(
        stored(export, "conversations"), expected.conversations.drop(columns=["raw"])
    )
    messages = stored(export, "messages")
    if shape is counts_only:
        assert messages.empty
    else:
        pd.testing.assert_frame_equal(messages, expected.messages.drop(columns=["raw"]))


def test_conversations_outside_the_requested_day_fail_the_run(
    dot: EmulatorServer, stub_dot: StubDot, export_for: Callable[..., Export]
) -> None:
    """A Dot that filtered differently (here: it sends the next day) must not be landed."""
    export = export_for(stub_dot.url)
    stub_dot.answer = lambda start, end: export_records(dot, start + timedelta(days=1))

    result = export.run(str(DAY))

    assert not result.success
    message = result.failure_data_for_node(export.node).user_failure_data.description  # type: ignore[union-attr]
    assert message.startswith(f"Dot history export of {DAY} (start_date={DAY}, end_date=")
    assert "is outside the export window [2025-03-04T00:00:00+00:00, 2025-03-05" in message
    assert '"chat_id": "20250305-' in message  # shows what was received
    assert not export.db.exists()  # nothing was written, not even the tables


def test_an_unknown_shape_fails_with_what_was_received(
    stub_dot: StubDot, export_for: Callable[..., Export]
) -> None:
    export = export_for(stub_dot.url)
    stub_dot.answer = lambda start, end: {"status": "ok", "export": {"rows": 0}}

    result = export.run(str(DAY))

    assert not result.success
    message = result.failure_data_for_node(export.node).user_failure_data.description  # type: ignore[union-attr]
    assert "Dot's answer does not fit the tables: unknown top-level shape" in message
    assert '{"export": {"rows": 0}, "status": "ok"}' in message


def test_a_backfill_fetches_days_concurrently_up_to_the_limit_in_one_step(
    stub_dot: StubDot, export_for: Callable[..., Export]
) -> None:
    stub_dot.delay_s = 0.3  # long enough for three requests to overlap on a busy machine
    export = export_for(stub_dot.url, max_concurrency=3)

    result = export.run("2025-03-01", "2025-03-09")

    assert result.success
    assert stub_dot.max_in_flight == 3  # never more than the limit, and not one at a time
    assert sorted(start for start, _ in stub_dot.requests) == [
        date(2025, 3, 1) + timedelta(days=n) for n in range(9)
    ]
    assert {e.step_key for e in result.get_step_success_events()} == {
        export.node,
        f"{export.settings.name}_table_checks",
    }
