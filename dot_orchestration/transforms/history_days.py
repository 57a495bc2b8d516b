"""Fetch and spool days of Dot's conversation history: the export's core, without Dagster.

A day of history is one `GET /api/export_history` call (`DayRequest`). `fetch_days` runs
the calls on a bounded thread pool and spools each answer to local disk as Dot sent it;
then `HistoryExport.of_bodies` normalises the answers (`normalise_bodies`) and spools
consecutive days' two tables together as Arrow files, about `WRITE_BYTES` of answers a
`SpooledBatch`: memory holds a batch or two, never a backfill's range. The export is all
of the days or an error raised for the earliest day that failed: nothing is ever
half-fetched, so a caller that writes only a whole `HistoryExport` leaves the warehouse as
it was when Dot fails. `HistoryExport.replace` then writes it batch by batch, each batch's
days of both tables in one transaction.

Why batches: DuckDB maps a batch of answers in a handful of statements and a writer
replaces its days in one transaction; a statement or a transaction per day would cost more
than the rows of a day. Without pyarrow (which the Arrow files and the DuckDB path need)
every day is normalised by the Python path, once to check it and once more when it is
written, and written in a transaction of its own.

Why the request is the day: Dot's `start_date`/`end_date` are UTC days, end exclusive (the
emulator behaves so; Dot's default end "tomorrow" implies it). A UTC day asks for exactly
itself. A day in another time zone asks for the two UTC days its window overlaps and keeps
the conversations created inside the window; the others belong to the neighbouring day,
which fetches them itself. Normalising refuses a conversation created outside the
requested UTC days, so a Dot that filtered differently fails loudly instead of doubling rows.

It lives beside `normalise_history` (not in `warehouse/`, which knows nothing of Dot) so
that any orchestrator can drive it: the Dagster asset is one caller; an Airflow task can be
another.
"""

from __future__ import annotations

import contextlib
import json
import tempfile
from collections.abc import Generator, Iterator, Sequence
from concurrent.futures import FIRST_EXCEPTION, ThreadPoolExecutor, wait
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from pathlib import Path
from typing import TYPE_CHECKING, TypedDict

from dot_orchestration.client import DotClient, DotError
from dot_orchestration.transforms.history import (
    ExportBody,
    HistoryShapeError,
    NormalisedHistory,
    batches,
    fast_path_installed,
    normalise_bodies,
    normalise_history,
)
from dot_orchestration.warehouse import PartitionSession, WriteResult

if TYPE_CHECKING:
    import pyarrow as pa  # type: ignore[import-untyped]  # pyarrow ships no type hints

    from dot_orchestration.transforms.history._tables import HistoryTables

#: The column both tables are partitioned by: a conversation's creation day in the export's
#: time zone (normalising fills it).
PARTITION_COLUMN = "partition_date"

#: How much of Dot's answers (JSON bytes) is spooled, and written in one transaction,
#: together: a year of a busy organisation (130 MiB) is then about sixteen writes.
WRITE_BYTES = 8 << 20


@dataclass(frozen=True)
class DayRequest:
    """One day (a partition) and the `export_history` call that covers it."""

    partition_key: str
    day: date  # the day in the export's time zone
    start_date: date  # Dot's UTC start day
    end_date: date  # Dot's UTC end day, exclusive

    @classmethod
    def for_window(cls, partition_key: str, start: datetime, end: datetime) -> DayRequest:
        """The smallest call Dot's date-granular API allows for the day `start`..`end`
        (time-zone aware instants, `start` at the day's midnight in its zone)."""
        utc_start, utc_end = start.astimezone(timezone.utc), end.astimezone(timezone.utc)
        end_date = (
            utc_end.date() if utc_end.time() == time() else utc_end.date() + timedelta(days=1)
        )
        return cls(partition_key, start.date(), utc_start.date(), end_date)

    @property
    def window(self) -> tuple[datetime, datetime]:
        """The instants Dot's answer must fall in: the requested UTC days."""
        return _utc_midnight(self.start_date), _utc_midnight(self.end_date)

    def describe(self) -> str:
        return f"start_date={self.start_date}, end_date={self.end_date}"


