"""Turn one window of Dot's conversation-history export into two typed tables.

`GET /api/export_history` has no documented response shape, so input is read leniently and
output is strict. Every shape a FastAPI service plausibly returns is accepted:

* a JSON list of conversations, each with a nested ``messages`` list;
* an object wrapping that list under ``conversations``, ``data``, ``items``, ``results``,
  ``chats`` or ``history`` (pagination and meta keys may sit beside it);
* flat rows, one per message, each carrying its conversation's id and fields;
* conversations without messages, carrying only a message count.

Output is the source contract of the example dbt project: `CONVERSATION_DTYPES` and
`MESSAGE_DTYPES`, timestamps in UTC, unknown fields kept as JSON text in ``raw``. Anything
that does not fit raises `HistoryShapeError` naming the item, where it sits in the payload and
why, because a row dropped from a daily export is a hole in the history that nobody notices
until a report is wrong.

A wrapper whose pagination keys say more pages follow is refused: their rows would be lost.
A conversation listed twice is merged when both copies say the same, refused otherwise.
``message_count`` is counted from the messages when they are listed (a reported count that
disagrees is kept in ``raw``), else taken as reported.

Dot's auto-review verdict is documented as a label (Issue, Abandoned, Success, OK) with a
one-line reason; "the admin usage export carries each conversation's score and reason", so
the label may arrive under a score's name. A text verdict lands in ``auto_review_label`` and
a number in ``auto_review_score``, wherever either was sent; a label not among the four
documented ones is kept as sent, since Dot may add labels and a failed partition would
lose a day of history for want of a word.

`normalise_history` is the one entry point; each step is a module of its own, in the order
the payload passes through them:

* `_wrapper`: the list of conversations or rows inside the reply (wrapper keys, and the
  refusal of one page of several);
* `_items`: that list into conversations: nested or flat rows (never a mix), repeats merged;
* `_records`: one conversation, one message, into typed values;
* `_fields`: the many spellings of each field, read through plans cached per key set, and
  how a flat row splits into its conversation's and its message's fields;
* `_values`: one value into its column's type (ids, text, counts, labels, verdicts);
* `_raw`: JSON text: the fields nothing read (``raw``) and structured values;
* `_timestamps`: a column of timestamps, however each was sent, into UTC;
* `_frames`: the window check and the two frames in the contract's dtypes;
* `_errors`: `HistoryShapeError` and the JSON path and excerpt it shows.

The body as Dot sent it (bytes) has a faster way through, `normalise_bodies`, when DuckDB
and pyarrow are installed: DuckDB parses it and maps every column in SQL, for the shapes
`_shapes` proves give exactly the Python path's tables (the emulator's, and what Dot is
believed to send); every other body takes the Python path above, unchanged. `_fast` holds
the SQL, `_tables` the two tables as Arrow (`HistoryTables`), which the writers take whole.
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Callable, Generator, Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime, tzinfo
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar
from zoneinfo import ZoneInfo

from dot_orchestration.transforms.history._errors import HistoryShapeError, shape_error
from dot_orchestration.transforms.history._frames import (
    CONVERSATION_DTYPES,
    MESSAGE_DTYPES,
    NormalisedHistory,
    build_frames,
    window_bounds,
)
from dot_orchestration.transforms.history._items import read_items
from dot_orchestration.transforms.history._values import AUTO_REVIEW_LABELS
from dot_orchestration.transforms.history._wrapper import unwrap

if TYPE_CHECKING:  # pyarrow is needed only by the bytes' way through
    from dot_orchestration.transforms.history._tables import HistoryTables

#: How much of Dot's answers (JSON bytes) DuckDB maps in one batch: a year of a busy
#: organisation (130 MiB) is about sixteen. Each batch costs some 30 ms of CPU whatever its
#: size (its statements are planned, its tables created); memory holds a batch's rows and
#: DuckDB's working space for them, several times its size. Measured on a year
#: (`bench/bench_ingest.py`): 2 MiB batches two at a time 6.6 CPU s and 297 MiB of peak
#: RSS, 8 MiB batches one at a time 6.0 CPU s and 290 MiB; a second batch mapped at once,
#: on another core, gained a few tenths of a second of wall time for 40 MiB.
BATCH_BYTES = 8 << 20
Item = TypeVar("Item")

__all__ = [
    "AUTO_REVIEW_LABELS",
    "BATCH_BYTES",
    "CONVERSATION_DTYPES",
    "MESSAGE_DTYPES",
    "ExportBody",
    "HistoryShapeError",
    "NormalisedHistory",
    "batches",
    "fast_path_installed",
    "normalise_bodies",
    "normalise_history",
]


def normalise_history(
    payload: object,
    *,
    window_start: datetime,
    window_end: datetime,
    tz: str | tzinfo = "UTC",
) -> NormalisedHistory:
    """Normalise an export body covering ``[window_start, window_end)``.

    ``payload`` is the decoded body, or its bytes as Dot sent them (then DuckDB maps it
    where it can, see `normalise_bodies`; the result is the same). ``tz`` is the timezone
    of the partitions: ``partition_date`` is a conversation's ``created_at`` date there,
    and naive window bounds are read there. Naive timestamps in the payload are UTC.
    Messages share their conversation's ``partition_date`` so that a conversation and its
    messages are always replaced together. Rows are sorted by conversation ``created_at``
    and id, messages by index, so the same export always gives the same frames.

    Raises `HistoryShapeError` for anything that cannot be normalised whole, including a
    conversation created outside the window, and `ValueError` for an empty window.
    """
    zone = _zone(tz)
    if isinstance(payload, bytes):
        if fast_path_installed():
            with tempfile.TemporaryDirectory(prefix="dot-history-") as spool:
                path = Path(spool) / "body.json"
                path.write_bytes(payload)
                body = ExportBody(path, window_start, window_end)
                return next(normalise_bodies([body], tz=zone)).frames()
        payload = _decoded(payload)
    start, end = window_bounds(window_start, window_end, zone)
    items, where = unwrap(payload, "$", 0)
    conversations = read_items(items, where)
    return build_frames(conversations, start, end, zone)


@dataclass(frozen=True)
class ExportBody:
    """One export body as Dot sent it, spooled to a file; the window it answers (as for
    `normalise_history`); and the one partition to keep (None: all of them)."""

    path: Path
    window_start: datetime
    window_end: datetime
    day: date | None = None


def normalise_bodies(
    bodies: Sequence[ExportBody], *, tz: str | tzinfo = "UTC"
) -> Generator[HistoryTables, None, None]:
    """Each body's tables as Arrow, in order: what `normalise_history` gives, faster.

    DuckDB maps the bodies whose shape it proves, a batch of about `BATCH_BYTES` of them
    in a few statements (the next batch's structure is read meanwhile); the others are
    decoded and take the Python path. A body that does not fit raises its
    `HistoryShapeError` when its turn comes, so a caller knows which one it was. Memory
    holds a batch; DuckDB's is given back when the last body is yielded.
    Needs DuckDB and pyarrow (`fast_path_installed`).
    """
    from dot_orchestration.transforms.history._fast import FastBody, FastPath

    zone = _zone(tz)

    def fast_bodies(batch: list[ExportBody]) -> list[FastBody]:
        return [
            FastBody(body.path, *window_bounds(body.window_start, body.window_end, zone), body.day)
            for body in batch
        ]

    chunks = list(batches(bodies, lambda body: body.path.stat().st_size))
    with FastPath() as fast:
        for number, batch in enumerate(chunks):
            if number + 1 < len(chunks):
                fast.read_ahead([body.path for body in chunks[number + 1]])
            yield from _handed_out(batch, fast.tables(fast_bodies(batch), zone), zone)


def _handed_out(
    batch: list[ExportBody], mapped: list[HistoryTables | None], zone: tzinfo
) -> Iterator[HistoryTables]:
    """A batch's tables in order, the Python path's where DuckDB's gave none (a function
    of its own so that the batch's tables are let go before the next batch is mapped)."""
    for body, tables in zip(batch, mapped, strict=True):
        yield _python_tables(body, zone) if tables is None else tables


def batches(
    items: Sequence[Item], size: Callable[[Item], int], most: int = BATCH_BYTES
) -> Iterator[list[Item]]:
    """Consecutive items, about ``most`` (by ``size``) in each list."""
    batch: list[Item] = []
    total = 0
    for item in items:
        batch.append(item)
        total += size(item)
        if total >= most:
            yield batch
            batch, total = [], 0
    if batch:
        yield batch


def _python_tables(body: ExportBody, zone: tzinfo) -> HistoryTables:
    """The Python path for one body, as Arrow."""
    from dot_orchestration.transforms.history._tables import tables_of

    history = normalise_history(
        _decoded(body.path.read_bytes()),
        window_start=body.window_start,
        window_end=body.window_end,
        tz=zone,
    )
    tables = tables_of(history)
    return tables if body.day is None else tables.of_day(body.day)


def fast_path_installed() -> bool:
    """Whether DuckDB and pyarrow are there for `normalise_bodies`."""
    try:
        import duckdb  # noqa: F401
        import pyarrow  # type: ignore[import-untyped]  # noqa: F401
    except ImportError:
        return False
    return True


def _decoded(body: bytes) -> object:
    try:
        return json.loads(body)
    except ValueError as error:  # UnicodeDecodeError is one too
        raise shape_error(
            f"the body is not JSON ({error})", where="$", item=body[:300].decode(errors="replace")
        ) from None


def _zone(tz: str | tzinfo) -> tzinfo:
    return ZoneInfo(tz) if isinstance(tz, str) else tz
