"""New incidents and resolutions travel apart: a resolution Dot refuses never blocks them.

Dot documents only `status: "open"` for `POST /api/quality/incidents`. The strict profile
refuses any other status with a 422 for the whole report, so a sensor that bundled a
resolution with new incidents would fail every tick and never open them. Two real assets
with checks whose outcome a test sets, a real instance, the sensor ticked by hand, and the
emulator's incident book and journal as the witnesses.
"""

from typing import Any

import pytest
from dagster import AssetCheckKey, DagsterInstance, SensorDefinition

from dot_orchestration.emulator import ADMIN_TOKEN, EmulatorServer
from dot_orchestration.emulator.faults import FaultRule
from dot_orchestration.monitoring import (
    MonitoringSettings,
    build_quality_incident_sensor,
    check_incident_item,
    latest_check_outcomes,
)
from dot_orchestration.resources import DotResource

from .conftest import CUSTOMERS, ORDERS, UI_URL, check_run, small_defs, tick

INCIDENTS = "/api/quality/incidents"
TABLES = {ORDERS: "Analytics.Public.Orders", CUSTOMERS: "customers"}
CHECKS = [AssetCheckKey(ORDERS, "orders_add_up"), AssetCheckKey(CUSTOMERS, "customers_unique")]


def dot(server: EmulatorServer) -> DotResource:
    return DotResource(api_token=ADMIN_TOKEN, base_url=server.url, max_attempts=1)


def reports(server: EmulatorServer) -> list[dict[str, Any]]:
    return [e for e in server.state.journal.entries() if e["path"] == INCIDENTS]


def incidents(server: EmulatorServer) -> dict[str, str]:
    return {i.table: i.status for i in server.state.space().incidents.incidents()}


@pytest.fixture
def sensor() -> SensorDefinition:
    return build_quality_incident_sensor(TABLES, CHECKS, ui_url=UI_URL)


def test_a_resolution_dot_refuses_never_blocks_new_incidents(
    any_dot_emulator: EmulatorServer, instance: DagsterInstance, sensor: SensorDefinition
) -> None:
    check_run(instance, orders=False, customers=True)
    cursor = tick(sensor, instance, None, dot=dot(any_dot_emulator))
    assert incidents(any_dot_emulator) == {"Analytics.Public.Orders": "open"}

    # in one tick: orders passes again (a resolution), customers starts failing (new)
    check_run(instance, orders=True, customers=False)
    cursor = tick(sensor, instance, cursor, dot=dot(any_dot_emulator))

    strict = any_dot_emulator.state.config.strict
    assert incidents(any_dot_emulator) == {
        "Analytics.Public.Orders": "open" if strict else "resolved",
        "customers": "open",
    }
    sent = [
        (r["status"], [i["status"] for i in r["body"]["items"]]) for r in reports(any_dot_emulator)
    ]
    assert sent == [
        (200, ["open"]),
        (422 if strict else 200, ["resolved"]),  # undocumented: sent apart
        (200, ["open"]),
    ]
    tick(sensor, instance, cursor, dot=dot(any_dot_emulator))
    assert len(reports(any_dot_emulator)) == 3, "a refused resolution is not re-sent every tick"


def test_a_resolution_lost_to_an_outage_is_sent_again(
    dot_emulator: EmulatorServer, instance: DagsterInstance, sensor: SensorDefinition
) -> None:
    check_run(instance, orders=False)
    cursor = tick(sensor, instance, None, dot=dot(dot_emulator))
    check_run(instance, orders=True, customers=False)
    dot_emulator.state.faults = [
        FaultRule(method="POST", path=INCIDENTS, kind="status", status=503, times=1)
    ]
    cursor = tick(sensor, instance, cursor, dot=dot(dot_emulator))  # the resolution: outage
    assert incidents(dot_emulator) == {"Analytics.Public.Orders": "open", "customers": "open"}

    tick(sensor, instance, cursor, dot=dot(dot_emulator))
    assert incidents(dot_emulator) == {"Analytics.Public.Orders": "resolved", "customers": "open"}
    assert [r["status"] for r in reports(dot_emulator)] == [200, 503, 200, 200]


def test_any_2xx_reply_is_accepted(
    dot_emulator: EmulatorServer, instance: DagsterInstance, sensor: SensorDefinition
) -> None:
    """Dot documents no reply body: one that is not JSON is no failure (the report went in)."""
    dot_emulator.state.faults = [
        FaultRule(method="POST", path=INCIDENTS, kind="malformed", phase="after")
    ]
    check_run(instance, orders=False)
    cursor = tick(sensor, instance, None, dot=dot(dot_emulator))
    assert incidents(dot_emulator) == {"Analytics.Public.Orders": "open"}
    tick(sensor, instance, cursor, dot=dot(dot_emulator))
    assert len(reports(dot_emulator)) == 1, "accepted: not sent again"


def test_only_checks_on_the_tables_dot_reads_become_incidents(
    dot_emulator: EmulatorServer, instance: DagsterInstance
) -> None:
    """Both checks fail; only `orders` is a table Dot reads (`dot_tables`), so only its
    check reaches Dot, named by the asset's table (no `dagster/table_name`: its key)."""
    sensor = small_defs(dot_emulator, dot_tables=[ORDERS]).resolve_sensor_def(
        "dot_quality_incidents"
    )
    failed_run = check_run(instance, orders=False, customers=False)

    tick(sensor, instance, None, dot=dot(dot_emulator))

    ((report,),) = [r["body"]["items"] for r in reports(dot_emulator)]
    assert report == {
        "table": "orders",
        "check": "orders_add_up",
        "status": "open",
        "severity": "error",
        "message": "Dagster check orders_add_up on orders failed: 3 != 4",
        "url": f"{UI_URL}/runs/{failed_run}",
    }


def test_without_dot_tables_or_switched_off_there_is_no_incident_sensor(
    dot_emulator: EmulatorServer,
) -> None:
    names = {s.name for s in small_defs(dot_emulator, dot_tables=[]).sensors or ()}
    assert "dot_quality_incidents" not in names
    off = small_defs(dot_emulator, MonitoringSettings(quality_incidents=False))
    assert "dot_quality_incidents" not in {s.name for s in off.sensors or ()}


@pytest.mark.parametrize(
    ("case", "table"),
    [
        ("as_is", "Analytics.Public.Orders"),
        ("lower", "analytics.public.orders"),
        ("upper", "ANALYTICS.PUBLIC.ORDERS"),
    ],
)
def test_table_names_can_be_sent_in_one_case(
    instance: DagsterInstance, case: str, table: str
) -> None:
    check_run(instance, orders=False)
    (outcome,) = latest_check_outcomes(instance, CHECKS[:1])
    item = check_incident_item(outcome, TABLES[ORDERS], UI_URL, table_name_case=case)  # type: ignore[arg-type]
    assert item["table"] == table
    assert item["message"].startswith(f"Dagster check orders_add_up on {table} failed")


def test_an_unknown_table_name_case_is_refused_naming_the_choices() -> None:
    with pytest.raises(ValueError, match="table_name_case must be one of as_is, lower, upper"):
        build_quality_incident_sensor(TABLES, CHECKS, table_name_case="title")  # type: ignore[arg-type]
