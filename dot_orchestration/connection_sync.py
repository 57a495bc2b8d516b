"""Warehouse syncs after dbt builds: one Dagster asset per Dot connection.

A Dot connection (a warehouse, Looker, dbt) must be re-synced right after the dbt models it
reads were rebuilt — never before, never after a failed build. Each connection becomes an
asset downstream of exactly those models, so Dagster's lineage, automation and retries
apply to it like to any other asset. All sync assets live in one subsettable multi-asset
whose step fans the calls out over a bounded thread pool: 200 connections cost one step
and roughly `200 / max_concurrency` round trips of wall time, whatever the executor.
"""

import operator
import re
import time
import warnings
from collections.abc import Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from functools import reduce

from dagster import (
    AssetCheckResult,
    AssetCheckSpec,
    AssetExecutionContext,
    AssetKey,
    AssetsDefinition,
    AssetSelection,
    AssetSpec,
    AutomationCondition,
    AutomationConditionSensorDefinition,
    DefaultScheduleStatus,
    DefaultSensorStatus,
    Failure,
    MaterializeResult,
    MetadataValue,
    ScheduleDefinition,
    define_asset_job,
    multi_asset,
)
from dagster_dbt import build_dbt_asset_selection
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from dot_orchestration._compat import NamespacedMetadataSet
from dot_orchestration.client import (
    CONNECTION_TYPES,
    DotClient,
    DotError,
    DotOutcomeUnknownError,
    SyncAccepted,
    connection_type_problem,
)
from dot_orchestration.resources import DotResource

_KEY_PART = re.compile(r"[^A-Za-z0-9_]")
#: The check each sync asset carries: did Dot accept this run's sync call?
SYNC_ACCEPTED_CHECK = "dot_sync_accepted"
#: Connection types that are no warehouse: Dot reads no tables through them.
NON_WAREHOUSE_TYPES: frozenset[str] = frozenset({"dbt", "looker"})


class DotConnection(BaseModel):
    """A Dot connection and the upstream assets whose rebuild should trigger its sync.

    Name the upstream either with a dbt selection (`dbt_select="tag:dot"`, resolved through
    dagster-dbt's own translator, so keys are exactly what `@dbt_assets` produced) or with
    explicit `asset_keys` (for non-dbt upstreams), or both.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    type: str = Field(description="Dot connection type, e.g. snowflake, bigquery, postgres.")
    id: str = Field(min_length=1, description="The connection's id in Dot.")
    dbt_select: str | None = Field(default=None, description="dbt selection string.")
    dbt_exclude: str | None = Field(default=None, description="dbt exclusion string.")
    asset_keys: tuple[str, ...] = Field(
        default=(), description="Explicit upstream asset keys, '/'-separated paths."
    )
    description: str | None = None
    owners: tuple[str, ...] = ()

    @field_validator("type")
    @classmethod
    def _known_type(cls, value: str) -> str:
        """Any type Dot's URL can carry (Dot's spec takes any string); a miscased known
        type is an error, an unknown one a warning, since Dot may have added it."""
        problem = connection_type_problem(value)
        if problem is not None:
            raise ValueError(problem)
        if value not in CONNECTION_TYPES:
            warnings.warn(
                f"Dot connection type {value!r} is not one this package knows "
                f"({', '.join(CONNECTION_TYPES)}); it is sent to Dot as given. If Dot "
                "answers 404 or 422, check the type in Dot's connection settings.",
                UserWarning,
                stacklevel=2,
            )
        return value

    @model_validator(mode="after")
    def _has_upstream(self) -> "DotConnection":
        if not self.dbt_select and not self.asset_keys:
            raise ValueError(
                f"connection {self.type}/{self.id} names no upstream: set `dbt_select` "
                "(e.g. 'tag:dot') or `asset_keys`, so Dot syncs only after they are rebuilt"
            )
        return self

    @property
    def label(self) -> str:
        """How the connection is named in messages: `type/id`, as in Dot's sync URL."""
        return f"{self.type}/{self.id}"


