"""The DuckDB path of the history normaliser gives exactly the Python path's tables.

`normalise_bodies` maps in SQL the export bodies whose shape it proves and leaves the rest to
the Python path; whichever way a body goes, the frames (``raw``, timestamps, order,
partition dates) and the refusals must be the Python path's. Compared here over the
emulator's generated history, over every payload of the normaliser's own tests
(test_history.py, with variants listing messages, which the DuckDB path maps), and over
payloads aimed at where SQL and Python could differ.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date, datetime, timedelta, timezone, tzinfo
from pathlib import Path
from zoneinfo import ZoneInfo

import pandas as pd
import pytest
import test_history as cases

from dot_orchestration.emulator import EmulatorConfig
from dot_orchestration.emulator.state import EmulatorState
from dot_orchestration.transforms.history import (
    ExportBody,
    HistoryShapeError,
    NormalisedHistory,
    _fast,
    normalise_bodies,
    normalise_history,
)
from dot_orchestration.transforms.history._fast import FastBody, fast_tables
from dot_orchestration.transforms.history._tables import HistoryTables, tables_of
from dot_orchestration.transforms.history_days import DayRequest

START, END = cases.START, cases.END
TEXTS = 'quote " backslash \\ newline \n tab \t é 😀 \u2028 \x7f \\u2028 \\n /'


def conversation(chat_id: str = "c-9", **fields: object) -> dict[str, object]:
    """A conversation the DuckDB path maps: nested messages, each field spelt one way."""
    return {
        "chat_id": chat_id,
        "created_at": "2024-03-01T12:00:00Z",
        "messages": [{"id": f"{chat_id}-0", "role": "user", "content": "hi"}],
        **fields,
    }


# Payloads aimed at the SQL: each must give the Python path's tables (or its error).
TARGETED: dict[str, object] = {
    "emulator-like": [
        conversation(
            title="Revenue?",
            updated_at="2024-03-01T12:01:00Z",
            author_email="ana@example.com",
            author_name="Ana",
            workspace="default",
            environment=None,
            channel="slack",
            labels=[],
            num_messages=1,
            auto_review_label="Success",
            auto_review_score=5,
            auto_review_reason="thanked",
        )
    ],
    "count-disagrees": [conversation(num_messages=3), conversation("c-8", num_messages=None)],
    "texts": [
        conversation(
            title=TEXTS,
            labels=[TEXTS, "b"],
            note=TEXTS,
            messages=[{"role": "user", "content": TEXTS, "meta": TEXTS}],
        )
    ],
    "control-character-in-raw": [conversation(note="vertical \x0b tab")],
    "escape-text-in-raw": [conversation(note="a \\u000B b")],
    "label-whitespace": [conversation(auto_review_label="\u3000 OK\t\x1c")],
    "blank-label": [conversation(auto_review_label="   ")],
    "timestamps": [
        conversation("c-1", created_at="2024-03-01T14:00:00+05:30"),
        conversation("c-2", created_at="2024-03-01T12:00:00"),
        conversation("c-3", created_at="2024-03-01T12:00:00.5Z", updated_at=None),
        conversation(
            "c-4",
            created_at="2024-03-01T12:00:00.123456-02:00",
            messages=[{"role": "user", "created_at": "2262-04-09T23:59:59Z"}],
        ),
    ],
    "seven-fraction-digits": [conversation(created_at="2024-03-01T12:00:00.1234567Z")],
    "hour-24": [conversation(created_at="2024-03-01T24:00:00Z")],
    "february-30": [conversation(created_at="2024-02-30T12:00:00Z")],
    "message-before-pandas": [conversation(messages=[{"created_at": "1600-01-01T00:00:00Z"}])],
    "outside-the-window": [conversation(), conversation("c-0", created_at="2024-02-29T23:59:59Z")],
    "no-created-at": [conversation(created_at=None)],
    "empty-id": [conversation(chat_id="")],
    "repeated-conversation": [conversation(), conversation()],
    "repeated-but-different": [conversation(), conversation(title="other")],
    "indexes": [
        conversation(
            messages=[
                {"index": 3, "role": "assistant", "chat_id": "c-9"},
                {"index": 1, "role": "user", "chat_id": None},
            ]
        )
    ],
    "repeated-index": [conversation(messages=[{"index": 1}, {"index": 1, "role": "user"}])],
    "message-of-another-conversation": [conversation(messages=[{"chat_id": "c-1"}])],
    "null-message": [conversation(messages=[None])],
    "null-label": [conversation(labels=["a", None])],
    "unknown-here-and-there": [
        conversation("c-1", extra=None, messages=[{"role": "user", "x": None}, {"role": "a"}]),
        conversation("c-2", messages=[{"role": "user"}, {"role": "a", "x": 1, "y": True}]),
        conversation("c-3", extra="yes", messages=[]),
    ],
    "unknown-types": [conversation(flag=False, big=2**63 + 1, negative=-3, nothing=None)],
    "unknown-float": [conversation(ratio=0.1)],
    "unknown-object": [conversation(meta={"a": 1})],
    "scores": [
        conversation("c-1", auto_review_score=4.5),
        conversation("c-2", auto_review_score=-2),
        conversation("c-3", auto_review_score=2**60 + 1),
    ],
    "mixed-id-types": [conversation(), conversation(chat_id=7)],
    "empty": [],
    "wrapped": {"data": [conversation()]},
    "not-json-objects": [conversation(), 3],
}
# Bodies whose proof the DuckDB path must find (the rest it may leave to Python).
PROVEN = {
    "emulator-like",
    "count-disagrees",
    "texts",
    "label-whitespace",
    "blank-label",
    "timestamps",
    "indexes",
    "unknown-here-and-there",
    "unknown-types",
    "scores",
    "empty",
}
# Bytes json.dumps cannot write: which copy of a repeated key wins differs between parsers.
REPEATED_KEY = (
    b'[{"chat_id": "c-9", "created_at": "2024-03-01T12:00:00Z", "title": "first", '
    b'"title": "last", "messages": []}]'
)


def test_payloads_aimed_at_the_sql_give_the_python_paths_tables(tmp_path: Path) -> None:
    payloads = {**TARGETED, "repeated-key": REPEATED_KEY}
    proven = compare(payloads, tmp_path)
    assert proven >= PROVEN
    assert "repeated-key" not in proven


def test_the_normaliser_tests_payloads_give_the_same_tables(tmp_path: Path) -> None:
    payloads = dict(normaliser_test_payloads())
    proven = compare(payloads, tmp_path)
    assert len(payloads) > 60
    assert "NESTED" in proven
    assert len(proven) >= 13, sorted(proven)


def test_the_emulators_history_gives_the_same_frames(tmp_path: Path) -> None:
    """Three days of each profile in one batch, as an export lands them: the default
    profile's days mapped by DuckDB, the strict profile's (a verdict under the score's
    name) by Python; every day the Python path's frames."""
    days = [
        (day, strict) for strict in (False, True) for day in (date(2024, 3, n) for n in (1, 2, 3))
    ]
    bodies = [
        ExportBody(
            write(tmp_path / f"{day}-{strict}.json", emulator_day(day, strict)), *utc_day(day)
        )
        for day, strict in days
    ]
    proven: set[str] = set()
    with spying_on_the_duckdb_path(proven, [f"{day}-{strict}" for day, strict in days]):
        normalised = list(normalise_bodies(bodies))
    assert proven == {f"{day}-False" for day, _ in days}
    for (day, strict), tables in zip(days, normalised, strict=True):
        python = normalise_history(
            emulator_day(day, strict), window_start=utc_day(day)[0], window_end=utc_day(day)[1]
        )
        assert_same(tables.frames(), python, f"{day}-{strict}")


