"""What a pipeline run leaves behind, in a form two runs can be compared by.

Three places hold results: the warehouse (every table and view of the DuckDB file), Dot
(the emulator's state: sync log, external assets, notes, incidents, users, chats) and the
files the pipeline writes beside them (the exposures snapshot). Only what differs between
two correct runs by nature is dropped: wall-clock timestamps.
"""

from __future__ import annotations

import difflib
import hashlib
import json
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb

from dot_demo.definitions import ExampleSettings

#: Keys whose values are the time something happened, not what happened.
VOLATILE_KEYS = frozenset({"timestamp", "created_at", "updated_at", "fetched_at"})
_DIFF_LINES = 80
_LONG_TEXT = 120


@dataclass(frozen=True)
class EndState:
    """The results of a run, timestamps removed."""

    warehouse: Mapping[str, list[list[Any]]]
    dot: Mapping[str, Any]
    files: Mapping[str, Any]

    def without_syncs(self, syncs: Iterable[tuple[str, str]]) -> EndState:
        """This state with one sync-log record removed per `(type, id)` in `syncs`."""
        extra = Counter(syncs)
        kept = []
        for record in self.dot["sync_log"]:
            key = (record["connection_type"], record["connection_id"])
            if extra[key] > 0:
                extra[key] -= 1
            else:
                kept.append(record)
        assert not +extra, f"no sync-log records to remove for {dict(+extra)}"
        return EndState(self.warehouse, {**self.dot, "sync_log": kept}, self.files)

    def differences(self, other: EndState) -> str:
        """A unified diff of every part that differs; empty when the states are equal."""
        parts = []
        for name in ("warehouse", "dot", "files"):
            mine = _pretty(_shortened(getattr(self, name)))
            theirs = _pretty(_shortened(getattr(other, name)))
            if mine != theirs:
                diff = difflib.unified_diff(
                    mine.splitlines(), theirs.splitlines(), name, f"{name} (other)", lineterm=""
                )
                parts.append("\n".join(list(diff)[:_DIFF_LINES]))
        return "\n".join(parts)

    def summary(self) -> dict[str, Any]:
        """Sizes worth quoting: rows per table, syncs, Dot objects."""
        environments = self.dot["environments"]
        return {
            "warehouse_rows": {name: len(rows) for name, rows in self.warehouse.items()},
            "syncs": len(self.dot["sync_log"]),
            "external_assets": sum(len(e["external_assets"]) for e in environments.values()),
            "org_notes": sum(len(e["org_notes"]) for e in environments.values()),
            "incidents": sum(len(e["incidents"]) for e in environments.values()),
        }


def capture_end_state(settings: ExampleSettings, dot_state: Mapping[str, Any]) -> EndState:
    """The end state of a deployment whose Dot is described by `dot_state`
    (`GET /_emulator/state`)."""
    return EndState(
        warehouse=warehouse_rows(settings.duckdb_path),
        dot=normalised_dot_state(dot_state),
        files=written_files(settings),
    )


def warehouse_rows(path: Path) -> dict[str, list[list[Any]]]:
    """Every table and view of the DuckDB file, rows sorted, as JSON-able lists."""
    if not path.exists():
        return {}
    with duckdb.connect(str(path), read_only=True) as conn:
        names = conn.execute(
            "SELECT table_schema, table_name FROM information_schema.tables "
            "WHERE table_catalog = current_database() ORDER BY 1, 2"
        ).fetchall()
        return {
            f"{schema}.{table}": sorted(
                (
                    [_plain(value) for value in row]
                    for row in conn.execute(f'SELECT * FROM "{schema}"."{table}"').fetchall()
                ),
                key=repr,
            )
            for schema, table in names
        }


def normalised_dot_state(state: Mapping[str, Any]) -> dict[str, Any]:
    """Dot's state without timestamps, every list in a stable order.

    Syncs and asset imports run concurrently, so the order Dot received them in is not
    part of the result. Note ids are Dot's handles, drawn in creation order: a note
    created by a retry gets another id than in a calm run, with the same content.
    """
    plain = _without_volatile(state)
    plain["sync_log"] = _sorted(plain["sync_log"])
    for space in plain["environments"].values():
        space["external_assets"] = sorted(space["external_assets"], key=lambda a: a["id"])
        space["org_notes"] = _sorted(
            {key: value for key, value in note.items() if key != "id"}
            for note in space["org_notes"]
        )
        space["incidents"] = _sorted(space["incidents"])
    return plain


def _sorted(items: Iterable[Any]) -> list[Any]:
    return sorted(items, key=lambda item: json.dumps(item, sort_keys=True))


def written_files(settings: ExampleSettings) -> dict[str, Any]:
    """Files the pipeline writes for later loads of the definitions."""
    path = settings.exposures_state
    if not path.exists():
        return {}
    return {path.name: _without_volatile(json.loads(path.read_text(encoding="utf-8")))}


def _without_volatile(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _without_volatile(v) for k, v in value.items() if k not in VOLATILE_KEYS}
    if isinstance(value, list):
        return [_without_volatile(item) for item in value]
    return value


def _plain(value: Any) -> Any:
    """A database value as JSON would hold it, so states print and diff as text."""
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    return str(value)


def _shortened(value: Any) -> Any:
    """Long strings (a note's text) shortened to a prefix and a digest, so a diff stays
    readable and still tells two texts apart."""
    if isinstance(value, dict):
        return {k: _shortened(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_shortened(item) for item in value]
    if isinstance(value, str) and len(value) > _LONG_TEXT:
        digest = hashlib.sha256(value.encode()).hexdigest()[:12]
        return f"{value[:60]}... ({len(value)} chars, sha256 {digest})"
    return value


def _pretty(value: Any) -> str:
    return json.dumps(value, indent=1, sort_keys=True, default=str)
