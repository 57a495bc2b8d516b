"""Fault injection: which requests fail, and the exact bytes a failure puts on the wire.

A `FaultRule` matches requests by method and path (fnmatch) and fires with probability
`rate`, drawn from one seeded RNG per fault plan, so a test replays the same failure pattern
for the same request sequence. `times` caps how often a rule fires. Kinds:

- `status`: an error status (default 503) with `{"detail": ...}` and, when `retry_after` is
  set, a `Retry-After` header (decimal seconds, so tests can back off in milliseconds).
- `drop`: the socket is closed without a response (see `middleware.py` for how).
- `malformed`: a complete HTTP response whose body cannot be used: `truncated_json`
  (default status 200; with `phase="after"` the first half of the real body) or an `html`
  proxy error page (default status 502).
- `timeout`: no error at all, only `latency_ms` of silence before the normal answer.

`latency_ms` delays every kind. `phase="before"` answers instead of the handler;
`phase="after"` runs the handler first (the request had its effect) and then replaces or
delays its response: that is how a test proves that a client did not re-send a create.
"""

import json
import random
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from fnmatch import fnmatchcase
from http import HTTPStatus
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

FaultKind = Literal["status", "drop", "malformed", "timeout"]

_DEFAULT_STATUS: dict[str, int] = {"status": 503, "truncated_json": 200, "html": 502}
_TRUNCATED_FALLBACK = b'{"messages": [{"role": "assistant", "content": "The answer is'
_PROXY_PAGE = (
    "<html>\r\n<head><title>{code} {phrase}</title></head>\r\n<body>\r\n"
    "<center><h1>{code} {phrase}</h1></center>\r\n<hr><center>nginx</center>\r\n"
    "</body>\r\n</html>\r\n"
)


class FaultRule(BaseModel):
    """One way for matching requests to fail (the `FaultRule` of docs/ARCHITECTURE.md).

    `malformed` is an extension of the contract: it picks the broken body of a `malformed`
    fault.
    """

    model_config = ConfigDict(extra="forbid")

    method: str = "*"
    path: str = "*"
    rate: float = Field(1.0, ge=0.0, le=1.0)
    times: int | None = Field(None, ge=0)
    kind: FaultKind
    status: int | None = Field(None, ge=100, le=599)
    retry_after: float | None = Field(None, ge=0.0)
    latency_ms: int = Field(0, ge=0)
    phase: Literal["before", "after"] = "before"
    malformed: Literal["truncated_json", "html"] = "truncated_json"

    @field_validator("method")
    @classmethod
    def _upper_method(cls, method: str) -> str:
        """HTTP methods compare case-sensitively on the wire; rules are written either way."""
        return method.upper()

    def matches(self, method: str, path: str) -> bool:
        """Whether this rule applies to a request (before its rate and times are considered)."""
        return self.method in ("*", method.upper()) and fnmatchcase(path, self.path)

    def response_status(self) -> int:
        """The status a `status` or `malformed` fault answers with."""
        key = self.kind if self.kind == "status" else self.malformed
        return self.status or _DEFAULT_STATUS[key]


class FaultPlan(BaseModel):
    """Body of `PUT /_emulator/faults`: the rules, and the seed of the RNG that applies `rate`.

    Without a seed the emulator's own seed is used.
    """

    model_config = ConfigDict(extra="forbid")

    seed: int | None = None
    rules: list[FaultRule] = Field(default_factory=list)


@dataclass(frozen=True)
class InjectedFault:
    """A rule that fired for one request (recorded in the journal)."""

    index: int
    rule: FaultRule

    def describe(self) -> dict[str, Any]:
        """The journal's `fault` field."""
        return {"rule": self.index, "kind": self.rule.kind, "phase": self.rule.phase}


@dataclass
class RawResponse:
    """An HTTP response as bytes: what a handler produced, or what a fault sends instead."""

    status: int
    headers: list[tuple[bytes, bytes]] = field(default_factory=list)
    body: bytes = b""

    def header(self, name: bytes) -> bytes | None:
        """The first value of a header (names are compared lower-case, as ASGI sends them)."""
        return next((value for key, value in self.headers if key.lower() == name), None)


class FaultInjector:
    """The live fault rules, their injection counts and the seeded RNG.

    Locked because tests change the rules from their own thread while the server's event
    loop draws from them.
    """

    def __init__(self, rules: Sequence[FaultRule], seed: int) -> None:
        self._lock = threading.Lock()
        self._default_seed = seed
        self.set(rules)

    def set(self, rules: Sequence[FaultRule | Mapping[str, Any]], seed: int | None = None) -> None:
        """Replace the rules (models or their JSON form), reset their counts, reseed the RNG."""
        with self._lock:
            self._seed = self._default_seed if seed is None else seed
            self._rules = [FaultRule.model_validate(rule) for rule in rules]
            self._injected = [0] * len(self._rules)
            self._rng = random.Random(self._seed)

    def clear(self) -> None:
        """Remove every rule."""
        self.set([])

    @property
    def injected(self) -> list[int]:
        """How often each rule has fired."""
        with self._lock:
            return list(self._injected)

    def draw(self, method: str, path: str) -> InjectedFault | None:
        """The fault for this request, if any: the first matching rule that fires.

        The RNG is drawn only for matching rules that still have `times` left, so other
        traffic does not shift a test's failure pattern.
        """
        with self._lock:
            for index, rule in enumerate(self._rules):
                exhausted = rule.times is not None and self._injected[index] >= rule.times
                if exhausted or not rule.matches(method, path):
                    continue
                if self._rng.random() < rule.rate:
                    self._injected[index] += 1
                    return InjectedFault(index, rule)
            return None

    def snapshot(self) -> dict[str, Any]:
        """`GET /_emulator/faults`: the seed and the rules with their `injected` counts."""
        with self._lock:
            rules = [
                {**rule.model_dump(), "injected": count}
                for rule, count in zip(self._rules, self._injected, strict=True)
            ]
            return {"seed": self._seed, "rules": rules}


def fault_response(rule: FaultRule, original: RawResponse | None) -> RawResponse | None:
    """What a fired rule sends instead of the handler's response; None means drop the socket.

    `original` is the handler's response when the rule runs `after` it. `timeout` never
    gets here: it only delays the real response.
    """
    if rule.kind == "drop":
        return None
    if rule.kind == "status":
        return _status_response(rule)
    if rule.malformed == "html":
        return _proxy_page(rule.response_status())
    return _truncated_json(rule.response_status(), original)


def _status_response(rule: FaultRule) -> RawResponse:
    """A FastAPI-style error body, plus `Retry-After` when the rule sets one."""
    status = rule.response_status()
    detail = f"{HTTPStatus(status).phrase} (fault injected by the Dot emulator)"
    headers = [(b"content-type", b"application/json")]
    if rule.retry_after is not None:
        headers.append((b"retry-after", f"{rule.retry_after:g}".encode()))
    return RawResponse(status, headers, json.dumps({"detail": detail}).encode())


def _proxy_page(status: int) -> RawResponse:
    """The HTML error page a reverse proxy serves when the app behind it is gone."""
    page = _PROXY_PAGE.format(code=status, phrase=HTTPStatus(status).phrase)
    return RawResponse(status, [(b"content-type", b"text/html")], page.encode())


def _truncated_json(status: int, original: RawResponse | None) -> RawResponse:
    """A JSON body cut in half: a complete HTTP message whose payload cannot be parsed."""
    body = original.body if original is not None else b""
    truncated = body[: len(body) // 2] or _TRUNCATED_FALLBACK
    return RawResponse(status, [(b"content-type", b"application/json")], truncated)
