"""normalise_history: every plausible export shape gives the same two typed tables."""

from __future__ import annotations

import copy
import json
import pickle
import time
from datetime import date, datetime, timedelta, timezone

import pandas as pd
import pytest

from dot_orchestration.transforms.history import (
    CONVERSATION_DTYPES,
    MESSAGE_DTYPES,
    HistoryShapeError,
    NormalisedHistory,
    normalise_history,
)

DAY = date(2024, 3, 1)
START = datetime(2024, 3, 1, tzinfo=timezone.utc)
END = START + timedelta(days=1)

# Shape (a): conversations with nested messages. Listed out of created_at order on purpose.
NESTED = [
    {
        "chat_id": "c-2",
        "created_at": "2024-03-01T14:00:00Z",
        "user_email": "bo@example.com",
        "number_of_messages": 1,
        "messages": [
            {"role": "user", "content": "Churn last week?", "created_at": "2024-03-01T14:00:00Z"}
        ],
    },
    {
        "chat_id": "c-1",
        "created_at": "2024-03-01T09:30:00Z",
        "updated_at": "2024-03-01T09:31:05Z",
        "user_email": "ana@example.com",
        "user_name": "Ana",
        "title": "Revenue by region",
        "labels": ["finance", "q1"],
        "auto_review_score": 4.5,
        "auto_review_reason": "Correct SQL",
        "environment": "staging",
        "workspace": "analytics",
        "number_of_messages": 2,
        "dot_url": "https://app.getdot.ai/c/c-1",
        "messages": [
            {
                "role": "user",
                "content": "Revenue by region?",
                "created_at": "2024-03-01T09:30:00Z",
            },
            {
                "role": "assistant",
                "content": "Here it is.",
                "created_at": "2024-03-01T09:31:05Z",
                "id": "m-2",
            },
        ],
    },
]

# Shape (c): the same export as one row per message.
FLAT = [
    {
        "chat_id": "c-1",
        "conversation_created_at": "2024-03-01T09:30:00Z",
        "updated_at": "2024-03-01T09:31:05Z",
        "user_email": "ana@example.com",
        "user_name": "Ana",
        "title": "Revenue by region",
        "labels": ["finance", "q1"],
        "auto_review_score": 4.5,
        "auto_review_reason": "Correct SQL",
        "environment": "staging",
        "workspace": "analytics",
        "number_of_messages": 2,
        "conversation_dot_url": "https://app.getdot.ai/c/c-1",
        "message_index": 0,
        "role": "user",
        "content": "Revenue by region?",
        "message_created_at": "2024-03-01T09:30:00Z",
    },
    {
        "chat_id": "c-2",
        "conversation_created_at": "2024-03-01T14:00:00Z",
        "user_email": "bo@example.com",
        "number_of_messages": 1,
        "message_index": 0,
        "role": "user",
        "content": "Churn last week?",
        "message_created_at": "2024-03-01T14:00:00Z",
    },
    {
        "chat_id": "c-1",
        "conversation_created_at": "2024-03-01T09:30:00Z",
        "updated_at": "2024-03-01T09:31:05Z",
        "user_email": "ana@example.com",
        "user_name": "Ana",
        "title": "Revenue by region",
        "labels": ["finance", "q1"],
        "auto_review_score": 4.5,
        "auto_review_reason": "Correct SQL",
        "environment": "staging",
        "workspace": "analytics",
        "number_of_messages": 2,
        "conversation_dot_url": "https://app.getdot.ai/c/c-1",
        "message_index": 1,
        "role": "assistant",
        "content": "Here it is.",
        "message_created_at": "2024-03-01T09:31:05Z",
        "message_id": "m-2",
    },
]


def _without_messages(conversations: list[dict]) -> list[dict]:
    return [{k: v for k, v in c.items() if k != "messages"} for c in conversations]


def _typed(rows: list[dict], dtypes: dict[str, str]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=list(dtypes)).astype(dtypes)


def _utc(text: str) -> pd.Timestamp:
    return pd.Timestamp(text, tz="UTC")