@dataclass(frozen=True)
class SpooledBatch:
    """Consecutive days' rows of both tables, spooled as Arrow files until a writer lands
    them, in one transaction."""

    days: tuple[date, ...]
    conversations: Path
    messages: Path

    def tables(self) -> HistoryTables:
        """The rows, memory-mapped: reading them copies nothing."""
        import pyarrow as pa

        from dot_orchestration.transforms.history._tables import HistoryTables

        def read(path: Path) -> pa.Table:
            return pa.ipc.open_file(pa.memory_map(str(path))).read_all()

        return HistoryTables(read(self.conversations), read(self.messages))


@dataclass(frozen=True)
class SpooledDay:
    """One day of the export: Dot's answer as sent (``path``), its rows' counts, and the
    batch its rows are spooled in (None without pyarrow: then `load` normalises again)."""

    request: DayRequest
    conversations: int
    messages: int
    path: Path
    tz: str
    batch: SpooledBatch | None

    def load(self) -> NormalisedHistory:
        """The day's rows as pandas frames."""
        if self.batch is not None:
            return self.batch.tables().of_day(self.request.day).frames()
        return _history_of_day(self.path, self.request, self.tz)


class HistoryExport:
    """What one fetch gave: one spooled day per request, in request order, and the batches
    holding their rows.

    The spool is a temporary directory removed by `close` (the writer calls it once the days
    are landed) or, failing that, when the object is garbage collected.
    """

    def __init__(
        self,
        days: Sequence[SpooledDay],
        batches: Sequence[SpooledBatch],
        spool: tempfile.TemporaryDirectory[str],
    ):
        self.days = list(days)
        self.batches = list(batches)
        self._spool = spool

    @classmethod
    def of_bodies(
        cls,
        requests: Sequence[DayRequest],
        bodies: Sequence[Path],
        *,
        tz: str,
        spool: tempfile.TemporaryDirectory[str] | None = None,
    ) -> HistoryExport:
        """Normalise Dot's answers (``bodies[i]`` answers ``requests[i]``) and spool them.

        Raises `DayExportError` for the earliest day whose answer does not fit the tables.
        The spool (a new one unless given) holds the batches and is removed on failure.
        """
        spool = spool or tempfile.TemporaryDirectory(prefix="dot-history-")
        try:
            if not fast_path_installed():
                return cls(_checked_days(requests, bodies, tz), [], spool)
            days: list[SpooledDay] = []
            spooled = []
            pairs = list(zip(requests, bodies, strict=True))
            normalised = normalise_bodies([_body(*pair) for pair in pairs], tz=tz)
            with contextlib.closing(normalised):  # gives DuckDB's memory back, even on error
                days_of = batches(pairs, lambda pair: _size(pair[1]), WRITE_BYTES)
                for number, batch in enumerate(days_of):
                    path = Path(spool.name) / f"batch-{number:05d}"
                    batch_spooled, batch_days = _spool_batch(
                        batch, normalised, tz, path, len(requests)
                    )
                    spooled.append(batch_spooled)
                    days += batch_days
            return cls(days, spooled, spool)
        except BaseException:
            spool.cleanup()
            raise

    def __iter__(self) -> Iterator[tuple[SpooledDay, NormalisedHistory]]:
        """Each day with its rows as pandas frames, loaded one at a time (`replace` writes
        whole batches, without pandas)."""
        for day in self.days:
            yield day, day.load()

    def replace(
        self, session: PartitionSession, *, schema: str, tables: tuple[str, str]
    ) -> tuple[int, int]:
        """Replace every day's partition of ``schema``'s two ``tables`` (conversations,
        messages), a batch of days in one transaction; the rows written and replaced.

        A session taking Arrow tables gets them as spooled; any other gets pandas frames.
        A day with no conversations is written empty: a `SpooledDay` exists only for an
        answer Dot sent that parsed whole, so no conversation in it means Dot has none.
        """
        inserted = deleted = 0
        for days, rows in self._writes():
            results = _replace(session, schema, tables, days, rows)
            inserted += sum(result.rows_inserted for result in results.values())
            deleted += sum(result.rows_deleted for result in results.values())
        return inserted, deleted

    def _writes(self) -> Iterator[tuple[list[date], HistoryTables | NormalisedHistory]]:
        """Each write's days and rows: a batch's, or (without pyarrow) a day's."""
        for batch in self.batches:
            yield list(batch.days), batch.tables()
        if not self.batches:
            for day, history in self:
                yield [day.request.day], history

    def close(self) -> None:
        self._spool.cleanup()