@pytest.mark.parametrize("zone", ["America/New_York", "Asia/Kolkata"])
def test_a_day_of_another_zone_keeps_its_own_rows_either_way(zone: str, tmp_path: Path) -> None:
    """A day of a zone west or east of UTC asks Dot for two UTC days and keeps its own
    conversations (their partition date is the day in the zone); messages go with them."""
    day = date(2024, 3, 2)
    start = datetime(2024, 3, 2, tzinfo=ZoneInfo(zone))
    request = DayRequest.for_window(str(day), start, start + timedelta(days=1))
    payload = [
        conversation(chat_id, created_at=f"{request.start_date + timedelta(days=n)}T{hour}:30:00Z")
        for n in range(2)
        for chat_id, hour in ((f"c-{n}-early", "02"), (f"c-{n}-late", "21"))
    ]
    path = write(tmp_path / "day.json", payload)
    window = dict(zip(("window_start", "window_end"), request.window, strict=True))
    [fast] = fast_tables([FastBody(path, *map(pd.Timestamp, request.window), day)], ZoneInfo(zone))
    python = normalise_history(payload, **window, tz=zone)
    kept = python.conversations["partition_date"] == day
    assert fast is not None and 0 < kept.sum() < len(kept)
    assert_same(
        fast.frames(),
        NormalisedHistory(
            python.conversations[kept].reset_index(drop=True),
            python.messages[python.messages["partition_date"] == day].reset_index(drop=True),
        ),
    )
    [whole] = fast_tables(
        [FastBody(path, *map(pd.Timestamp, request.window), None)], ZoneInfo(zone)
    )
    assert whole is not None
    assert_same(whole.frames(), python)


