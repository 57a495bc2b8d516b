"""When the check sensors act: once per state change, a first failure counting as one."""

import json

from dagster import AssetCheckKey, AssetCheckSeverity, AssetKey

from dot_orchestration.monitoring import CheckOutcome, CheckTransitions

ORDERS = AssetCheckKey(AssetKey("orders"), "unique_order_id")
CUSTOMERS = AssetCheckKey(AssetKey("customers"), "not_null_email")


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