class DotConnectionMetadata(NamespacedMetadataSet):
    """Carried in each sync asset's spec, read back at execution: nothing else remembers ids."""

    connection_type: str | None = None
    connection_id: str | None = None

    @classmethod
    def namespace(cls) -> str:
        return "dot"


class DotSyncTranslator:
    """The seam for renaming keys, groups, owners and tags of the sync assets; subclass it."""

    def get_asset_key(self, connection: DotConnection) -> AssetKey:
        """`dot/sync/<type>/<id>`, with characters Dagster keys cannot hold replaced by `_`."""
        return AssetKey(["dot", "sync", connection.type, _KEY_PART.sub("_", connection.id)])

    def get_asset_spec(self, connection: DotConnection, deps: Sequence[AssetKey]) -> AssetSpec:
        """The spec Dagster shows for one connection's sync."""
        return AssetSpec(
            key=self.get_asset_key(connection),
            deps=deps,
            description=connection.description
            or (
                f"Tells Dot to re-sync its {connection.type} connection `{connection.id}` after "
                "the upstream models were rebuilt, so Dot answers from the new data. Dot only "
                f"says it accepted the sync (check `{SYNC_ACCEPTED_CHECK}`). On failure the "
                "check names Dot's status: 401/403 means the token expired or lost its role "
                "(renew DOT_API_KEY), 404 that the connection id is wrong in Dot. A timeout, "
                "a dropped connection or a 5xx leaves the outcome unknown: the request may "
                "have reached Dot, so it is never re-sent automatically; look at the "
                "connection in Dot and re-materialize the asset if it did not sync (dbt "
                "need not re-run)."
            ),
            group_name="dot",
            kinds={"dot", connection.type},
            owners=list(connection.owners),
            tags={"dot/operation": "sync"},
            metadata={
                **DotConnectionMetadata(
                    connection_type=connection.type, connection_id=connection.id
                )
            },
            automation_condition=sync_after_upstream_condition(),
        )


def sync_after_upstream_condition() -> AutomationCondition:
    """Run once after the upstream models updated, and only when that update was clean.

    Like `eager()`, but it also waits for the upstream's blocking checks (dbt tests of
    severity error) to pass and never fires while an upstream's latest execution failed.
    Updates made by a run that also targets the sync (the scheduled job) are ignored by
    `any_deps_updated`, so the job and the sensor never sync twice.
    """
    return (
        AutomationCondition.any_deps_updated().since_last_handled()
        & ~AutomationCondition.any_deps_missing()
        & ~AutomationCondition.any_deps_in_progress()
        & ~AutomationCondition.in_progress()
        & AutomationCondition.all_deps_blocking_checks_passed()
        & ~AutomationCondition.any_deps_match(AutomationCondition.execution_failed())
    ).with_label("sync_after_upstream")


def resolve_upstream_keys(
    connection: DotConnection, upstream: Sequence[AssetsDefinition]
) -> list[AssetKey]:
    """The asset keys a connection depends on, checked against the upstream definitions."""
    defined = {key for assets_def in upstream for key in assets_def.keys}
    keys: list[AssetKey] = []
    if connection.dbt_select:
        keys.extend(_resolve_dbt_selection(connection, upstream))
    for path in connection.asset_keys:
        key = AssetKey.from_user_string(path)
        if key not in defined:
            raise ValueError(
                f"Dot connection {connection.label}: asset key {path!r} is not defined; "
                "pass the assets that define it, or fix the key"
            )
        keys.append(key)
    return sorted(set(keys), key=lambda k: k.to_user_string())


