"""The emulator's control plane, a hostile fault plan, and what the journal says happened.

Everything goes through the documented control plane (`/_emulator/...`, see
docs/ARCHITECTURE.md), so the numbers quoted from a run are the ones anyone can read back
from an emulator.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import httpx

#: Longer than the read timeout the fault-injection runs configure (`read_timeout_s`), so a
#: `timeout` fault is a real client-side read timeout, not merely a slow answer.
FAULT_READ_TIMEOUT_S = 2.0
TIMEOUT_LATENCY_MS = 2_600
_CONTROL_TIMEOUT_S = 30.0
#: Longer than any injected latency.
_SETTLE_TIMEOUT_S = 30.0


@dataclass(frozen=True)
class FaultShare:
    """A kind of failure and the share of all API calls it should hit."""

    share: float
    rule: dict[str, Any]


#: A hostile Dot: 20% of all API calls fail, mixed like a bad day behind a load balancer.
HOSTILE_DOT: tuple[FaultShare, ...] = (
    FaultShare(0.05, {"kind": "status", "status": 429, "retry_after": 0.2}),
    FaultShare(0.025, {"kind": "malformed", "malformed": "html", "status": 502}),
    FaultShare(0.025, {"kind": "status", "status": 503}),
    FaultShare(0.05, {"kind": "timeout", "latency_ms": TIMEOUT_LATENCY_MS}),
    FaultShare(0.05, {"kind": "drop"}),
)


def fault_rules(shares: Sequence[FaultShare], *, path: str = "/api/*") -> list[dict[str, Any]]:
    """Rules whose rates make each kind hit its share of all calls.

    The emulator tries rules in order and the first that fires wins, so rule i fires with
    probability rate_i times "no earlier rule fired"; rate_i = share_i / (1 - earlier
    shares) makes that exactly share_i, and the total exactly the sum of the shares.
    """
    rules, earlier = [], 0.0
    for entry in shares:
        rules.append(
            {"method": "*", "path": path, **entry.rule, "rate": entry.share / (1 - earlier)}
        )
        earlier += entry.share
    return rules


def describe_rule(rule: dict[str, Any]) -> str:
    """`429`, `502 html`, `timeout`, `drop`: how a report names a kind of fault."""
    if rule["kind"] == "status":
        return str(rule.get("status") or 503)
    if rule["kind"] == "malformed":
        return f"{rule.get('status') or ''} {rule.get('malformed', 'truncated_json')}".strip()
    return str(rule["kind"])


class Control:
    """`/_emulator/...` of one emulator."""

    def __init__(self, base_url: str) -> None:
        self._http = httpx.Client(base_url=base_url, timeout=_CONTROL_TIMEOUT_S)

    def close(self) -> None:
        self._http.close()

    def reset(self) -> None:
        """Seeded state, empty journal, no fault rules."""
        self._http.post("/_emulator/reset").raise_for_status()

    def settle(self, timeout_s: float = _SETTLE_TIMEOUT_S) -> None:
        """Wait until every journaled request has been answered (or dropped), so a handler
        still running behind a `timeout` fault has had its effect before state is read."""
        deadline = time.monotonic() + timeout_s
        while any(entry["duration_ms"] is None for entry in self.journal()):
            if time.monotonic() > deadline:
                raise TimeoutError(f"requests still open after {timeout_s:g} s")
            time.sleep(0.1)

    def set_faults(self, rules: Sequence[dict[str, Any]], *, seed: int) -> None:
        self._http.put(
            "/_emulator/faults", json={"seed": seed, "rules": list(rules)}
        ).raise_for_status()

    def faults(self) -> dict[str, Any]:
        return self._get("/_emulator/faults")

    def journal(self) -> list[dict[str, Any]]:
        return list(self._get("/_emulator/journal")["entries"])

    def state(self) -> dict[str, Any]:
        return self._get("/_emulator/state")

    def traffic(self) -> Traffic:
        """What the API saw since the last reset, with the rules that shaped it."""
        return Traffic(self.journal(), self.faults()["rules"])

    def _get(self, path: str) -> dict[str, Any]:
        response = self._http.get(path)
        response.raise_for_status()
        return dict(response.json())


def is_success(entry: dict[str, Any]) -> bool:
    """Answered 2xx by Dot itself (not by an injected fault)."""
    return entry["fault"] is None and entry["status"] is not None and 200 <= entry["status"] < 300


def is_write(entry: dict[str, Any]) -> bool:
    return entry["method"] not in ("GET", "HEAD", "OPTIONS")


@dataclass(frozen=True)
class Traffic:
    """The journal of one run (or one series of runs) and the fault rules in force."""

    entries: list[dict[str, Any]]
    rules: list[dict[str, Any]]

    @property
    def requests(self) -> int:
        return len(self.entries)

    @property
    def injected(self) -> int:
        """Faults the emulator counted (`GET /_emulator/faults`)."""
        return sum(rule["injected"] for rule in self.rules)

    def faulted(self) -> Iterator[dict[str, Any]]:
        return (entry for entry in self.entries if entry["fault"] is not None)

    def faults_by_kind(self) -> Counter[str]:
        """Journal entries per kind of fault, e.g. `{"429": 2, "drop": 1}`."""
        return Counter(describe_rule(self.rules[e["fault"]["rule"]]) for e in self.faulted())

    def faults_by_route(self) -> Counter[str]:
        return Counter(f"{e['method']} {e['route']}" for e in self.faulted())

    def successful_calls(self) -> Counter[tuple[str, str]]:
        """(method, path) of every call Dot answered 2xx itself."""
        return Counter((e["method"], e["path"]) for e in self.entries if is_success(e))

    def successful_writes(self) -> list[dict[str, Any]]:
        return [e for e in self.entries if is_write(e) and is_success(e)]

    def done_despite_fault(self) -> list[dict[str, Any]]:
        """Writes Dot carried out although the client saw them fail.

        A `timeout` fault delays the real answer (the handler runs after the client left;
        its late 2xx is journaled), and a fault in `phase: after` replaces the answer of a
        handler that already ran. Dot would do the same. For an idempotent call a retry on
        top is harmless; a sync is never re-sent by the client, so each of these syncs is
        one Dot carried out before a person chose to send it again.
        """
        return [
            e
            for e in self.faulted()
            if is_write(e)
            and (
                e["fault"]["phase"] == "after"
                or (
                    self.rules[e["fault"]["rule"]]["kind"] == "timeout"
                    and e["status"] is not None
                    and 200 <= e["status"] < 300
                )
            )
        ]

    def retries_beyond(self, baseline: Traffic) -> int:
        """Attempts this run needed beyond those of a fault-free run of the same work."""
        return self.requests - baseline.requests

    def summary(self) -> dict[str, Any]:
        """The numbers a report quotes."""
        return {
            "requests": self.requests,
            "faults_injected": self.injected,
            "faults_by_kind": dict(sorted(self.faults_by_kind().items())),
            "faults_by_route": dict(sorted(self.faults_by_route().items())),
            "writes_done_despite_fault": len(self.done_despite_fault()),
        }
