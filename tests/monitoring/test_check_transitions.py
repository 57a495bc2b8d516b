"""When the check sensors act: once per state change, a first failure counting as one."""

import json

from dagster import AssetCheckKey, AssetCheckSeverity, AssetKey, DagsterInstance

from dot_orchestration.monitoring import CheckOutcome, CheckTransitions, latest_check_outcomes

from .conftest import check_run

ORDERS = AssetCheckKey(AssetKey("orders"), "unique_order_id")
CUSTOMERS = AssetCheckKey(AssetKey("customers"), "not_null_email")
#: The checks of the two assets in conftest, whose outcome `check_run` chooses.
ORDERS_ADD_UP = AssetCheckKey(AssetKey("orders"), "orders_add_up")
CUSTOMERS_UNIQUE = AssetCheckKey(AssetKey("customers"), "customers_unique")


def outcome(key: AssetCheckKey, passed: bool) -> CheckOutcome:
    return CheckOutcome(key, passed, AssetCheckSeverity.ERROR, None, "run-1")


def test_first_sight_failure_is_a_change_first_sight_pass_is_not() -> None:
    transitions = CheckTransitions({}, (outcome(ORDERS, False), outcome(CUSTOMERS, True)))
    assert [o.key for o in transitions.changes] == [ORDERS]
    assert json.loads(transitions.cursor()) == {
        "orders:unique_order_id": "failed",
        "customers:not_null_email": "passed",
    }


def test_repeats_are_no_change_and_flips_are() -> None:
    seen = {"orders:unique_order_id": "failed", "customers:not_null_email": "passed"}
    same = CheckTransitions(seen, (outcome(ORDERS, False), outcome(CUSTOMERS, True)))
    assert same.changes == []
    flipped = CheckTransitions(seen, (outcome(ORDERS, True), outcome(CUSTOMERS, False)))
    assert {o.key for o in flipped.changes} == {ORDERS, CUSTOMERS}


def test_unsent_changes_stay_unseen_so_the_next_tick_retries_them() -> None:
    seen = {"orders:unique_order_id": "passed"}
    transitions = CheckTransitions(seen, (outcome(ORDERS, False), outcome(CUSTOMERS, False)))
    cursor = transitions.cursor(unsent={ORDERS})
    retry = CheckTransitions(json.loads(cursor), transitions.outcomes)
    assert [o.key for o in retry.changes] == [ORDERS]


def test_check_outcomes_read_back_from_the_instance(instance: DagsterInstance) -> None:
    """What the alert and incident sensors see: the latest completed evaluation per check
    (a check never evaluated has none), with what the check said."""
    keys = [ORDERS_ADD_UP, AssetCheckKey(AssetKey("orders"), "never_run")]
    assert latest_check_outcomes(instance, keys) == []
    check_run(instance, orders=False)
    passed_run = check_run(instance, orders=True)
    failed_run = check_run(instance, customers=False)
    outcomes = latest_check_outcomes(instance, [*keys, CUSTOMERS_UNIQUE])
    assert outcomes == [
        CheckOutcome(ORDERS_ADD_UP, True, AssetCheckSeverity.ERROR, None, passed_run),
        CheckOutcome(CUSTOMERS_UNIQUE, False, AssetCheckSeverity.ERROR, None, failed_run),
    ]