class DayExportError(Exception):
    """Dot failed, or answered something the tables cannot hold, for one day of a fetch.

    Nothing of the fetch is kept: `days` says how many days the whole fetch had, so the
    message can tell a person that none of them was written.
    """

    def __init__(self, request: DayRequest, cause: DotError | HistoryShapeError, days: int):
        self.request = request
        self.cause = cause
        self.days = days
        what = "" if isinstance(cause, DotError) else "Dot's answer does not fit the tables: "
        super().__init__(
            f"Dot history export of {request.partition_key} ({request.describe()}) failed: "
            f"{what}{cause}. None of the run's {days} day(s) was written; the previous rows "
            "are intact."
        )


def export_day(
    client: DotClient, request: DayRequest, *, include_all_workspaces: bool, spool: Path
) -> Path:
    """Fetch one day and spool Dot's answer (runs on the pool's threads).

    The client hands the decoded answer, which is encoded again for the spool: a little
    of the time it took to decode, and the answer never sits in memory past this call.
    """
    payload = client.export_history(
        request.start_date, request.end_date, include_all_workspaces=include_all_workspaces
    )
    path = spool / f"{request.partition_key}.json"
    path.write_bytes(json.dumps(payload).encode())
    return path


def fetch_days(
    client: DotClient,
    requests: Sequence[DayRequest],
    *,
    tz: str,
    include_all_workspaces: bool,
    max_concurrency: int,
) -> HistoryExport:
    """Every requested day, `max_concurrency` calls at a time: all of them, or an error.

    The first call that fails stops the fetch (queued days are cancelled) and the earliest
    failed day is raised: a `DayExportError` for Dot's errors and unusable answers, any
    other exception as it is (a bug, with its traceback). The spool is removed on failure.
    """
    spool = tempfile.TemporaryDirectory(prefix="dot-history-")
    try:
        bodies = _fetch_all(
            client,
            requests,
            include_all_workspaces=include_all_workspaces,
            max_concurrency=max_concurrency,
            spool=Path(spool.name),
        )
    except BaseException:
        spool.cleanup()
        raise
    return HistoryExport.of_bodies(requests, bodies, tz=tz, spool=spool)


def _fetch_all(
    client: DotClient,
    requests: Sequence[DayRequest],
    *,
    include_all_workspaces: bool,
    max_concurrency: int,
    spool: Path,
) -> list[Path]:
    workers = max(1, min(max_concurrency, len(requests)))
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="dot-history") as pool:
        futures = {
            pool.submit(
                export_day,
                client,
                request,
                include_all_workspaces=include_all_workspaces,
                spool=spool,
            ): request
            for request in requests
        }
        done, pending = wait(futures, return_when=FIRST_EXCEPTION)
        for future in pending:
            future.cancel()
        for future, request in futures.items():  # the earliest failed day, if any
            error = future.exception() if future in done else None
            if isinstance(error, DotError):
                raise DayExportError(request, error, len(requests)) from error
            if error is not None:
                raise error  # a bug, not Dot: keep its traceback
    return [future.result() for future in futures]


