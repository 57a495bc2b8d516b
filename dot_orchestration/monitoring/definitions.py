"""`build_dot_monitoring_definitions`: the one way monitoring is wired, from Python (the
example) and from `defs.yaml` (`DotComponent`'s `monitoring` section)."""

from collections.abc import Sequence
from datetime import timedelta

from dagster import (
    AssetCheckKey,
    AssetKey,
    AssetsDefinition,
    AssetSpec,
    Definitions,
    ScheduleDefinition,
    SensorDefinition,
)

from dot_orchestration._compat import replace_assets
from dot_orchestration.monitoring.freshness import apply_schedule_freshness
from dot_orchestration.monitoring.incidents import build_quality_incident_sensor, table_names
from dot_orchestration.monitoring.sensors import (
    build_check_alert_sensor,
    build_run_failure_alert_sensor,
)
from dot_orchestration.monitoring.settings import MonitoringSettings


def build_dot_monitoring_definitions(
    defs: Definitions,
    settings: MonitoringSettings | None = None,
    *,
    dot_tables: Sequence[AssetKey] = (),
    schedules: Sequence[ScheduleDefinition] | None = None,
    upstream: Sequence[AssetsDefinition] = (),
) -> Definitions:
    """`defs` with freshness from its schedules, alerts on failed runs and on every asset
    check, and Dot quality incidents for the checks on `dot_tables`, as `settings` switch
    them (all on by default).

    - `schedules`: those freshness is derived from; default every schedule of `defs`.
    - `upstream`: assets defined elsewhere (another component's dbt models) that the
      schedules build or Dot reads: their checks are watched and their tables named, but
      they get no policy and are not returned (their own definitions own their specs).

    Adds the sensors `dot_run_failure_alerts`, `dot_check_alerts`, `dot_quality_incidents`
    (only with `dot_tables`) and the resource `alerts`; the incident sensor uses the `dot`
    resource `defs` already has.
    """
    settings = settings or MonitoringSettings()
    if settings.schedule_freshness:
        defs = _with_schedule_freshness(defs, settings, schedules, upstream)
    whole = Definitions.merge(Definitions(assets=list(upstream)), defs) if upstream else defs
    checks = sorted(whole.resolve_asset_graph().asset_check_keys, key=AssetCheckKey.to_user_string)
    sensors: list[SensorDefinition] = []
    if settings.run_failure_alerts:
        sensors.append(build_run_failure_alert_sensor(ui_url=settings.ui_url))
    if settings.check_alerts:
        sensors.append(build_check_alert_sensor(checks, ui_url=settings.ui_url))
    if settings.quality_incidents and dot_tables:
        sensors.append(
            build_quality_incident_sensor(
                table_names(whole, dot_tables),
                checks,
                ui_url=settings.ui_url,
                source=settings.incident_source,
                table_name_case=settings.incident_table_name_case,
            )
        )
    return Definitions.merge(
        defs, Definitions(sensors=sensors, resources={"alerts": settings.alerts})
    )


def _with_schedule_freshness(
    defs: Definitions,
    settings: MonitoringSettings,
    schedules: Sequence[ScheduleDefinition] | None,
    upstream: Sequence[AssetsDefinition],
) -> Definitions:
    """`defs` with a policy on each asset a schedule refreshes; `upstream` assets are in
    the graph only so that the schedules' selections resolve."""
    if schedules is None:
        schedules = [s for s in defs.schedules or () if isinstance(s, ScheduleDefinition)]
    grace = timedelta(minutes=settings.freshness_grace_minutes)
    if not schedules:
        return defs
    if not upstream:
        return apply_schedule_freshness(defs, schedules, grace=grace)
    whole = Definitions(assets=[*upstream, *(defs.assets or ())], resources=defs.resources)
    fresh = apply_schedule_freshness(whole, schedules, grace=grace).assets or ()
    own = {key for asset in defs.assets or () for key in _keys_of(asset)}
    # `map_resolved_asset_specs` hands back resolved definitions: `AssetsDefinition`s only.
    mapped = [a for a in fresh if isinstance(a, AssetsDefinition | AssetSpec)]
    return replace_assets(defs, [a for a in mapped if _keys_of(a) <= own])


def _keys_of(asset: object) -> set[AssetKey]:
    """The assets a definition materializes or checks (a separate check definition has
    no asset of its own: it belongs where its checked asset does)."""
    if isinstance(asset, AssetSpec):
        return {asset.key}
    if isinstance(asset, AssetsDefinition):
        return set(asset.keys) | {check.asset_key for check in asset.check_keys}
    return set()


__all__ = ["build_dot_monitoring_definitions"]
