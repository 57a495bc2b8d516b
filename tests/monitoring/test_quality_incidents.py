"""Failed dbt tests on the marts Dot reads become Dot quality incidents, exactly once per change.

dbt is the point here, so this runs the example: real dbt builds into DuckDB on a real
instance, the incident sensor evaluated tick by tick as the daemon would, and the
emulator's incident book and journal as the witnesses.
"""

from typing import Any

import httpx
import pytest
from _dbt_builds import FAIL_TEST, switched_on
from dagster import AssetKey, AssetSelection, DagsterInstance, Definitions

from dot_orchestration.client.errors import DotPermissionError
from dot_orchestration.emulator import EmulatorServer
from dot_orchestration.emulator.faults import FaultRule
from dot_orchestration.monitoring import table_names
from dot_orchestration.syncs import tables_read_by_dot

from .conftest import UI_URL, tick

INCIDENTS = "/api/quality/incidents"
FAILING_TEST = "orders_amount_matches_payments"
#: `orders` (the one mart whose test a build can make fail) and what its tests read: its
#: upstream and `customers` (a relationships test), not the rest of the nightly job.
BUILT = AssetSelection.assets(AssetKey("orders"), AssetKey("customers")).upstream()


def build(defs: Definitions, instance: DagsterInstance) -> bool:
    keys = list(BUILT.resolve(defs.resolve_asset_graph()))
    return (
        defs.resolve_implicit_global_asset_job_def()
        .execute_in_process(instance=instance, asset_selection=keys, raise_on_error=False)
        .success
    )


def reports(server: EmulatorServer) -> list[dict[str, Any]]:
    entries = httpx.get(f"{server.url}/_emulator/journal").json()["entries"]
    return [e for e in entries if e["path"] == INCIDENTS]


def dagster_incidents(server: EmulatorServer) -> list[dict[str, Any]]:
    return [
        incident.public()
        for incident in server.state.space().incidents.incidents()
        if incident.source == "dagster"
    ]


def test_failed_dbt_test_opens_one_incident_and_its_pass_resolves_it(
    example: Definitions, instance: DagsterInstance, dot_emulator: EmulatorServer
) -> None:
    sensor = example.resolve_sensor_def("dot_quality_incidents")
    dot = example.resources["dot"]
    table = table_names(example, [AssetKey("orders")])[AssetKey("orders")]
    assert table.endswith(".main.orders"), "the dbt relation: database.schema.alias"

    cursor = tick(sensor, instance, None, dot=dot)
    assert reports(dot_emulator) == [], "no check has run: nothing to report"

    with switched_on(FAIL_TEST):
        assert not build(example, instance)
    dot_emulator.state.faults = [
        FaultRule(method="POST", path=INCIDENTS, kind="status", status=403)
    ]
    with pytest.raises(DotPermissionError):  # the tick fails; its cursor is not kept
        tick(sensor, instance, cursor, dot=dot)
    dot_emulator.state.faults = []

    cursor = tick(sensor, instance, cursor, dot=dot)
    cursor = tick(sensor, instance, cursor, dot=dot)
    (incident,) = dagster_incidents(dot_emulator)
    assert incident["table"] == table and incident["check"] == FAILING_TEST
    assert incident["status"] == "open" and incident["severity"] == "error"
    assert incident["message"].startswith(f"Dagster check {FAILING_TEST} on {table} failed: ")
    assert incident["message"].endswith(" failing rows")
    failed_run = instance.get_runs()[0]
    assert incident["url"] == f"{UI_URL}/runs/{failed_run.run_id}"
    sent = reports(dot_emulator)
    assert [r["status"] for r in sent] == [403, 200], "refused once, then sent once"
    assert [item["status"] for item in sent[1]["body"]["items"]] == ["open"]

    assert build(example, instance)
    cursor = tick(sensor, instance, cursor, dot=dot)
    tick(sensor, instance, cursor, dot=dot)
    (incident,) = dagster_incidents(dot_emulator)
    assert incident["status"] == "resolved" and incident["resolved_at"]
    sent = reports(dot_emulator)
    assert len(sent) == 3, "one report per state change, none on repeats"
    assert sent[2]["body"]["items"] == [
        {
            "table": table,
            "check": FAILING_TEST,
            "status": "resolved",
            "severity": "error",
            "message": f"Dagster check {FAILING_TEST} on {table} passes again.",
            "url": f"{UI_URL}/runs/{instance.get_runs()[0].run_id}",
        }
    ]


def test_the_tables_dot_reads_are_the_warehouse_connections_marts(example: Definitions) -> None:
    """The marts behind the warehouse connection; not staging, seeds or the sync checks,
    and not the models the dbt connection lists (Dot reads no data through it). That only
    their checks become incidents is `test_incident_reports`' business."""
    syncs = example.resolve_assets_def(AssetKey(["dot", "sync", "duckdb", "dot_demo"]))
    assert tables_read_by_dot(syncs) == [
        AssetKey("customers"),
        AssetKey("daily_revenue"),
        AssetKey("orders"),
    ]
