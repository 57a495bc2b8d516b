"""Fetch and spool days of Dot's conversation history: the export's core, without Dagster.

A day of history is one `GET /api/export_history` call (`DayRequest`), normalised by
`normalise_history` and spooled to local disk (`SpooledDay`), so memory holds the days in
flight, never a backfill's range. `fetch_days` runs the calls on a bounded thread pool and
gives all of them (`HistoryExport`) or raises for the earliest day that failed: nothing is
ever half-fetched, so a caller that writes only a whole `HistoryExport` leaves the warehouse
as it was when Dot fails.

Why the request is the day: Dot's `start_date`/`end_date` are UTC days, end exclusive (the
emulator behaves so; Dot's default end "tomorrow" implies it). A UTC day asks for exactly
itself. A day in another time zone asks for the two UTC days its window overlaps and keeps
the conversations created inside the window; the others belong to the neighbouring day,
which fetches them itself. `normalise_history` refuses a conversation created outside the
requested UTC days, so a Dot that filtered differently fails loudly instead of doubling rows.

It lives beside `normalise_history` (not in `warehouse/`, which knows nothing of Dot) so
that any orchestrator can drive it: the Dagster asset is one caller; an Airflow task can be
another.
"""

from __future__ import annotations

import pickle
import tempfile
from collections.abc import Iterator, Sequence
from concurrent.futures import FIRST_EXCEPTION, ThreadPoolExecutor, wait
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from pathlib import Path

from dot_orchestration.client import DotClient, DotError
from dot_orchestration.transforms.history import (
    HistoryShapeError,
    NormalisedHistory,
    normalise_history,
)

#: The column both tables are partitioned by: a conversation's creation day in the export's
#: time zone (`normalise_history` fills it).
PARTITION_COLUMN = "partition_date"


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
class SpooledDay:
    """One day's normalised rows, on local disk until a writer lands them."""

    request: DayRequest
    conversations: int
    messages: int
    path: Path

    def load(self) -> NormalisedHistory:
        with self.path.open("rb") as spooled:
            history: NormalisedHistory = pickle.load(spooled)
        return history


class HistoryExport:
    """What one fetch gave: one spooled day per request, in request order.

    The spool is a temporary directory removed by `close` (the writer calls it once the days
    are landed) or, failing that, when the object is garbage collected.
    """

    def __init__(self, days: Sequence[SpooledDay], spool: tempfile.TemporaryDirectory[str]):
        self.days = list(days)
        self._spool = spool

    def __iter__(self) -> Iterator[tuple[SpooledDay, NormalisedHistory]]:
        """Each day with its rows, loaded one at a time."""
        for day in self.days:
            yield day, day.load()

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
    client: DotClient,
    request: DayRequest,
    *,
    tz: str,
    include_all_workspaces: bool,
    spool: Path,
) -> SpooledDay:
    """Fetch, normalise and spool one day (runs on the pool's threads).

    Dot's raw answer, several times the size of its rows, is dropped before they are
    spooled.
    """
    payload = client.export_history(
        request.start_date, request.end_date, include_all_workspaces=include_all_workspaces
    )
    start, end = request.window
    history = _rows_of_day(
        normalise_history(payload, window_start=start, window_end=end, tz=tz), request.day
    )
    path = spool / f"{request.partition_key}.pickle"
    with path.open("wb") as out:
        pickle.dump(history, out, protocol=pickle.HIGHEST_PROTOCOL)
    return SpooledDay(
        request=request,
        conversations=len(history.conversations),
        messages=len(history.messages),
        path=path,
    )


def fetch_days(
    client: DotClient,
    requests: Sequence[DayRequest],
    *,
    tz: str,
    include_all_workspaces: bool,
    max_concurrency: int,
) -> HistoryExport:
    """Every requested day, `max_concurrency` at a time: all of them, or an error.

    The first day that fails stops the fetch (queued days are cancelled) and the earliest
    failed day is raised: a `DayExportError` for Dot's errors and unusable answers, any other
    exception as it is (a bug, with its traceback). The spool is removed on failure.
    """
    spool = tempfile.TemporaryDirectory(prefix="dot-history-")
    try:
        days = _fetch_all(
            client,
            requests,
            tz=tz,
            include_all_workspaces=include_all_workspaces,
            max_concurrency=max_concurrency,
            spool=Path(spool.name),
        )
    except BaseException:
        spool.cleanup()
        raise
    return HistoryExport(days, spool)


def _fetch_all(
    client: DotClient,
    requests: Sequence[DayRequest],
    *,
    tz: str,
    include_all_workspaces: bool,
    max_concurrency: int,
    spool: Path,
) -> list[SpooledDay]:
    workers = max(1, min(max_concurrency, len(requests)))
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="dot-history") as pool:
        futures = {
            pool.submit(
                export_day,
                client,
                request,
                tz=tz,
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
            if isinstance(error, DotError | HistoryShapeError):
                raise DayExportError(request, error, len(requests)) from error
            if error is not None:
                raise error  # a bug, not Dot: keep its traceback
    return [future.result() for future in futures]


def _rows_of_day(history: NormalisedHistory, day: date) -> NormalisedHistory:
    """The day's rows; a two-day request also returned the neighbour's."""
    conversations, messages = history.conversations, history.messages
    if (conversations[PARTITION_COLUMN] == day).all():
        return history
    return NormalisedHistory(
        conversations=conversations[conversations[PARTITION_COLUMN] == day].reset_index(drop=True),
        messages=messages[messages[PARTITION_COLUMN] == day].reset_index(drop=True),
    )


def _utc_midnight(day: date) -> datetime:
    return datetime.combine(day, time(), tzinfo=timezone.utc)


__all__ = [
    "PARTITION_COLUMN",
    "DayExportError",
    "DayRequest",
    "HistoryExport",
    "SpooledDay",
    "export_day",
    "fetch_days",
]
