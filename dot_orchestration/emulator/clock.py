"""One place that reads the clock and formats instants.

Dot's payloads carry UTC instants as ISO-8601 strings ending in `Z`. Formatting them in one
place keeps chats, history exports and journal entries comparable as plain strings.
"""

from datetime import date, datetime, timezone


def utcnow() -> datetime:
    """The current instant, timezone-aware in UTC (naive datetimes invite off-by-hours bugs)."""
    return datetime.now(timezone.utc)


def utc_today() -> date:
    """Today's date in UTC: the emulator's day boundaries are UTC days, like Dot's exports."""
    return utcnow().date()


def isoformat_z(moment: datetime, timespec: str = "seconds") -> str:
    """`2025-03-01T09:14:22Z`: the instant in UTC with a `Z` suffix instead of `+00:00`."""
    naive_utc = moment.astimezone(timezone.utc).replace(tzinfo=None)
    return naive_utc.isoformat(timespec=timespec) + "Z"