EXPECTED_CONVERSATIONS = _typed(
    [
        {
            "conversation_id": "c-1",
            "partition_date": DAY,
            "created_at": _utc("2024-03-01T09:30:00"),
            "updated_at": _utc("2024-03-01T09:31:05"),
            "author_email": "ana@example.com",
            "author_name": "Ana",
            "title": "Revenue by region",
            "message_count": 2,
            "labels": '["finance", "q1"]',
            "auto_review_score": 4.5,
            "auto_review_reason": "Correct SQL",
            "environment": "staging",
            "workspace": "analytics",
            "raw": '{"dot_url": "https://app.getdot.ai/c/c-1"}',
        },
        {
            "conversation_id": "c-2",
            "partition_date": DAY,
            "created_at": _utc("2024-03-01T14:00:00"),
            "author_email": "bo@example.com",
            "message_count": 1,
            "raw": "{}",
        },
    ],
    dict(CONVERSATION_DTYPES),
)

EXPECTED_MESSAGES = _typed(
    [
        {
            "conversation_id": "c-1",
            "message_index": 0,
            "partition_date": DAY,
            "role": "user",
            "created_at": _utc("2024-03-01T09:30:00"),
            "content": "Revenue by region?",
            "raw": "{}",
        },
        {
            "conversation_id": "c-1",
            "message_index": 1,
            "partition_date": DAY,
            "role": "assistant",
            "created_at": _utc("2024-03-01T09:31:05"),
            "content": "Here it is.",
            "raw": '{"id": "m-2"}',
        },
        {
            "conversation_id": "c-2",
            "message_index": 0,
            "partition_date": DAY,
            "role": "user",
            "created_at": _utc("2024-03-01T14:00:00"),
            "content": "Churn last week?",
            "raw": "{}",
        },
    ],
    dict(MESSAGE_DTYPES),
)


def normalise(payload: object, **kwargs: object) -> NormalisedHistory:
    return normalise_history(payload, window_start=START, window_end=END, **kwargs)


def shape_error(payload: object, **kwargs: object) -> HistoryShapeError:
    with pytest.raises(HistoryShapeError) as caught:
        normalise(payload, **kwargs)
    return caught.value


def conversation(**fields: object) -> dict[str, object]:
    return {"chat_id": "c-9", "created_at": "2024-03-01T12:00:00Z", **fields}


# --- shapes -------------------------------------------------------------------------------


def test_nested_conversations_give_the_contract_frames() -> None:
    history = normalise(NESTED)
    pd.testing.assert_frame_equal(history.conversations, EXPECTED_CONVERSATIONS)
    pd.testing.assert_frame_equal(history.messages, EXPECTED_MESSAGES)


@pytest.mark.parametrize("key", ["conversations", "data", "items", "results"])
def test_wrapped_list_with_meta_keys_gives_the_same_frames(key: str) -> None:
    payload = {key: NESTED, "meta": {"page": 1, "total": 2}, "next": None, "has_more": False}
    history = normalise(payload)
    pd.testing.assert_frame_equal(history.conversations, EXPECTED_CONVERSATIONS)
    pd.testing.assert_frame_equal(history.messages, EXPECTED_MESSAGES)


def test_doubly_wrapped_list_is_found() -> None:
    history = normalise({"data": {"conversations": NESTED, "count": 2}})
    pd.testing.assert_frame_equal(history.conversations, EXPECTED_CONVERSATIONS)


def test_flat_message_rows_are_grouped_into_the_same_frames() -> None:
    history = normalise(FLAT)
    pd.testing.assert_frame_equal(history.conversations, EXPECTED_CONVERSATIONS)
    pd.testing.assert_frame_equal(history.messages, EXPECTED_MESSAGES)


def test_flat_rows_with_a_nested_message_object_give_the_same_frames() -> None:
    rows = [
        {
            **{k: v for k, v in conv.items() if k != "messages"},
            "message": {**message, "chat_id": conv["chat_id"]},
        }
        for conv in NESTED
        for message in conv["messages"]
    ]
    history = normalise(rows)
    pd.testing.assert_frame_equal(history.conversations, EXPECTED_CONVERSATIONS)
    pd.testing.assert_frame_equal(history.messages, EXPECTED_MESSAGES)


def test_conversations_with_only_counts_give_the_same_conversations() -> None:
    history = normalise(_without_messages(NESTED))
    pd.testing.assert_frame_equal(history.conversations, EXPECTED_CONVERSATIONS)
    pd.testing.assert_frame_equal(history.messages, EXPECTED_MESSAGES.iloc[:0])


