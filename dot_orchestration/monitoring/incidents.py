"""The Dot quality incident sensor: failed checks on the tables Dot reads become Dot
quality incidents, resolved when the checks pass again. What is sent, and how a refusal is
handled, is Dagster-free (`dot_orchestration.notify.incidents`)."""

# No `from __future__ import annotations`: Dagster reads the `context` annotation of the
# sensor function at definition time and rejects it as a string.

from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Literal

from dagster import (
    AssetCheckKey,
    AssetCheckSeverity,
    AssetKey,
    DefaultSensorStatus,
    Definitions,
    MetadataValue,
    SensorDefinition,
    SensorEvaluationContext,
    SensorResult,
    sensor,
)

from dot_orchestration.monitoring.checks import CheckOutcome, CheckTransitions
from dot_orchestration.monitoring.settings import DEFAULT_UI_URL
from dot_orchestration.notify import (
    TableNameCase,
    check_table_name_case,
    incident_item,
    report_incident_changes,
    run_url,
)
from dot_orchestration.resources import DotResource

#: Dot's severities for Dagster's check severities.
DOT_SEVERITIES: Mapping[AssetCheckSeverity, Literal["error", "warning"]] = {
    AssetCheckSeverity.ERROR: "error",
    AssetCheckSeverity.WARN: "warning",
}


def check_incident_item(
    outcome: CheckOutcome, table: str, ui_url: str, *, table_name_case: TableNameCase = "as_is"
) -> dict[str, str]:
    """The `POST /api/quality/incidents` item for a check's new state (see `incident_item`)."""
    return incident_item(
        table=table,
        check=outcome.key.name,
        passed=outcome.passed,
        severity=DOT_SEVERITIES.get(outcome.severity, "error"),
        details=outcome.details,
        link=run_url(ui_url, outcome.run_id),
        table_name_case=table_name_case,
    )


def build_quality_incident_sensor(
    tables: Mapping[AssetKey, str],
    check_keys: Sequence[AssetCheckKey],
    *,
    ui_url: str = DEFAULT_UI_URL,
    source: str = "dagster",
    name: str = "dot_quality_incidents",
    minimum_interval_seconds: int = 30,
    default_status: DefaultSensorStatus = DefaultSensorStatus.RUNNING,
    table_name_case: TableNameCase = "as_is",
) -> SensorDefinition:
    """Opens a Dot quality incident when a check on a table Dot reads fails; resolves it
    when the check passes again. `tables` maps each asset to the table name Dot knows;
    `table_name_case` changes its case first.

    New incidents and resolutions travel apart (see `report_incident_changes`). If Dot
    refuses new incidents, the tick fails and the cursor stays, so they are sent again on
    the next tick.
    """
    case = check_table_name_case(table_name_case)
    watched = sorted(
        (key for key in check_keys if key.asset_key in tables), key=AssetCheckKey.to_user_string
    )

    @sensor(
        name=name,
        minimum_interval_seconds=minimum_interval_seconds,
        default_status=default_status,
        description=f"Reports failed asset checks on the {len(tables)} tables Dot reads to "
        f"Dot (POST /api/quality/incidents, source `{source}`), so dashboards on them show "
        "data issues, and resolves them when the checks pass. A failed tick means Dot "
        "refused the report (token, role, outage): it is re-sent on the next tick.",
    )
    def _report_incidents(context: SensorEvaluationContext, dot: DotResource) -> SensorResult:
        transitions = CheckTransitions.read(context.instance, watched, context.cursor)
        changes = [
            (o.key, check_incident_item(o, tables[o.key.asset_key], ui_url, table_name_case=case))
            for o in transitions.changes
        ]
        if not changes:
            return SensorResult(skip_reason="no incident change", cursor=transitions.cursor())
        with dot.get_client() as client:
            report = report_incident_changes(client, source, changes, context.log)
        context.log.info(f"Dot quality incidents: {report.summary()}")
        return SensorResult(
            skip_reason=report.summary(), cursor=transitions.cursor(unsent=report.unsent)
        )

    return _report_incidents


def table_names(defs: Definitions, assets: Iterable[AssetKey]) -> dict[AssetKey, str]:
    """The table name Dot knows for each asset: its relation (`dagster/table_name`, which
    dagster-dbt sets to `database.schema.alias`), else the asset key's last part."""
    specs = {spec.key: spec for spec in defs.resolve_all_asset_specs()}
    return {key: _table_name(specs[key].metadata) or key.path[-1] for key in assets}


def _table_name(metadata: Mapping[str, Any]) -> str | None:
    """The value of Dagster's documented `dagster/table_name` metadata key, if any."""
    value = metadata.get("dagster/table_name")
    value = value.value if isinstance(value, MetadataValue) else value
    return value if isinstance(value, str) and value else None


__all__ = [
    "DOT_SEVERITIES",
    "build_quality_incident_sensor",
    "check_incident_item",
    "table_names",
]
