"""Data-quality incidents: reported by any tool, or derived from dbt's run artifacts.

An incident is keyed by `(source, table, check)`. Reporting `open` opens it (or updates it
while it stays open); reporting `resolved` closes it. dbt results become findings with
source `dbt`: a failing or erroring model, seed, snapshot or test opens an incident on its
table, a warning opens one with severity `warning`, a pass resolves it; skipped nodes say
nothing. Source freshness results (`source.*`) work the same way, so stale sources show up.
"""

from collections.abc import Iterable
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from dot_orchestration.emulator.clock import isoformat_z, utcnow

IncidentStatus = Literal["open", "resolved"]
_FAILING = {"error": "error", "fail": "error", "runtime error": "error", "warn": "warning"}
_PASSING = {"success", "pass"}


class IncidentItem(BaseModel):
    """One finding in `POST /api/quality/incidents`."""

    table: str
    check: str
    status: IncidentStatus
    severity: str = "error"
    message: str | None = None
    url: str | None = None


class DbtResult(BaseModel):
    """The part of one `run_results.json` result Dot reads."""

    model_config = ConfigDict(extra="allow")

    unique_id: str
    status: str
    message: str | None = None


class DbtRunResults(BaseModel):
    """dbt's `run_results.json` (or `sources.json` of `dbt source freshness`)."""

    model_config = ConfigDict(extra="allow")

    results: list[DbtResult]


class DbtManifest(BaseModel):
    """The part of dbt's `manifest.json` Dot reads: nodes and sources by unique id."""

    model_config = ConfigDict(extra="allow")

    nodes: dict[str, dict[str, Any]] = Field(default_factory=dict)
    sources: dict[str, dict[str, Any]] = Field(default_factory=dict)


@dataclass
class Incident:
    """An open or resolved data-quality problem on one table."""

    source: str
    table: str
    check: str
    status: IncidentStatus
    severity: str
    message: str | None
    url: str | None
    opened_at: datetime
    updated_at: datetime
    resolved_at: datetime | None = None

    def public(self) -> dict[str, Any]:
        """The incident as JSON."""
        record = asdict(self)
        for key in ("opened_at", "updated_at", "resolved_at"):
            record[key] = isoformat_z(record[key]) if record[key] else None
        return record


@dataclass
class IncidentSummary:
    """What one report changed: the API's answer to a report."""

    opened: int = 0
    updated: int = 0
    resolved: int = 0
    open: int = 0


class IncidentBook:
    """The incidents of one environment."""

    def __init__(self) -> None:
        self._incidents: dict[tuple[str, str, str], Incident] = {}

    def incidents(self) -> list[Incident]:
        """All incidents, open and resolved, in the order they were first reported."""
        return list(self._incidents.values())

    def report(
        self, source: str, items: Iterable[IncidentItem], *, record_unknown_resolved: bool
    ) -> IncidentSummary:
        """Upsert findings of one source.

        `record_unknown_resolved` keeps `resolved` findings about tables that never had an
        incident (a tool said so explicitly); dbt passes are dropped instead, or every
        passing test would become a record.
        """
        summary = IncidentSummary()
        now = utcnow()
        for item in items:
            key = (source, item.table, item.check)
            existing = self._incidents.get(key)
            if existing is None and item.status == "resolved" and not record_unknown_resolved:
                continue
            self._apply(key, existing, item, now, summary)
        summary.open = sum(
            1 for i in self._incidents.values() if i.source == source and i.status == "open"
        )
        return summary

    def _apply(
        self,
        key: tuple[str, str, str],
        existing: Incident | None,
        item: IncidentItem,
        now: datetime,
        summary: IncidentSummary,
    ) -> None:
        """Create or update one incident and count the transition."""
        was_open = existing is not None and existing.status == "open"
        if item.status == "open":
            summary.opened += not was_open
            summary.updated += was_open
        else:
            summary.resolved += was_open
        opened_at = existing.opened_at if existing is not None and was_open else now
        resolved_at = None
        if item.status == "resolved":
            resolved_at = now if existing is None or was_open else existing.resolved_at
        self._incidents[key] = Incident(
            source=key[0],
            table=item.table,
            check=item.check,
            status=item.status,
            severity=item.severity,
            message=item.message,
            url=item.url,
            opened_at=opened_at,
            updated_at=now,
            resolved_at=resolved_at,
        )


def dbt_findings(run_results: DbtRunResults, manifest: DbtManifest) -> list[IncidentItem]:
    """Turn dbt results into findings: one per model, seed, snapshot, test or source."""
    findings = []
    for result in run_results.results:
        status = result.status.lower()
        if status not in _FAILING and status not in _PASSING:
            continue  # skipped, or a status that says nothing about data quality
        table, check = _table_and_check(result.unique_id, manifest)
        findings.append(
            IncidentItem(
                table=table,
                check=check,
                status="resolved" if status in _PASSING else "open",
                severity=_FAILING.get(status, "error"),
                message=result.message,
            )
        )
    return findings


def _table_and_check(unique_id: str, manifest: DbtManifest) -> tuple[str, str]:
    """Which table a result is about, and what was checked.

    Tests are about the node they are attached to; models, seeds and snapshots about
    themselves (the check is the resource type: `model`, `seed`, `snapshot`); sources are
    checked for freshness.
    """
    resource_type = unique_id.split(".", 1)[0]
    fallback_name = unique_id.rsplit(".", 1)[-1]
    if resource_type == "source":
        source = manifest.sources.get(unique_id, {})
        return source.get("name", fallback_name), "freshness"
    node = manifest.nodes.get(unique_id, {})
    name = node.get("name", fallback_name)
    if resource_type != "test":
        return name, resource_type
    return _tested_table(node, manifest) or "unknown", name


def _tested_table(test: dict[str, Any], manifest: DbtManifest) -> str | None:
    """The name of the model (or source) a test checks."""
    parent = test.get("attached_node") or next(
        iter(test.get("depends_on", {}).get("nodes", [])), None
    )
    if parent is None:
        return None
    owner = manifest.nodes.get(parent) or manifest.sources.get(parent) or {}
    name: str = owner.get("name", parent.rsplit(".", 1)[-1])
    return name