def _resolve_dbt_selection(
    connection: DotConnection, upstream: Sequence[AssetsDefinition]
) -> list[AssetKey]:
    """Resolve each space-separated term alone, so one misspelt model is named, not hidden."""
    dbt_defs = [d for d in upstream if is_dbt_assets(d)]
    if not dbt_defs:
        raise ValueError(
            f"Dot connection {connection.label} uses dbt_select but no @dbt_assets definition "
            "was passed; pass it as `dbt_assets=`"
        )
    keys: set[AssetKey] = set()
    for term in (connection.dbt_select or "").split():
        selected: set[AssetKey] = set()
        for dbt_def in dbt_defs:
            selection = build_dbt_asset_selection(
                [dbt_def], dbt_select=term, dbt_exclude=connection.dbt_exclude
            )
            selected |= selection.resolve([dbt_def])
        if not selected:
            raise ValueError(
                f"Dot connection {connection.label}: dbt selection {term!r} matches no dbt "
                "model; check the model name or tag (`dbt ls --select ...`)"
            )
        keys |= selected
    return sorted(keys, key=lambda k: k.to_user_string())


def is_dbt_assets(assets_def: AssetsDefinition) -> bool:
    """Whether `assets_def` came from dagster-dbt (`@dbt_assets` or a dbt component):
    only those carry a manifest that a connection's `dbt_select` can be resolved against."""
    return any("dagster_dbt" in str(k) for k in assets_def.op.tags) or any(
        "dagster_dbt" in str(k) for md in assets_def.metadata_by_key.values() for k in md
    )


def build_dot_sync_assets(
    connections: Sequence[DotConnection],
    *,
    upstream: Sequence[AssetsDefinition],
    translator: DotSyncTranslator | None = None,
    name: str = "dot_connection_syncs",
) -> AssetsDefinition:
    """One subsettable multi-asset holding a sync asset per connection.

    Every configuration mistake (unknown type, unknown model, empty selection, duplicate
    connection) raises here, at definition load, naming the connection and the fix.
    """
    if not connections:
        raise ValueError("build_dot_sync_assets: no connections given")
    translator = translator or DotSyncTranslator()
    _refuse_duplicates(connections, translator)
    specs = [
        translator.get_asset_spec(conn, resolve_upstream_keys(conn, upstream))
        for conn in connections
    ]

    @multi_asset(
        name=name,
        specs=specs,
        check_specs=[sync_accepted_check_spec(spec.key) for spec in specs],
        can_subset=True,
        required_resource_keys={"dot"},
        pool="dot_api",
    )
    def _sync_connections(context: AssetExecutionContext) -> Iterator[MaterializeResult]:
        dot: DotResource = context.resources.dot
        yield from sync_selected_connections(context, dot)

    return _sync_connections


def _refuse_duplicates(connections: Sequence[DotConnection], translator: DotSyncTranslator) -> None:
    seen: dict[AssetKey, DotConnection] = {}
    for conn in connections:
        key = translator.get_asset_key(conn)
        if key in seen:
            raise ValueError(
                f"Dot connection {conn.label} is declared twice (or collides with "
                f"{seen[key].label} as asset {key.to_user_string()}); declare each connection "
                "once and list all its upstream models in one entry"
            )
        seen[key] = conn


def sync_accepted_check_spec(key: AssetKey) -> AssetCheckSpec:
    """The check a sync asset reports from its own step, so a refused sync shows on the asset."""
    return AssetCheckSpec(
        name=SYNC_ACCEPTED_CHECK,
        asset=key,
        description="Dot accepted this run's sync call (a 2xx, retries included). When it "
        "fails, its description holds Dot's answer; the asset's description says what to do.",
    )