def test_a_conversation_without_messages_or_count_has_an_unknown_count() -> None:
    history = normalise([conversation()])
    assert history.conversations["message_count"].isna().all()


def test_flat_left_join_row_is_a_conversation_with_no_messages() -> None:
    row = {
        "chat_id": "c-9",
        "conversation_created_at": "2024-03-01T12:00:00Z",
        "role": None,
        "content": None,
        "message_created_at": None,
    }
    history = normalise([row])
    assert history.conversations["message_count"].tolist() == [0]
    assert history.messages.empty


def test_empty_list_is_a_valid_empty_export() -> None:
    for payload in ([], {"conversations": []}, {"data": [], "total": 0}):
        history = normalise(payload)
        assert history.conversations.empty and history.messages.empty
        assert history.conversations.dtypes.astype(str).to_dict() == _dtype_names(
            CONVERSATION_DTYPES
        )
        assert history.messages.dtypes.astype(str).to_dict() == _dtype_names(MESSAGE_DTYPES)


def _dtype_names(dtypes: object) -> dict[str, str]:
    return pd.DataFrame(columns=list(dtypes)).astype(dict(dtypes)).dtypes.astype(str).to_dict()


def test_identical_repeats_of_a_conversation_are_merged() -> None:
    history = normalise([*NESTED, copy.deepcopy(NESTED[1])])
    pd.testing.assert_frame_equal(history.conversations, EXPECTED_CONVERSATIONS)
    pd.testing.assert_frame_equal(history.messages, EXPECTED_MESSAGES)


def test_output_does_not_depend_on_payload_order() -> None:
    forward = normalise(FLAT)
    backward = normalise(list(reversed(FLAT)))
    pd.testing.assert_frame_equal(forward.conversations, backward.conversations)
    pd.testing.assert_frame_equal(forward.messages, backward.messages)


# --- field synonyms -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "item",
    [
        {
            "chat_id": "c-9",
            "created_at": "2024-03-01T12:00:00Z",
            "user_email": "bo@example.com",
            "user_name": "Bo",
            "number_of_messages": 3,
            "auto_review_score": 2,
            "auto_review_reason": "wrong join",
            "labels": ["a", "b"],
        },
        {
            "conversation_id": "c-9",
            "createdAt": "2024-03-01T12:00:00+00:00",
            "author_email": "bo@example.com",
            "author_name": "Bo",
            "num_messages": 3,
            "auto_review": {"score": 2, "reason": "wrong join"},
            "labels": "a, b",
        },
        {
            "id": "c-9",
            "timestamp": 1709294400,
            "author": {"email": "bo@example.com", "name": "Bo"},
            "message_count": 3,
            "review_score": "2",
            "review_reason": "wrong join",
            "labels": [{"name": "a"}, {"name": "b"}],
        },
        {
            "id": "c-9",
            "time": 1709294400000,
            "user": {"email": "bo@example.com", "realname": "Bo"},
            "messageCount": 3,
            "autoReviewScore": 2.0,
            "autoReviewReason": "wrong join",
            "labels": "a,b",
        },
        {
            "chatId": "c-9",
            "created_at": "2024-03-01 12:00:00",
            "author.email": "bo@example.com",
            "author.name": "Bo",
            "messages": 3,
            "auto_review.score": 2,
            "auto_review.reason": "wrong join",
            "labels": ["a", "b"],
        },
    ],
    ids=["snake", "alternatives", "nested-epoch-s", "camel-epoch-ms", "dotted-keys"],
)
def test_synonyms_map_to_the_same_columns(item: dict[str, object]) -> None:
    expected = {
        "conversation_id": "c-9",
        "partition_date": DAY,
        "created_at": _utc("2024-03-01T12:00:00"),
        "author_email": "bo@example.com",
        "author_name": "Bo",
        "message_count": 3,
        "labels": '["a", "b"]',
        "auto_review_score": 2.0,
        "auto_review_reason": "wrong join",
        "raw": "{}",
    }
    pd.testing.assert_frame_equal(
        normalise([item]).conversations, _typed([expected], dict(CONVERSATION_DTYPES))
    )


