"""Pins what `dot_orchestration._compat` relies on, one test per private Dagster name.

Each test states the behaviour the package uses, through the public API where one
exists, so that a Dagster release which moves or changes one of them fails here, naming
it, before any feature test fails for a reason that is hard to trace.
"""

import inspect
import os
from datetime import timedelta
from pathlib import Path

import pytest
from dagster import (
    AssetExecutionContext,
    AssetKey,
    AssetSelection,
    DagsterInstance,
    DagsterInvalidDefinitionError,
    DailyPartitionsDefinition,
    Definitions,
    HookContext,
    HookDefinition,
    MetadataValue,
    PartitionKeyRange,
    ScheduleDefinition,
    asset,
    build_reconstructable_job,
    define_asset_job,
    execute_job,
    failure_hook,
    in_process_executor,
    instance_for_test,
    materialize,
    sensor,
    success_hook,
)

from dot_orchestration._compat import (
    PARTITION_RANGE_END_TAG,
    PARTITION_RANGE_START_TAG,
    NamespacedMetadataSet,
    UnresolvedAssetJobDefinition,
    asset_graph_of,
    get_smallest_cron_interval,
    replace_assets,
)
from dot_orchestration.catalogue import (
    DotDashboardProps,
    DotExposure,
    DotExposureTranslator,
    ExposureOwner,
)


class _Example(NamespacedMetadataSet):
    connection_id: str | None = None
    attempts: int | None = None

    @classmethod
    def namespace(cls) -> str:
        return "dot"


def test_a_metadata_set_splats_under_its_namespace_and_reads_back() -> None:
    written = dict(_Example(connection_id="prod", attempts=2))
    assert written == {"dot/connection_id": "prod", "dot/attempts": 2}
    # What the instance hands back: values wrapped, other namespaces beside ours.
    stored = {
        "dot/connection_id": MetadataValue.text("prod"),
        "dot/attempts": MetadataValue.int(2),
        "dagster/row_count": MetadataValue.int(7),
    }
    assert _Example.extract(stored) == _Example(connection_id="prod", attempts=2)
    assert _Example.extract({}) == _Example()


def test_define_asset_job_returns_the_unresolved_job_type_schedules_accept() -> None:
    @asset
    def one() -> None: ...

    job = define_asset_job("one_job", selection=[one])
    assert isinstance(job, UnresolvedAssetJobDefinition)
    assert ScheduleDefinition(job=job, cron_schedule="0 4 * * *").job_name == "one_job"


@pytest.mark.parametrize(
    ("cron", "timezone", "interval"),
    [
        ("0 2 * * *", "UTC", timedelta(days=1)),
        ("*/15 * * * *", "UTC", timedelta(minutes=15)),
        ("0 9 * * 1-5", "UTC", timedelta(days=1)),
        ("0 6,18 * * *", "UTC", timedelta(hours=12)),
        # A day without its DST hour: the window must not be longer than the shortest gap.
        ("0 2 * * *", "Europe/Berlin", timedelta(hours=23)),
    ],
)
def test_the_smallest_cron_interval_is_the_shortest_gap_between_ticks(
    cron: str, timezone: str, interval: timedelta
) -> None:
    assert get_smallest_cron_interval(cron, timezone) == interval


def test_the_range_tags_make_one_run_materialize_a_range_of_partitions() -> None:
    seen: list[PartitionKeyRange] = []

    @asset(partitions_def=DailyPartitionsDefinition(start_date="2026-01-01"))
    def daily(context: AssetExecutionContext) -> None:
        seen.append(context.partition_key_range)

    tags = {PARTITION_RANGE_START_TAG: "2026-01-02", PARTITION_RANGE_END_TAG: "2026-01-04"}
    with DagsterInstance.ephemeral() as instance:
        assert materialize([daily], instance=instance, tags=tags).success
        materialized = instance.get_materialized_partitions(daily.key)
    assert seen == [PartitionKeyRange("2026-01-02", "2026-01-04")]
    assert materialized == {"2026-01-02", "2026-01-03", "2026-01-04"}