def sync_selected_connections(
    context: AssetExecutionContext, dot: DotResource
) -> Iterator[MaterializeResult | AssetCheckResult]:
    """Sync the selected connections concurrently; report every failure, keep every success."""
    targets = _selected_connections(context)
    checked = {key.asset_key for key in context.selected_asset_check_keys}
    failures: dict[str, DotError] = {}
    with (
        dot.get_client() as client,
        ThreadPoolExecutor(
            max_workers=min(dot.max_concurrency, len(targets)) or 1,
            thread_name_prefix="dot-sync",
        ) as pool,
    ):
        futures = {
            pool.submit(_timed_sync, client, ctype, cid): (key, ctype, cid)
            for key, (ctype, cid) in targets.items()
        }
        for future in as_completed(futures):
            key, ctype, cid = futures[future]
            try:
                accepted, seconds = future.result()
            except DotError as error:
                failures[f"{ctype}/{cid}"] = error
                context.log.error(f"Dot sync of {ctype}/{cid} failed: {error}")
                if key in checked:
                    yield _refused_check(key, error)
                continue
            yield _materialization(key, accepted, seconds, checked=key in checked)
    if failures:
        raise _syncs_failed(failures, len(targets)) from failures[min(failures)]


def _syncs_failed(failures: Mapping[str, DotError], selected: int) -> Failure:
    """The step's Failure, naming every failed connection.

    The caller chains it to the first failure by label, so the exact Dot error class
    (`DotAuthError`, `DotServerError`, ...) reaches the step's error chain in the event
    log, where alerts and tests read it; a chain holds one error, so `error_class` gives
    every connection's. The texts are the errors' own, which never hold the token.
    """
    labels = sorted(failures)
    unknown = [c for c in labels if isinstance(failures[c], DotOutcomeUnknownError)]
    description = f"{len(failures)} of {selected} Dot syncs failed: " + ", ".join(labels)
    if unknown:
        description += (
            f". Outcome unknown for {', '.join(unknown)}: the sync request may have reached "
            "Dot, so it was not re-sent; check those connections in Dot and re-materialize "
            "only them if they did not sync (select their assets, or Re-execute > From asset "
            "failure: 'From failure' re-runs the whole step, syncs that succeeded included)."
        )
    return Failure(
        description=description,
        metadata={
            "failed_connections": MetadataValue.json({c: str(failures[c]) for c in labels}),
            "error_class": MetadataValue.json({c: type(failures[c]).__name__ for c in labels}),
            "outcome": MetadataValue.json({c: _outcome(failures[c]) for c in labels}),
        },
    )


def _outcome(error: DotError) -> str:
    """`unknown` when the sync may have reached Dot, `refused` when Dot or the client
    certainly did not carry it out."""
    return "unknown" if isinstance(error, DotOutcomeUnknownError) else "refused"


def _selected_connections(context: AssetExecutionContext) -> dict[AssetKey, tuple[str, str]]:
    every = connections_by_key(context.assets_def)
    return {key: every[key] for key in context.selected_asset_keys}


def _timed_sync(client: DotClient, ctype: str, cid: str) -> tuple[SyncAccepted, float]:
    started = time.monotonic()
    accepted = client.sync_connection(ctype, cid)
    return accepted, time.monotonic() - started


def _materialization(
    key: AssetKey, accepted: SyncAccepted, seconds: float, *, checked: bool
) -> MaterializeResult:
    """What Dot said, and nothing guessed: Dot documents no web page per connection, so
    no link is shown, and `dot_response` is whatever 2xx body Dot sent (often empty)."""
    duration = MetadataValue.float(round(seconds, 3))
    attempts = MetadataValue.int(accepted.attempts)
    check = AssetCheckResult(
        asset_key=key,
        check_name=SYNC_ACCEPTED_CHECK,
        passed=True,
        metadata={"attempts": attempts, "duration_s": duration},
    )
    return MaterializeResult(
        asset_key=key,
        metadata={
            "connection": f"{accepted.connection_type}/{accepted.connection_id}",
            "dot_response": MetadataValue.json(accepted.response or {}),
            "duration_s": duration,
            "attempts": attempts,
        },
        check_results=[check] if checked else None,
    )