# --- auto-review verdicts -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("verdict", "label", "score"),
    [
        ({"auto_review_score": "Success"}, "Success", None),  # a label under a score's name
        ({"score": "Abandoned", "reason": "no reply"}, "Abandoned", None),  # the docs' words
        ({"auto_review": {"score": "Issue", "reason": "no reply"}}, "Issue", None),
        ({"auto_review": "OK"}, "OK", None),  # the History page's column name
        ({"auto_review_label": " OK ", "auto_review_score": 4}, "OK", 4.0),
        ({"autoReviewLabel": "Success", "auto_review_score": "Success"}, "Success", None),
        ({"auto_review_score": "Delighted"}, "Delighted", None),  # a label Dot adds later
        ({"auto_review_score": "3.5"}, None, 3.5),
        ({"auto_review_score": 2}, None, 2.0),
        ({"auto_review_score": None, "auto_review_label": None}, None, None),
    ],
    ids=[
        "label-as-score",
        "score-and-reason",
        "nested",
        "bare",
        "both",
        "agreeing",
        "unknown",
        "numeric-text",
        "number",
        "none",
    ],
)
def test_auto_review_is_a_label_or_a_number(
    verdict: dict[str, object], label: str | None, score: float | None
) -> None:
    row = normalise([conversation(**verdict)]).conversations.iloc[0]
    assert (None if pd.isna(row["auto_review_label"]) else row["auto_review_label"]) == label
    assert (None if pd.isna(row["auto_review_score"]) else row["auto_review_score"]) == score
    assert row["raw"] == "{}"  # every spelling was read, nothing left over


def test_author_given_as_a_string_is_an_email_or_a_name() -> None:
    frame = normalise(
        [conversation(author="ana@example.com"), conversation(chat_id="c-8", user="Ana")]
    ).conversations.set_index("conversation_id")
    assert frame.loc["c-9", "author_email"] == "ana@example.com"
    assert frame.loc["c-8", "author_name"] == "Ana"
    assert frame["raw"].tolist() == ["{}", "{}"]


@pytest.mark.parametrize(
    ("message", "expected"),
    [
        ({"sender": "user", "text": "hi", "timestamp": 1709294400}, ("user", "hi")),
        ({"role": "user", "message": "hi", "createdAt": "2024-03-01T12:00:00Z"}, ("user", "hi")),
        ({"role": "user", "body": "hi", "time": "2024-03-01T13:00:00+01:00"}, ("user", "hi")),
    ],
)
def test_message_synonyms(message: dict[str, object], expected: tuple[str, str]) -> None:
    row = normalise([conversation(messages=[message])]).messages.iloc[0]
    assert (row["role"], row["content"]) == expected
    assert row["created_at"] == _utc("2024-03-01T12:00:00")
    assert row["raw"] == "{}"


def test_explicit_message_indexes_order_the_messages() -> None:
    messages = [{"index": 2, "role": "assistant"}, {"index": 1, "role": "user"}]
    frame = normalise([conversation(messages=messages)]).messages
    assert frame["message_index"].tolist() == [1, 2]
    assert frame["role"].tolist() == ["user", "assistant"]


def test_structured_content_is_kept_as_json_text() -> None:
    parts = [{"type": "text", "data": "Revenue is up"}, {"type": "chart", "data": {"x": 1}}]
    frame = normalise([conversation(messages=[{"role": "assistant", "content": parts}])])
    assert json.loads(frame.messages["content"].iloc[0]) == parts


# --- timestamps and time zones ------------------------------------------------------------


@pytest.mark.parametrize(
    "value",
    [
        "2024-03-01T12:00:00Z",
        "2024-03-01T14:00:00+02:00",
        "2024-03-01T07:00:00-05:00",
        "2024-03-01T12:00:00",  # naive: UTC
        "2024-03-01 12:00:00.000",
        1709294400,  # epoch seconds
        1709294400.0,
        1709294400000,  # epoch milliseconds
        "1709294400",
    ],
)
def test_timestamps_are_converted_to_utc(value: object) -> None:
    frame = normalise([conversation(created_at=value)]).conversations
    assert frame["created_at"].iloc[0] == _utc("2024-03-01T12:00:00")
    assert str(frame["created_at"].dtype) == "datetime64[ns, UTC]"


