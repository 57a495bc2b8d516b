"""Tokens, retry settings and the emulator's control plane, shared by the client tests.

The emulator (fixtures `dot_emulator_server` / `dot_emulator` in tests/conftest.py) is a
real uvicorn server; its `/_emulator` control plane injects faults and journals every call,
so the tests observe retries the way an operator would: by what reached the server.
"""

from __future__ import annotations

import fnmatch
from typing import Any

import httpx

from dot_orchestration.client import HttpRetries

ADMIN_TOKEN = "dot-emulator-admin"
ADMIN_EMAIL = "admin@example.com"
MODELER_TOKEN = "dot-emulator-modeler"
USER_TOKEN = "dot-emulator-user"
EXPIRED_TOKEN = "dot-emulator-expired"

#: Retries as in production, only fast: the suite must stay well under a minute.
FAST_RETRY = HttpRetries(max_attempts=4, initial_backoff=0.01, max_backoff=0.05, max_wait=2.0)

FAULT_DEFAULTS: dict[str, Any] = {
    "method": "*",
    "rate": 1.0,
    "times": None,
    "kind": "status",
    "status": None,
    "retry_after": None,
    "latency_ms": 0,
    "phase": "before",
}


class Control:
    """The emulator's control plane, spoken over HTTP like any operator would."""

    def __init__(self, url: str) -> None:
        self._http = httpx.Client(base_url=url, timeout=10)

    def close(self) -> None:
        self._http.close()

    def inject(self, *rules: dict[str, Any]) -> None:
        """Replace the fault rules; each rule overrides `FAULT_DEFAULTS`."""
        body = {"seed": 0, "rules": [FAULT_DEFAULTS | rule for rule in rules]}
        self._http.put("/_emulator/faults", json=body).raise_for_status()

    def calls(self, path: str = "/api/*", method: str = "*") -> list[dict[str, Any]]:
        """Journal entries whose path matches the glob (and method, unless `*`)."""
        response = self._http.get("/_emulator/journal")
        response.raise_for_status()
        return [
            entry
            for entry in response.json()["entries"]
            if fnmatch.fnmatchcase(entry["path"], path) and method in ("*", entry["method"])
        ]
