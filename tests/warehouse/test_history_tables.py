"""The normaliser's frames go through the partition writer unchanged."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import duckdb
import pandas as pd

from dot_orchestration.transforms.history import normalise_history
from dot_orchestration.warehouse import read_partition, replace_partition

DAY = date(2024, 3, 1)
START = datetime(2024, 3, 1, tzinfo=timezone.utc)
EXPORT = [
    {
        "chat_id": "c-1",
        "created_at": "2024-03-01T09:30:00.123456Z",
        "user_email": "ana@example.com",
        "labels": "finance",
        "auto_review": {"score": 4, "reason": "ok"},
        "dot_url": "https://app.getdot.ai/c/c-1",
        "messages": [
            {"role": "user", "content": "Revenue?", "created_at": "2024-03-01T09:30:00Z"},
            {"role": "assistant", "content": "Up 4 %.", "id": "m-2"},
        ],
    },
    {"chat_id": "c-2", "created_at": 1709290800, "number_of_messages": 0, "messages": []},
]


def test_history_frames_round_trip_through_duckdb(tmp_path: Path) -> None:
    db = tmp_path / "dot.duckdb"
    history = normalise_history(EXPORT, window_start=START, window_end=START + timedelta(days=1))
    for table, frame in (("conversations", history.conversations), ("messages", history.messages)):
        replace_partition(
            db,
            schema="dot_history",
            table=table,
            partition_column="partition_date",
            partition_values=[DAY],
            frame=frame,
            allow_empty=False,
        )
        stored = read_partition(
            db, schema="dot_history", table=table, partition_column="partition_date"
        )
        pd.testing.assert_frame_equal(stored, frame)

    with duckdb.connect(str(db), read_only=True) as conn:
        types = dict(
            conn.execute(
                "SELECT column_name, data_type FROM information_schema.columns "
                "WHERE table_name = 'conversations'"
            ).fetchall()
        )
        score = conn.execute(
            "SELECT auto_review_score, raw::JSON ->> 'dot_url' FROM dot_history.conversations "
            "WHERE conversation_id = 'c-1'"
        ).fetchone()
    assert types["partition_date"] == "DATE"
    assert types["created_at"] == "TIMESTAMP"
    assert types["message_count"] == "BIGINT"
    assert score == (4.0, "https://app.getdot.ai/c/c-1")
