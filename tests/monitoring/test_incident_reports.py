"""New incidents and resolutions travel apart: a resolution Dot refuses never blocks them.

Dot documents only `status: "open"` for `POST /api/quality/incidents`. The strict profile
refuses any other status with a 422 for the whole report, so a sensor that bundled a
resolution with new incidents would fail every tick and never open them. Two real assets
with checks whose outcome a test sets, a real instance, and the sensor ticked by hand.
"""

from collections.abc import Iterator
from typing import Any

import pytest
from dagster import (
    AssetCheckKey,
    AssetCheckResult,
    AssetKey,
    AssetsDefinition,
    DagsterInstance,
    SensorDefinition,
    asset,
    asset_check,
    build_sensor_context,
    instance_for_test,
    materialize,
)

from dot_orchestration.emulator import ADMIN_TOKEN, EmulatorServer
from dot_orchestration.emulator.faults import FaultRule
from dot_orchestration.monitoring import (
    build_quality_incident_sensor,
    incident_item,
    latest_check_outcomes,
)
from dot_orchestration.resources import DotResource

INCIDENTS = "/api/quality/incidents"
TABLES = {AssetKey("orders"): "Analytics.Public.Orders", AssetKey("customers"): "customers"}
PASSING: dict[str, bool] = {}


@asset
def orders() -> int:
    return 1


@asset
def customers() -> int:
    return 1


@asset_check(asset=orders)
def orders_add_up() -> AssetCheckResult:
    return AssetCheckResult(passed=PASSING["orders"])


@asset_check(asset=customers)
def customers_unique() -> AssetCheckResult:
    return AssetCheckResult(passed=PASSING["customers"])


CHECKS = [
    AssetCheckKey(AssetKey("orders"), "orders_add_up"),
    AssetCheckKey(AssetKey("customers"), "customers_unique"),
]


@pytest.fixture
def instance() -> Iterator[DagsterInstance]:
    with instance_for_test() as inst:
        yield inst


ASSETS = {"orders": (orders, orders_add_up), "customers": (customers, customers_unique)}


def check_run(instance: DagsterInstance, **passing: bool) -> None:
    """Materialize the named assets; their checks pass or fail as given."""
    PASSING.update(passing)
    selected: list[AssetsDefinition] = [part for name in passing for part in ASSETS[name]]
    materialize(selected, instance=instance, raise_on_error=False)


def tick(
    sensor: SensorDefinition, instance: DagsterInstance, cursor: str | None, server: EmulatorServer
) -> str | None:
    dot = DotResource(api_token=ADMIN_TOKEN, base_url=server.url, max_attempts=1)
    context = build_sensor_context(instance=instance, cursor=cursor, resources={"dot": dot})
    return sensor.evaluate_tick(context).cursor


def reports(server: EmulatorServer) -> list[dict[str, Any]]:
    return [e for e in server.state.journal.entries() if e["path"] == INCIDENTS]


def incidents(server: EmulatorServer) -> dict[str, str]:
    return {i.table: i.status for i in server.state.space().incidents.incidents()}


@pytest.fixture
def sensor() -> SensorDefinition:
    return build_quality_incident_sensor(TABLES, CHECKS, ui_url="http://dagster.example.com")


def test_a_resolution_dot_refuses_never_blocks_new_incidents(
    any_dot_emulator: EmulatorServer, instance: DagsterInstance, sensor: SensorDefinition
) -> None:
    check_run(instance, orders=False, customers=True)
    cursor = tick(sensor, instance, None, any_dot_emulator)
    assert incidents(any_dot_emulator) == {"Analytics.Public.Orders": "open"}

    # in one tick: orders passes again (a resolution), customers starts failing (new)
    check_run(instance, orders=True, customers=False)
    cursor = tick(sensor, instance, cursor, any_dot_emulator)

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
    tick(sensor, instance, cursor, any_dot_emulator)
    assert len(reports(any_dot_emulator)) == 3, "a refused resolution is not re-sent every tick"


def test_a_resolution_lost_to_an_outage_is_sent_again(
    dot_emulator: EmulatorServer, instance: DagsterInstance, sensor: SensorDefinition
) -> None:
    check_run(instance, orders=False)
    cursor = tick(sensor, instance, None, dot_emulator)
    check_run(instance, orders=True, customers=False)
    dot_emulator.state.faults = [
        FaultRule(method="POST", path=INCIDENTS, kind="status", status=503, times=1)
    ]
    cursor = tick(sensor, instance, cursor, dot_emulator)  # the resolution meets the outage
    assert incidents(dot_emulator) == {"Analytics.Public.Orders": "open", "customers": "open"}

    tick(sensor, instance, cursor, dot_emulator)
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
    cursor = tick(sensor, instance, None, dot_emulator)
    assert incidents(dot_emulator) == {"Analytics.Public.Orders": "open"}
    tick(sensor, instance, cursor, dot_emulator)
    assert len(reports(dot_emulator)) == 1, "accepted: not sent again"


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
    item = incident_item(outcome, TABLES[AssetKey("orders")], "http://ui", table_name_case=case)  # type: ignore[arg-type]
    assert item["table"] == table
    assert item["message"].startswith(f"Dagster check orders_add_up on {table} failed")


def test_an_unknown_table_name_case_is_refused_naming_the_choices() -> None:
    with pytest.raises(ValueError, match="table_name_case must be one of as_is, lower, upper"):
        build_quality_incident_sensor(TABLES, CHECKS, table_name_case="title")  # type: ignore[arg-type]
