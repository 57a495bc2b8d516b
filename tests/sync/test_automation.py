"""When automation syncs a connection, on small definitions: plain upstream assets (one
with a blocking check, one without), the sync assets, a real instance, and Dagster's
public `evaluate_automation_conditions`, tick after tick.

Nothing is synced here (evaluating conditions launches no run): each test asserts which
syncs a tick would request, so each guard of `sync_after_upstream_condition` is shown
holding a sync back when, and only when, its own reason applies.
"""

from dagster import (
    AssetCheckResult,
    AssetKey,
    Config,
    DagsterInstance,
    Definitions,
    ExecuteInProcessResult,
    asset,
    asset_check,
    evaluate_automation_conditions,
)

from dot_orchestration.resources import DotResource
from dot_orchestration.syncs import DotConnection, SyncSettings, build_dot_sync_definitions

#: Reads `orders`, which carries a blocking check.
CHECKED = AssetKey(["dot", "sync", "snowflake", "prod"])
#: Reads `customers` and `orders_by_day`, which carry no checks.
UNCHECKED = AssetKey(["dot", "sync", "looker", "main"])


class Outcome(Config):
    """Run config of the upstream assets and the check: fail on purpose."""

    fail: bool = False


@asset
def orders() -> None:
    """A table Dot reads, with a blocking check."""


@asset_check(asset=orders, blocking=True)
def orders_have_rows(config: Outcome) -> AssetCheckResult:
    return AssetCheckResult(passed=not config.fail)


@asset
def customers(config: Outcome) -> None:
    """A table Dot reads, without checks."""
    if config.fail:
        raise RuntimeError("customers failed on purpose")


@asset
def orders_by_day(config: Outcome) -> None:
    """A second table without checks, read by the same connection as `customers`."""
    if config.fail:
        raise RuntimeError("orders_by_day failed on purpose")


def definitions() -> Definitions:
    settings = SyncSettings(
        connections=[
            DotConnection(type="snowflake", id="prod", asset_keys=("orders",)),
            DotConnection(type="looker", id="main", asset_keys=("customers", "orders_by_day")),
        ]
    )
    upstream = [orders, customers, orders_by_day]
    return Definitions.merge(
        build_dot_sync_definitions(settings, upstream=upstream),
        Definitions(
            assets=upstream,
            asset_checks=[orders_have_rows],
            # Never called: evaluating conditions launches no run.
            resources={"dot": DotResource(api_token="dot-unused", base_url="http://127.0.0.1:9")},
        ),
    )


class Ticks:
    """The automation sensor's ticks, one `evaluate_automation_conditions` call each."""

    def __init__(self, defs: Definitions, instance: DagsterInstance) -> None:
        self.defs, self.instance, self.cursor = defs, instance, None
        assert self.requested() == set(), "nothing is requested before anything was built"

    def requested(self) -> set[AssetKey]:
        result = evaluate_automation_conditions(
            defs=self.defs, instance=self.instance, cursor=self.cursor
        )
        self.cursor = result.cursor
        return {r.key for r in result.results if r.true_subset.size}

    def build(self, *keys: AssetKey, fail: tuple[str, ...] = ()) -> ExecuteInProcessResult:
        """Materialize `keys` (and their checks) in one run that targets no sync; the
        ops named in `fail` (an upstream asset, or the check `orders_orders_have_rows`)
        fail on purpose."""
        config = {"ops": {name: {"config": {"fail": True}} for name in fail}}
        job = self.defs.resolve_implicit_global_asset_job_def()
        return job.execute_in_process(
            instance=self.instance,
            asset_selection=list(keys),
            run_config=config,
            raise_on_error=False,
        )


def test_a_clean_build_requests_each_sync_once(instance: DagsterInstance) -> None:
    ticks = Ticks(definitions(), instance)
    assert ticks.build(AssetKey("orders"), AssetKey("customers"), AssetKey("orders_by_day")).success
    assert ticks.requested() == {CHECKED, UNCHECKED}
    assert ticks.requested() == set(), "a second tick must not request the same syncs again"


def test_a_failed_blocking_check_holds_the_sync_until_it_passes(
    instance: DagsterInstance,
) -> None:
    """`orders` is materialized (its run did not fail to build it: no `execution_failed`)
    but its blocking check failed: only `all_deps_blocking_checks_passed` holds the sync."""
    ticks = Ticks(definitions(), instance)
    built = ticks.build(AssetKey("orders"), fail=("orders_orders_have_rows",))
    assert [c.passed for c in built.get_asset_check_evaluations()] == [False]
    assert built.get_asset_materialization_events(), "orders itself was built"
    assert ticks.requested() == set(), "a failed blocking check must hold the sync"
    assert ticks.requested() == set(), "and keep holding it on later ticks"

    assert ticks.build(AssetKey("orders")).success
    assert ticks.requested() == {CHECKED}, "once the check passes, the sync follows"


def test_a_failed_upstream_run_holds_the_sync(instance: DagsterInstance) -> None:
    """An upstream without blocking checks: after a clean build and its sync request, an
    idle tick (so that request counts as handled), a run in which `customers` is rebuilt
    but `orders_by_day` fails. A dependency updated, none has a failed check: only
    `~any_deps_match(execution_failed())` holds the sync of the connection reading both."""
    ticks = Ticks(definitions(), instance)
    assert ticks.build(AssetKey("customers"), AssetKey("orders_by_day")).success
    assert ticks.requested() == {UNCHECKED}
    # The idle tick: the request above now counts as handled. Without it, the next tick
    # would find no update since the last request and hold the sync for that reason alone.
    assert ticks.requested() == set()

    failed = ticks.build(AssetKey("customers"), AssetKey("orders_by_day"), fail=("orders_by_day",))
    assert not failed.success
    assert [e.asset_key for e in failed.get_asset_materialization_events()] == [
        AssetKey("customers")
    ]
    assert ticks.requested() == set(), "an upstream whose latest run failed must hold the sync"

    assert ticks.build(AssetKey("orders_by_day")).success
    assert ticks.requested() == {UNCHECKED}, "once the upstream is rebuilt, the sync follows"