def test_partition_date_is_the_created_date_in_the_window_time_zone() -> None:
    # 23:30 UTC on 29 Feb is 00:30 on 1 March in Berlin.
    item = conversation(created_at="2024-02-29T23:30:00Z")
    history = normalise_history(
        [item],
        window_start=datetime(2024, 3, 1),  # naive bounds are read in tz
        window_end=datetime(2024, 3, 2),
        tz="Europe/Berlin",
    )
    row = history.conversations.iloc[0]
    assert row["partition_date"] == DAY
    assert row["created_at"] == _utc("2024-02-29T23:30:00")
    with pytest.raises(HistoryShapeError, match="outside the export window"):
        normalise([item])  # the same conversation belongs to 29 February in UTC


def test_messages_share_their_conversation_partition_after_midnight() -> None:
    item = conversation(
        created_at="2024-03-01T23:59:00Z",
        messages=[{"role": "assistant", "created_at": "2024-03-02T00:01:00Z"}],
    )
    messages = normalise([item]).messages
    assert messages["partition_date"].tolist() == [DAY]
    assert messages["created_at"].iloc[0] == _utc("2024-03-02T00:01:00")


# --- unknown fields -----------------------------------------------------------------------


def test_unknown_fields_are_kept_in_raw_with_sorted_keys() -> None:
    item = conversation(
        zeta=1,
        alpha={"nested": ["x"]},
        author={"email": "ana@example.com", "id": 7},
        id="old-id",  # a second id spelling is not the one used: kept
        note="café",
        messages=[{"role": "user", "tokens": 12, "additional_data": {"assets": []}}],
    )
    history = normalise([item])
    raw = history.conversations["raw"].iloc[0]
    assert raw == (
        '{"alpha": {"nested": ["x"]}, "author": {"id": 7}, "id": "old-id", "note": "café", '
        '"zeta": 1}'
    )
    assert history.messages["raw"].iloc[0] == '{"additional_data": {"assets": []}, "tokens": 12}'


def test_known_fields_holding_null_do_not_clutter_raw() -> None:
    frame = normalise([conversation(updated_at=None, title=None, labels=None)]).conversations
    assert frame["raw"].iloc[0] == "{}"
    assert frame["updated_at"].isna().all() and frame["labels"].isna().all()


def test_a_reported_count_that_disagrees_with_the_messages_is_kept_in_raw() -> None:
    item = conversation(number_of_messages=5, messages=[{"role": "user"}])
    row = normalise([item]).conversations.iloc[0]
    assert row["message_count"] == 1
    assert row["raw"] == '{"number_of_messages": 5}'


def test_flat_rows_keep_unknown_fields_on_their_side() -> None:
    row = {
        "chat_id": "c-9",
        "chat_created_at": "2024-03-01T12:00:00Z",
        "chat_channel": "slack",
        "role": "user",
        "created_at": "2024-03-01T12:00:01Z",
        "tokens": 3,
        "id": "m-1",
    }
    history = normalise([row])
    assert history.conversations["raw"].iloc[0] == '{"channel": "slack"}'
    assert history.messages["raw"].iloc[0] == '{"id": "m-1", "tokens": 3}'
    assert history.messages["created_at"].iloc[0] == _utc("2024-03-01T12:00:01")


# --- errors -------------------------------------------------------------------------------


def test_missing_id_is_refused_with_index_and_excerpt() -> None:
    error = shape_error([conversation(), {"created_at": "2024-03-01T12:00:00Z", "title": "t"}])
    assert error.where == "$[1]"
    assert str(error) == (
        "conversation has no usable id (looked for chat_id, chatId, conversation_id, "
        'conversationId, id, got None) at $[1]: {"created_at": "2024-03-01T12:00:00Z", '
        '"title": "t"}'
    )


def test_missing_created_at_is_refused() -> None:
    error = shape_error({"data": [{"chat_id": "c-1"}]})
    assert str(error) == (
        "conversation has no created_at (looked for created_at, createdAt, timestamp, time) "
        'at $.data[0]: {"chat_id": "c-1"}'
    )


def test_unparseable_conversation_timestamp_is_refused() -> None:
    error = shape_error([conversation(created_at="yesterday")])
    assert str(error).startswith("unparseable created_at 'yesterday' at $[0]: {")
    assert '"created_at": "yesterday"' in error.excerpt