def _replace(
    session: PartitionSession,
    schema: str,
    tables: tuple[str, str],
    days: list[date],
    rows: HistoryTables | NormalisedHistory,
) -> dict[str, WriteResult]:
    """One write: Arrow tables to a session taking them, pandas frames to any other."""
    from dot_orchestration.warehouse._arrow import ArrowSession

    where = _Partitions(
        schema=schema, partition_column=PARTITION_COLUMN, partition_values=days, allow_empty=True
    )
    if not isinstance(rows, NormalisedHistory):
        if isinstance(session, ArrowSession) and session.accepts_arrow:
            arrow = {tables[0]: rows.conversations, tables[1]: rows.messages}
            return session.replace_partitions(tables=arrow, **where)
        rows = rows.frames()
    frames = {tables[0]: rows.conversations, tables[1]: rows.messages}
    return session.replace_partitions(tables=frames, **where)


class _Partitions(TypedDict):
    """What a write replaces, whatever the rows come as."""

    schema: str
    partition_column: str
    partition_values: list[date]
    allow_empty: bool


def _spool_batch(
    batch: list[tuple[DayRequest, Path]],
    normalised: Generator[HistoryTables, None, None],
    tz: str,
    path: Path,
    total: int,
) -> tuple[SpooledBatch, list[SpooledDay]]:
    """The batch's days, their tables taken from ``normalised`` and spooled together."""
    days: list[HistoryTables] = []
    for request, _ in batch:
        try:
            days.append(next(normalised))
        except HistoryShapeError as error:
            raise DayExportError(request, error, total) from error
    spooled = SpooledBatch(
        tuple(request.day for request, _ in batch),
        _write([day.conversations for day in days], path.with_suffix(".conversations.arrow")),
        _write([day.messages for day in days], path.with_suffix(".messages.arrow")),
    )
    return spooled, [
        SpooledDay(request, day.conversations.num_rows, day.messages.num_rows, body, tz, spooled)
        for (request, body), day in zip(batch, days, strict=True)
    ]


def _write(tables: list[pa.Table], path: Path) -> Path:
    """The days' tables, one after the other, as one Arrow file."""
    import pyarrow as pa

    with pa.OSFile(str(path), "wb") as sink, pa.ipc.new_file(sink, tables[0].schema) as writer:
        for table in tables:
            writer.write_table(table)
    return path


def _checked_days(
    requests: Sequence[DayRequest], bodies: Sequence[Path], tz: str
) -> list[SpooledDay]:
    """Without pyarrow: each day normalised (Python) to check it, its rows not kept."""
    days = []
    for request, body in zip(requests, bodies, strict=True):
        history = _history_of_day(body, request, tz, total=len(requests))
        days.append(
            SpooledDay(request, len(history.conversations), len(history.messages), body, tz, None)
        )
    return days


def _history_of_day(
    body: Path, request: DayRequest, tz: str, *, total: int = 1
) -> NormalisedHistory:
    """The Python path for one day's answer: its rows of the day."""
    start, end = request.window
    try:
        history = normalise_history(body.read_bytes(), window_start=start, window_end=end, tz=tz)
    except HistoryShapeError as error:
        raise DayExportError(request, error, total) from error
    conversations, messages = history.conversations, history.messages
    if (conversations[PARTITION_COLUMN] == request.day).all():
        return history
    return NormalisedHistory(
        conversations=conversations[conversations[PARTITION_COLUMN] == request.day].reset_index(
            drop=True
        ),
        messages=messages[messages[PARTITION_COLUMN] == request.day].reset_index(drop=True),
    )


def _size(path: Path) -> int:
    return path.stat().st_size


def _body(request: DayRequest, path: Path) -> ExportBody:
    start, end = request.window
    return ExportBody(path, start, end, request.day)


def _utc_midnight(day: date) -> datetime:
    return datetime.combine(day, time(), tzinfo=timezone.utc)


__all__ = [
    "PARTITION_COLUMN",
    "WRITE_BYTES",
    "DayExportError",
    "DayRequest",
    "HistoryExport",
    "SpooledBatch",
    "SpooledDay",
    "export_day",
    "fetch_days",
]