def test_a_prebuilt_asset_graph_resolves_selections_as_the_assets_do() -> None:
    """The sync assets resolve many selections against one `asset_graph_of` graph: the
    answers must be those of resolving against the assets themselves."""

    @asset(key=["raw", "orders"])
    def orders() -> None: ...

    @asset(key=["marts", "revenue"], deps=[orders])
    def revenue() -> None: ...

    graph = asset_graph_of([orders, revenue])
    for selection in (
        AssetSelection.keys("marts/revenue").upstream(),
        AssetSelection.key_prefixes("raw"),
        AssetSelection.assets(orders).downstream(),
    ):
        assert selection.resolve(graph) == selection.resolve([orders, revenue])
    assert AssetSelection.key_prefixes("raw").resolve(graph) == {AssetKey(["raw", "orders"])}


def test_replace_assets_keeps_every_field_of_the_definitions() -> None:
    @asset
    def old() -> None: ...

    @asset
    def new() -> None: ...

    @sensor(target=[old])
    def watching() -> None: ...

    job = define_asset_job("old_job", selection=[old])
    defs = Definitions(
        assets=[old],
        schedules=[ScheduleDefinition(job=job, cron_schedule="0 4 * * *")],
        sensors=[watching],
        jobs=[job],
        resources={"setting": 1},
        executor=in_process_executor,
        metadata={"owner": "data"},
    )
    replaced = replace_assets(defs, [new])
    assert replaced.assets == [new]
    carried = set(inspect.signature(Definitions).parameters) - {"assets"}
    assert carried == {
        "schedules",
        "sensors",
        "jobs",
        "resources",
        "executor",
        "loggers",
        "asset_checks",
        "metadata",
        "component_tree",
    }, "Definitions has a new field: carry it in replace_assets"
    for name in carried:
        assert getattr(replaced, name) == getattr(defs, name), name


@pytest.mark.parametrize(
    ("email", "owners"),
    [("ana@example.com", ["ana@example.com"]), ("Ana", []), ("", [])],
)
def test_a_dashboard_keeps_its_owner_only_when_dagster_takes_it(
    email: str, owners: list[str]
) -> None:
    """Replaces Dagster's private `is_valid_owner`: Dagster itself decides, by refusing a
    spec whose owner it does not take, and a dashboard then has no owner instead."""
    exposure = DotExposure(name="revenue", type="dashboard", owner=ExposureOwner(email=email))
    spec = DotExposureTranslator().get_asset_spec(DotDashboardProps(exposure, deps=()))
    assert list(spec.owners) == owners


def test_asset_hooks_follow_success_and_failure_with_the_resources_they_require() -> None:
    """What `DotDbtProjectComponent` relies on instead of rebuilding dagster-dbt's op: hooks
    put on assets with `with_hooks` run after each step, succeeded or failed, with the
    resources they require, and a missing one fails the definitions at load."""
    ran: list[tuple[str, str, str]] = []

    @asset
    def built() -> None: ...

    @asset
    def broken() -> None:
        raise RuntimeError("the build failed")

    @success_hook(required_resource_keys={"dot"})
    def after_success(context: HookContext) -> None:
        ran.append(("success", context.op.name, context.resources.dot))

    @failure_hook(required_resource_keys={"dot"})
    def after_failure(context: HookContext) -> None:
        ran.append(("failure", context.op.name, context.resources.dot))

    hooks: set[HookDefinition] = {after_success, after_failure}
    assets = [built.with_hooks(hooks), broken.with_hooks(hooks)]
    with DagsterInstance.ephemeral() as instance:
        result = materialize(
            assets, instance=instance, resources={"dot": "token"}, raise_on_error=False
        )
    assert not result.success
    assert sorted(ran) == [("failure", "broken", "token"), ("success", "built", "token")]
    with pytest.raises(DagsterInvalidDefinitionError, match="key 'dot' required by hook"):
        Definitions.validate_loadable(Definitions(assets=assets))


def test_an_asset_hook_runs_in_the_process_of_its_step(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The dbt component's step hands its invocations to its hook through the process
    (`_PENDING`): under the multiprocess executor both must run in the step's process."""
    monkeypatch.setenv("HOOKED_JOB_DIR", str(tmp_path))
    here = str(Path(__file__).parent)
    job = build_reconstructable_job(
        "_hooked_job", "hooked_job", reconstructor_working_directory=here
    )
    with (
        instance_for_test() as instance,
        execute_job(job, instance, raise_on_error=False) as result,
    ):
        assert not result.success
    pids = {path.name: path.read_text() for path in tmp_path.iterdir()}
    assert set(pids) == {"step-built", "hook-built", "step-broken", "hook-broken"}
    assert pids["hook-built"] == pids["step-built"] != str(os.getpid())
    assert pids["hook-broken"] == pids["step-broken"] != pids["step-built"]