def test_unparseable_message_timestamp_names_the_message() -> None:
    messages = [{"role": "user"}, {"role": "assistant", "created_at": "01/03/2024 12:00"}]
    error = shape_error([conversation(messages=messages)])
    assert str(error) == (
        "unparseable message created_at '01/03/2024 12:00' at $[0].messages[1]: "
        '{"created_at": "01/03/2024 12:00", "role": "assistant"}'
    )


@pytest.mark.parametrize(
    ("payload", "where", "shown"),
    [
        ({"detail": "not found"}, "$", '{"detail": "not found"}'),
        (None, "$", "null"),
        ("conversations", "$", '"conversations"'),
        ({"data": None}, "$.data", "null"),
        ({"data": {"rows": []}}, "$.data", '{"rows": []}'),
    ],
)
def test_unknown_top_level_shape_is_refused(payload: object, where: str, shown: str) -> None:
    error = shape_error(payload)
    assert str(error) == (
        "unknown top-level shape: expected a list of conversations or message rows, or an "
        "object wrapping one under one of ['conversations', 'data', 'items', 'results', "
        f"'chats', 'history'] at {where}: {shown}"
    )


def test_ambiguous_wrapper_is_refused() -> None:
    error = shape_error({"data": [], "items": []})
    assert str(error) == (
        "ambiguous wrapper object: several list keys ['data', 'items'] at $: "
        '{"data": [], "items": []}'
    )


@pytest.mark.parametrize(
    ("meta", "reason"),
    [
        ({"next": "/api/export_history?page=2"}, "next='/api/export_history?page=2'"),
        ({"has_more": True}, "has_more=true"),
        ({"total": 3}, "total=3 but 2 received"),
        ({"pagination": {"next_cursor": "abc"}}, "next_cursor='abc'"),
    ],
)
def test_a_page_of_a_longer_result_is_refused(meta: dict[str, object], reason: str) -> None:
    error = shape_error({"conversations": NESTED, **meta})
    assert error.reason == (
        f"payload is one page of several ({reason}); fetch every page and normalise them together"
    )
    assert error.excerpt == json.dumps(meta, sort_keys=True)


def test_conversation_before_the_window_is_refused() -> None:
    error = shape_error([conversation(), conversation(chat_id="c-0", created_at=1709251199)])
    assert str(error).startswith(
        "conversation created at 2024-02-29T23:59:59+00:00 is outside the export window "
        "[2024-03-01T00:00:00+00:00, 2024-03-02T00:00:00+00:00) (1 such conversations) at $[1]"
    )


def test_window_end_is_exclusive() -> None:
    error = shape_error([conversation(created_at="2024-03-02T00:00:00Z")])
    assert "is outside the export window" in error.reason
    assert error.where == "$[0]"


def test_conflicting_duplicate_conversation_is_refused() -> None:
    error = shape_error([conversation(title="one"), conversation(title="two")])
    assert str(error) == (
        "conversation 'c-9' appears twice with different content (first at $[0]) at $[1]: "
        '{"chat_id": "c-9", "created_at": "2024-03-01T12:00:00Z", "title": "two"}'
    )


def test_duplicate_with_different_messages_is_refused() -> None:
    first = conversation(messages=[{"role": "user", "content": "a"}])
    second = conversation(messages=[{"role": "user", "content": "b"}])
    error = shape_error([first, second])
    assert error.reason == "conversation 'c-9' appears twice with different content (first at $[0])"


def test_flat_rows_disagreeing_on_conversation_fields_are_refused() -> None:
    rows = [
        {**FLAT[0]},
        {**FLAT[2], "title": "Another title"},
    ]
    error = shape_error(rows)
    assert error.reason == "rows of conversation 'c-1' disagree on its fields (first row at $[0])"
    assert error.where == "$[1]"


def test_flat_row_with_an_ambiguous_timestamp_is_refused() -> None:
    error = shape_error([{"chat_id": "c-1", "created_at": "2024-03-01T12:00:00Z", "role": "user"}])
    assert error.reason == (
        "flat row has a bare created_at and neither of a conversation_ and a message_ prefixed "
        "timestamp: cannot tell whether it is the conversation's or the message's"
    )
    assert error.where == "$[0]"


