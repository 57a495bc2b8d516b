"""A column of timestamps, however each was sent, into UTC.

ISO strings, the common case, are parsed in one vectorised pass; epoch numbers (in seconds
to nanoseconds), digit strings and datetimes one by one. A value that is no point in time
is refused, naming the record it came from.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING

from dot_orchestration._lazy import LazyModule
from dot_orchestration.transforms.history._errors import render, shape_error
from dot_orchestration.transforms.history._records import Conversation, Message

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd
else:  # imported on first use, not when definitions load (`_lazy`)
    np = LazyModule("numpy", globals(), "np")
    pd = LazyModule("pandas", globals(), "pd")

_EPOCH_TEXT = re.compile(r"[+-]?\d+(\.\d*)?")
_ZONED = re.compile(r"(?:[zZ]|[+-]\d{2}(?::?\d{2})?)\s*$")


def utc_column(
    values: list[object],
    field: str,
    source: Callable[[int], Conversation | Message],
) -> pd.DatetimeIndex:
    """ISO strings in one vectorised pass; epochs, digit strings and datetimes one by one."""
    text = [value if isinstance(value, str) else None for value in values]
    parsed = pd.to_datetime(text, format="ISO8601", utc=True, errors="coerce")
    nanos = _naive_in_utc(text, parsed.asi8.copy())
    missed = np.flatnonzero(parsed.isna())
    for pos in map(int, missed):
        value = values[pos]
        if value is None:
            continue
        instant = _instant(value)
        if instant is None:
            origin = source(pos)
            raise shape_error(
                f"unparseable {field} {value!r}", where=render(origin.where), item=origin.item
            )
        nanos[pos] = instant
    return pd.DatetimeIndex(nanos.view("M8[ns]")).tz_localize("UTC")


def _naive_in_utc(text: list[str | None], nanos: np.ndarray) -> np.ndarray:
    """Naive strings are UTC, also beside strings with an offset.

    pandas (2.x) reads a naive string that follows one with an offset in that offset, not
    in UTC: in a column mixing both, the naive ones are parsed again on their own.
    """
    naive = [
        pos for pos, value in enumerate(text) if value is not None and not _ZONED.search(value)
    ]
    if naive and len(naive) < sum(value is not None for value in text):
        again = pd.to_datetime(
            [text[pos] for pos in naive], format="ISO8601", utc=True, errors="coerce"
        )
        nanos[naive] = again.asi8
    return nanos


def _instant(value: object) -> int | None:
    """Nanoseconds since the epoch, or None when the value is no point in time.

    Epoch numbers are read as seconds below 1e11 (year 5138), milliseconds below 1e14,
    microseconds below 1e17, nanoseconds above. Naive datetimes are UTC.
    """
    if isinstance(value, str) and _EPOCH_TEXT.fullmatch(value.strip()):
        value = float(value)
    try:
        if isinstance(value, datetime):
            stamp = pd.Timestamp(value)
            return int((stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp).value)
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            if not math.isfinite(value):
                return None
            magnitude = abs(value)
            unit = "s" if magnitude < 1e11 else "ms" if magnitude < 1e14 else "us"
            unit = unit if magnitude < 1e17 else "ns"
            return int(pd.Timestamp(value, unit=unit).value)
    except (OverflowError, ValueError, pd.errors.OutOfBoundsDatetime):
        return None
    return None