def _refused_check(key: AssetKey, error: DotError) -> AssetCheckResult:
    outcome = _outcome(error)
    heading = (
        "Outcome unknown: the sync request may have reached Dot (not re-sent)"
        if outcome == "unknown"
        else "Dot did not accept the sync"
    )
    return AssetCheckResult(
        asset_key=key,
        check_name=SYNC_ACCEPTED_CHECK,
        passed=False,
        description=f"{heading}: {error}",
        metadata={
            "error": MetadataValue.text(str(error)),
            "error_class": MetadataValue.text(type(error).__name__),
            "outcome": MetadataValue.text(outcome),
        },
    )


def build_sync_automation_sensor(
    sync_assets: AssetsDefinition, name: str = "dot_sync_automation"
) -> AutomationConditionSensorDefinition:
    """Evaluates the sync assets' conditions; running by default so syncs follow builds."""
    return AutomationConditionSensorDefinition(
        name,
        target=AssetSelection.assets(sync_assets),
        default_status=DefaultSensorStatus.RUNNING,
        minimum_interval_seconds=30,
    )


def build_dbt_then_sync_schedule(
    dbt_assets: Sequence[AssetsDefinition],
    sync_assets: AssetsDefinition,
    *,
    cron_schedule: str = "0 5 * * *",
    timezone: str = "UTC",
    default_status: DefaultScheduleStatus = DefaultScheduleStatus.STOPPED,
    job_name: str = "dbt_build_then_dot_sync",
    dbt_exclude: str | None = None,
) -> ScheduleDefinition:
    """A nightly `dbt build → Dot syncs` job for teams who want one run a day.

    Safe beside the automation sensor: a run that targets the syncs too is not treated as
    an upstream update by `sync_after_upstream_condition`, so no connection syncs twice.
    `dbt_exclude` leaves models out of the nightly build (e.g. `tag:dot_usage`, built by the
    history export's own schedule once its tables exist).
    """
    dbt = (
        reduce(
            operator.or_,
            (build_dbt_asset_selection([d], dbt_exclude=dbt_exclude) for d in dbt_assets),
        )
        if dbt_exclude
        else AssetSelection.assets(*dbt_assets)
    )
    job = define_asset_job(
        job_name,
        selection=dbt | AssetSelection.assets(sync_assets),
        description="dbt build, then tell Dot to re-sync every connection that reads the models.",
    )
    return ScheduleDefinition(
        name=f"{job_name}_schedule",
        job=job,
        cron_schedule=cron_schedule,
        execution_timezone=timezone,
        default_status=default_status,
    )


def connections_by_key(
    sync_assets: AssetsDefinition,
) -> Mapping[AssetKey, tuple[str, str]]:
    """Asset key → (type, id), for checks and monitoring that need the Dot ids."""
    result: dict[AssetKey, tuple[str, str]] = {}
    for key, spec in sync_assets.specs_by_key.items():
        meta = DotConnectionMetadata.extract(spec.metadata)
        if meta.connection_type and meta.connection_id:
            result[key] = (meta.connection_type, meta.connection_id)
    return result


def tables_read_by_dot(sync_assets: AssetsDefinition) -> list[AssetKey]:
    """The upstream assets of warehouse connections: the tables Dot queries.

    A dbt or Looker connection's upstream is model metadata, not data Dot answers from,
    so a failing check there is no data issue on a Dot dashboard.
    """
    keys: set[AssetKey] = set()
    for key, (ctype, _) in connections_by_key(sync_assets).items():
        if ctype not in NON_WAREHOUSE_TYPES:
            keys.update(dep.asset_key for dep in sync_assets.specs_by_key[key].deps)
    return sorted(keys, key=AssetKey.to_user_string)


__all__ = [
    "NON_WAREHOUSE_TYPES",
    "SYNC_ACCEPTED_CHECK",
    "DotConnection",
    "DotConnectionMetadata",
    "DotSyncTranslator",
    "build_dbt_then_sync_schedule",
    "build_dot_sync_assets",
    "build_sync_automation_sensor",
    "connections_by_key",
    "is_dbt_assets",
    "resolve_upstream_keys",
    "sync_accepted_check_spec",
    "sync_after_upstream_condition",
    "tables_read_by_dot",
]