def test_mixing_nested_conversations_and_flat_rows_is_refused() -> None:
    error = shape_error([NESTED[0], FLAT[0]])
    assert error.reason == (
        "payload mixes conversations with nested messages ($[0]) and flat message rows"
    )
    assert error.where == "$[1]"


def test_duplicate_message_index_with_different_content_is_refused() -> None:
    second = {**FLAT[2], "message_index": 0}
    error = shape_error([FLAT[0], second])
    assert error.reason == (
        "conversation 'c-1' has two different messages with index 0 (first at $[0])"
    )
    assert error.where == "$[1]"


def test_message_of_another_conversation_is_refused() -> None:
    error = shape_error([conversation(messages=[{"role": "user", "chat_id": "c-1"}])])
    assert str(error) == (
        "message names conversation 'c-1', not 'c-9' at $[0].messages[0]: "
        '{"chat_id": "c-1", "role": "user"}'
    )


@pytest.mark.parametrize(
    ("item", "reason"),
    [
        (conversation(labels=7), "labels must be a list or a comma-separated string, got 7"),
        (conversation(labels=[["x"]]), "a label must be a name, got ['x']"),
        (
            conversation(auto_review_score={"label": "OK"}),
            "auto_review_score must be a number or one of Dot's auto-review labels "
            "(Issue, Abandoned, Success, OK), got {'label': 'OK'}",
        ),
        (
            conversation(auto_review_score="Issue", auto_review_label="OK"),
            "auto-review verdict sent twice, as 'OK' and 'Issue'",
        ),
        (
            conversation(number_of_messages=-1),
            "message count must be a non-negative integer, got -1",
        ),
        (conversation(title={"text": "x"}), "title must be text, got dict {'text': 'x'}"),
        (conversation(chat_id=True), "conversation has no usable id"),
        (conversation(messages="none"), "messages must be a list, got str"),
    ],
)
def test_values_of_the_wrong_type_are_refused(item: dict[str, object], reason: str) -> None:
    error = shape_error([item])
    assert error.reason.startswith(reason)
    assert error.where == "$[0]"


def test_non_object_items_are_refused() -> None:
    assert str(shape_error([conversation(), "c-2"])) == (
        'expected an object, got str at $[1]: "c-2"'
    )
    assert str(shape_error([conversation(messages=["hi"])])) == (
        'expected a message object, got str at $[0].messages[0]: "hi"'
    )


def test_long_items_are_truncated_in_the_message() -> None:
    error = shape_error([{"created_at": "2024-03-01T12:00:00Z", "title": "x" * 1000}])
    assert error.excerpt.endswith("… (1051 characters)")
    assert len(error.excerpt) < 400


def test_an_empty_window_is_a_caller_error() -> None:
    with pytest.raises(ValueError, match="empty export window"):
        normalise_history([], window_start=END, window_end=START)


def test_the_error_survives_pickling_between_processes() -> None:
    error = shape_error([{"title": "no id"}])
    copied = pickle.loads(pickle.dumps(error))
    assert (copied.reason, copied.where, copied.excerpt) == (
        error.reason,
        error.where,
        error.excerpt,
    )
    assert str(copied) == str(error)


# --- performance --------------------------------------------------------------------------


def test_a_busy_day_normalises_in_well_under_a_second_per_ten_thousand_messages() -> None:
    """A guard against accidental per-row DataFrame work, not a benchmark (bounds are loose)."""
    payload = [
        conversation(
            chat_id=f"c-{i}",
            created_at=f"2024-03-01T{i % 24:02d}:{i % 60:02d}:00Z",
            user_email=f"user{i % 40}@example.com",
            messages=[
                {
                    "role": "user" if j % 2 == 0 else "assistant",
                    "content": "How did revenue develop last quarter?",
                    "created_at": f"2024-03-01T{i % 24:02d}:{i % 60:02d}:{j:02d}Z",
                    "id": f"m-{i}-{j}",
                }
                for j in range(10)
            ],
        )
        for i in range(2_000)
    ]
    started = time.perf_counter()
    history = normalise(payload)
    elapsed = time.perf_counter() - started
    assert len(history.messages) == 20_000
    assert elapsed < 5, f"20,000 messages took {elapsed:.1f} s"
