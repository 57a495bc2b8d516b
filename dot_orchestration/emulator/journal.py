"""The request journal: every API request the emulator received, including faulted ones.

Tests read it to prove what a client actually sent: how often it retried, which credential
it used, that it never put the token in a URL where headers work, that a create was not
re-sent after an ambiguous failure. A request is journaled when it arrives (so a request
the server is still working on, e.g. behind a `timeout` fault, is already visible with
`status: null`) and completed when its response has been sent; a dropped connection
keeps `status: null`. The `api_token` query parameter is redacted. Requests to the
`/_emulator` control plane are not journaled (tests would otherwise see their own
bookkeeping).
"""

import threading
from collections import deque
from typing import Any, TypedDict, cast


class JournalEntry(TypedDict):
    """One request, as `GET /_emulator/journal` returns it."""

    seq: int
    ts: str
    method: str
    path: str
    route: str | None
    query: dict[str, str]
    status: int | None
    auth: str | None
    user: str | None
    environment: str | None
    body: Any
    fault: dict[str, Any] | None
    duration_ms: float | None


class Journal:
    """A bounded, thread-safe list of `JournalEntry`; `seq` restarts at 1 after `clear`.

    Bounded so that a long-running emulator (the CLI) does not grow without limit; the
    oldest entries fall off first.
    """

    def __init__(self, limit: int) -> None:
        self._lock = threading.Lock()
        self._entries: deque[JournalEntry] = deque(maxlen=limit)
        self._seq = 0

    def open(self, arrival: dict[str, Any]) -> JournalEntry:
        """Journal an arriving request (every field but `seq`, `status`, `duration_ms`)."""
        with self._lock:
            self._seq += 1
            fields = {"seq": self._seq, **arrival, "status": None, "duration_ms": None}
            entry = cast(JournalEntry, fields)  # `arrival` holds the other fields
            self._entries.append(entry)
            return entry

    def close(self, entry: JournalEntry, status: int | None, duration_ms: float) -> None:
        """Complete an entry once the response was sent (or the connection dropped)."""
        with self._lock:
            entry["status"] = status
            entry["duration_ms"] = duration_ms

    def entries(self) -> list[JournalEntry]:
        """Copies of the entries, oldest first."""
        with self._lock:
            return [entry.copy() for entry in self._entries]

    def clear(self) -> int:
        """Forget every entry; returns how many there were."""
        with self._lock:
            count = len(self._entries)
            self._entries.clear()
            self._seq = 0
            return count