@pytest.mark.parametrize(
    "name", ["outside-the-window", "hour-24", "repeated-but-different", "null-label"]
)
def test_a_refusal_is_the_python_paths_raised_for_its_body(name: str, tmp_path: Path) -> None:
    """A body failing a check in SQL is the Python path's: its error, raised in its turn."""
    good = ExportBody(write(tmp_path / "good.json", [conversation()]), START, END)
    bad = ExportBody(write(tmp_path / "bad.json", TARGETED[name]), START, END)
    with pytest.raises(HistoryShapeError) as python:
        normalise_history(TARGETED[name], window_start=START, window_end=END)
    bodies = normalise_bodies([good, bad])
    assert next(bodies).conversations.num_rows == 1
    with pytest.raises(HistoryShapeError) as fast:
        next(bodies)
    assert str(fast.value) == str(python.value)


def test_naive_timestamps_are_utc_beside_ones_with_an_offset(tmp_path: Path) -> None:
    """pandas reads a naive time after one with an offset in that offset; both paths
    read it as UTC, as documented."""
    history = normalise_history(TARGETED["timestamps"], window_start=START, window_end=END)
    created = history.conversations.set_index("conversation_id")["created_at"]
    assert created["c-2"] == pd.Timestamp("2024-03-01T12:00:00Z")


def test_bytes_that_are_not_json_are_refused_as_a_shape() -> None:
    with pytest.raises(HistoryShapeError, match="the body is not JSON"):
        normalise_history(b"[{", window_start=START, window_end=END)


# --- comparing both paths ----------------------------------------------------------------


def compare(payloads: dict[str, object], tmp_path: Path) -> set[str]:
    """Every payload both ways, the DuckDB path's in one batch; the names it proved.

    What it proves must be the Python path's rows; a payload the Python path refuses it
    must not prove (the Python path then gives its error: `test_a_refusal_...`).
    """
    names, bodies, python = [], [], []
    for number, (name, payload) in enumerate(payloads.items()):
        body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
        path = write_bytes(tmp_path / f"{number}.json", body)
        names.append(name)
        bodies.append(FastBody(path, pd.Timestamp(START), pd.Timestamp(END), None))
        try:
            python.append(normalise_history(json.loads(body), window_start=START, window_end=END))
        except HistoryShapeError as error:
            python.append(error)
    proven = set()
    for name, tables, expected in zip(
        names, fast_tables(bodies, timezone.utc), python, strict=True
    ):
        if tables is not None:
            proven.add(name)
            assert isinstance(expected, NormalisedHistory), (name, expected)
            rows = tables_of(expected)  # compared as Arrow: the same rows, quicker
            assert tables.conversations.equals(rows.conversations), name
            assert tables.messages.equals(rows.messages), name
    return proven


