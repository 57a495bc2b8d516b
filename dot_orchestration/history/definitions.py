"""`build_dot_history_definitions`: the one way to wire a history export, from Python or
from a `DotComponent`'s `history:` section."""

from dagster import AssetSelection, Definitions

from dot_orchestration.history.asset import (
    DotHistoryIOManager,
    DotHistoryTranslator,
    build_history_asset,
    history_spec,
)
from dot_orchestration.history.checks import build_history_checks
from dot_orchestration.history.schedule import build_history_freshness, build_history_schedule
from dot_orchestration.history.settings import DotHistorySettings
from dot_orchestration.history.warehouses import IO_MANAGER_KEY, WAREHOUSE_KEY


def build_dot_history_definitions(
    settings: DotHistorySettings,
    *,
    downstream: AssetSelection | None = None,
    translator: DotHistoryTranslator | None = None,
) -> Definitions:
    """The history asset, its checks, and (when `settings` enables them) its daily schedule
    and its freshness check and sensor, with the warehouse and IO manager resources. Their
    names start with the settings' key joined by `_` (`dot_history_daily`, ...).

    Merge it with definitions providing `dot` (`DotResource`). `downstream` joins the
    schedule's daily run (the dbt models reading the tables, say). `translator` changes the
    asset's spec; the checks, freshness check and schedule follow its key.
    """
    if downstream is not None and settings.schedule is None:
        raise ValueError(
            "downstream= joins the daily run, which is off: set the settings' `schedule` "
            "(HistorySchedule()) or leave out downstream"
        )
    # Names (of the step, checks, schedule, sensor) come from the settings' key: a
    # translator changes the asset's spec, not what the definitions are called.
    name = settings.name
    if settings.schedule and settings.schedule.downstream_dbt_select and downstream is None:
        raise ValueError(
            f"schedule.downstream_dbt_select={settings.schedule.downstream_dbt_select!r} is "
            "resolved by a DotComponent's dbt upstream; in Python pass the models instead: "
            "downstream=build_dbt_asset_selection([your_dbt_assets], dbt_select=...)"
        )
    spec = history_spec(settings, translator or DotHistoryTranslator())
    if spec.key != settings.asset_key:
        settings = settings.model_copy(update={"key": tuple(spec.key.path)})
    history = build_history_asset(settings, spec, name)
    checks = [build_history_checks(settings, name)]
    sensors = []
    if settings.freshness is not None:
        freshness, sensor = build_history_freshness(settings, settings.freshness, name)
        checks.extend(freshness)
        sensors.append(sensor)
    schedules = []
    if settings.schedule is not None:
        schedule = build_history_schedule(history, settings.schedule, name, downstream)
        schedules.append(schedule)
    warehouse = settings.partition_warehouse()
    return Definitions(
        assets=[history],
        asset_checks=checks,
        schedules=schedules,
        sensors=sensors,
        resources={
            WAREHOUSE_KEY: warehouse,
            IO_MANAGER_KEY: DotHistoryIOManager(warehouse=warehouse),
        },
    )