@contextmanager
def spying_on_the_duckdb_path(proven: set[str], names: list[str]) -> Iterator[None]:
    """Records which of the bodies (``names``, in order) the DuckDB path maps itself."""
    real = _fast.FastPath.tables
    seen = iter(names)

    def spy(
        self: _fast.FastPath, bodies: list[FastBody], zone: tzinfo
    ) -> list[HistoryTables | None]:
        results = real(self, bodies, zone)
        mapped = zip(seen, results, strict=False)
        proven.update(name for name, tables in mapped if tables is not None)
        return results

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(_fast.FastPath, "tables", spy)
        yield


def assert_same(fast: NormalisedHistory, python: object, name: str = "") -> None:
    assert isinstance(python, NormalisedHistory), (name, python)
    pd.testing.assert_frame_equal(fast.conversations, python.conversations, obj=name)
    pd.testing.assert_frame_equal(fast.messages, python.messages, obj=name)


def write(path: Path, payload: object) -> Path:
    return write_bytes(path, json.dumps(payload).encode())


def write_bytes(path: Path, body: bytes) -> Path:
    path.write_bytes(body)
    return path


# --- the payloads ---------------------------------------------------------------------------


def normaliser_test_payloads() -> Iterator[tuple[str, object]]:
    """The payloads of test_history.py: its module's shapes, and every parametrized item,
    message, verdict, timestamp and wrapper of its tests, as the payloads they go into;
    each list of items also with messages listed (a count it carries then disagrees)."""
    yield "NESTED", cases.NESTED
    yield "FLAT", cases.FLAT
    yield "counts only", cases._without_messages(cases.NESTED)
    builders: dict[str, Callable[[object], object]] = {
        "payload": lambda value: value,
        "item": lambda item: [item],
        "message": lambda message: [cases.conversation(messages=[message])],
        "verdict": lambda verdict: [cases.conversation(**verdict)],  # type: ignore[arg-type]
        "value": lambda value: [cases.conversation(created_at=value)],
        "meta": lambda meta: {"conversations": cases.NESTED, **meta},  # type: ignore[dict-item]
        "key": lambda key: {key: cases.NESTED, "meta": {"total": 2}},
    }
    for test_name, test in vars(cases).items():
        for mark in getattr(test, "pytestmark", []):
            if mark.name != "parametrize":
                continue
            names = mark.args[0] if isinstance(mark.args[0], str) else ",".join(mark.args[0])
            build = builders.get(names.split(",")[0].strip())
            for number, values in enumerate(mark.args[1]):
                value = values[0] if isinstance(values, tuple) else values
                if build is not None:
                    payload = build(value)
                    yield f"{test_name}[{number}]", payload
                    if isinstance(payload, list) and all(isinstance(i, dict) for i in payload):
                        yield f"{test_name}[{number}]+messages", with_messages(payload)


def with_messages(items: list[dict[str, object]]) -> list[dict[str, object]]:
    return [
        item if "messages" in item else {**item, "messages": [{"role": "user", "content": "hi"}]}
        for item in items
    ]


def emulator_day(day: date, strict: bool) -> list[dict[str, object]]:
    """One UTC day of the emulator's history, as `GET /api/export_history` lists it."""
    config = EmulatorConfig(
        seed=3,
        history_days=10,
        history_conversations_per_day=12,
        history_end=date(2024, 3, 8),
        strict=strict,
    )
    [chats] = EmulatorState(config).conversations(day, day + timedelta(days=1), workspace=None)
    return [chat.export_record(strict=strict) for chat in chats]


def utc_day(day: date) -> tuple[datetime, datetime]:
    start = datetime(day.year, day.month, day.day, tzinfo=timezone.utc)
    return start, start + timedelta(days=1)
