"""The sync assets: one subsettable multi-asset holding an asset per Dot connection.

Each connection is an asset downstream of exactly the models it reads, so Dagster's
lineage, automation and retries apply to it like to any other asset. The step fans the
calls out over a bounded thread pool (`dot_orchestration.syncing`): 200 connections cost
one step and roughly `200 / max_concurrency` round trips of wall time, whatever the
executor.
"""

import time
from collections.abc import Iterator, Mapping, Sequence

from dagster import (
    AssetCheckEvaluation,
    AssetExecutionContext,
    AssetKey,
    AssetsDefinition,
    AssetSpec,
    Failure,
    MaterializeResult,
    multi_asset,
)

from dot_orchestration.client import DotError
from dot_orchestration.environments.deployment import (
    DeploymentEnvironment,
    deployment_environment,
)
from dot_orchestration.environments.lookup import (
    EnvironmentNotFoundError,
    client_in,
    find_environment,
)
from dot_orchestration.environments.metadata import DotEnvironmentMetadata, reply_json
from dot_orchestration.environments.settings import DotEnvironmentSettings
from dot_orchestration.resources import DotResource
from dot_orchestration.syncing import NON_WAREHOUSE_TYPES, sync_connections
from dot_orchestration.syncs.results import (
    DotSyncMetadata,
    accepted_sync,
    accepted_sync_checks,
    refused_sync_check,
    sync_accepted_check_spec,
    sync_timing,
    syncs_failed,
)
from dot_orchestration.syncs.settings import SyncSettings
from dot_orchestration.syncs.translator import (
    DotConnectionMetadata,
    DotSyncProps,
    DotSyncTranslator,
)
from dot_orchestration.syncs.upstream import UpstreamResolver

#: The op tag naming the environment asset the syncs depend on in a Dot environment: a
#: dependency for ordering, not a table Dot reads (`tables_read_by_dot` leaves it out).
_ENVIRONMENT_TAG = "dot/environment_asset"


def build_dot_sync_assets(
    settings: SyncSettings,
    *,
    upstream: Sequence[AssetsDefinition],
    translator: DotSyncTranslator | None = None,
    environment: DotEnvironmentSettings | None = None,
) -> AssetsDefinition:
    """The sync multi-asset of `settings.connections`, named `settings.name`, in
    `settings.pool`.

    With `environment` addressing a Dot environment in this deployment (not production),
    the step refreshes that environment from its dev target (`sync_target`) once instead
    of syncing the production connections, and each connection also depends on the
    environment asset, so it waits for the environment to exist and point at the target.

    Every configuration mistake (unknown model, empty selection, a key not among
    `upstream`, two connections at one asset key) raises here, at definition load, naming
    the connection and the fix (an upstream one as `UpstreamError`, naming its field).
    """
    translator = translator or DotSyncTranslator()
    resolver = UpstreamResolver(upstream)
    deployed = deployment_environment(environment) if environment is not None else None
    extra = (deployed.settings.asset_key,) if deployed is not None else ()
    specs = [
        translator.get_asset_spec(DotSyncProps(conn, (*resolver.keys(conn), *extra)))
        for conn in settings.connections
    ]
    _refuse_duplicates(specs)

    @multi_asset(
        name=settings.name,
        specs=specs,
        check_specs=[sync_accepted_check_spec(spec.key) for spec in specs],
        can_subset=True,
        pool=settings.pool,
        op_tags={_ENVIRONMENT_TAG: extra[0].to_user_string()} if extra else None,
    )
    def _sync_connections(
        context: AssetExecutionContext, dot: DotResource
    ) -> Iterator[MaterializeResult | AssetCheckEvaluation]:
        if deployed is not None:
            yield from sync_environment_target(context, dot, deployed)
        else:
            yield from sync_selected_connections(context, dot)

    return _sync_connections


def _refuse_duplicates(specs: Sequence[AssetSpec]) -> None:
    """Two connections at one asset key (declared twice, or ids a key cannot tell apart)."""
    seen: dict[AssetKey, str] = {}
    for spec in specs:
        label = _label(spec)
        if spec.key in seen:
            raise ValueError(
                f"Dot connection {label} is declared twice (or collides with "
                f"{seen[spec.key]} as asset {spec.key.to_user_string()}); declare each "
                "connection once and list all its upstream models in one entry"
            )
        seen[spec.key] = label


def _label(spec: AssetSpec) -> str:
    meta = DotConnectionMetadata.extract(spec.metadata)
    if not (meta.connection_type and meta.connection_id):
        raise ValueError(
            f"the sync translator's spec for {spec.key.to_user_string()} lost its "
            "DotConnectionMetadata: keep the base spec's metadata (`replace_attributes`)"
        )
    return f"{meta.connection_type}/{meta.connection_id}"


def sync_selected_connections(
    context: AssetExecutionContext, dot: DotResource
) -> Iterator[MaterializeResult | AssetCheckEvaluation]:
    """Sync the selected connections concurrently; report every failure, keep every success.

    A selected check is evaluated as its call ends when the call failed, and with the
    others once every call ended when it passed (`accepted_sync_checks`)."""
    every = connections_by_key(context.assets_def)
    targets = {key: every[key] for key in context.selected_asset_keys}
    checked = {key.asset_key for key in context.selected_asset_check_keys}
    failures: dict[str, DotError] = {}
    passed: dict[AssetKey, DotSyncMetadata] = {}
    with dot.get_client() as client:
        for result in sync_connections(client, targets, max_concurrency=dot.max_concurrency):
            if result.error is not None:
                failures[result.label] = result.error
                context.log.error(f"Dot sync of {result.label} failed: {result.error}")
                if result.target in checked:
                    yield refused_sync_check(result.target, result.error)
            elif result.accepted is not None:
                yield accepted_sync(result.target, result.accepted, result.seconds)
                if result.target in checked:
                    passed[result.target] = sync_timing(result.accepted, result.seconds)
    yield from accepted_sync_checks(context.instance, context.run.run_id, passed)
    if failures:
        raise syncs_failed(failures, len(targets)) from failures[min(failures)]


def sync_environment_target(
    context: AssetExecutionContext, dot: DotResource, environment: DeploymentEnvironment
) -> Iterator[MaterializeResult | AssetCheckEvaluation]:
    """One `sync_target` of the deployment's environment stands for every selected
    connection: Dot refreshes the environment's documentation from its dev target, and no
    production connection is synced. Never creates the environment (its asset does)."""
    selected = sorted(context.selected_asset_keys, key=AssetKey.to_user_string)
    checked = {key.asset_key for key in context.selected_asset_check_keys}
    try:
        with client_in(dot, None) as client:
            environment_id = find_environment(client, environment)
    except EnvironmentNotFoundError as missing:
        raise Failure(f"Dot sync_target not sent: {missing}") from missing
    label = f"environment {environment.label}"
    started = time.monotonic()
    try:
        with client_in(dot, environment_id) as client:
            reply = client.sync_environment_target(environment_id)
    except DotError as error:
        context.log.error(f"Dot sync_target of {label} failed: {error}")
        yield from (refused_sync_check(key, error) for key in selected if key in checked)
        raise syncs_failed({label: error}, 1) from error
    timing = DotSyncMetadata(sync_duration_s=round(time.monotonic() - started, 3))
    metadata = {
        **DotEnvironmentMetadata(
            environment_id=environment_id,
            environment_name=environment.name,
            environment_response=reply_json(reply),
        ),
        **timing,
    }
    for key in selected:
        yield MaterializeResult(asset_key=key, metadata=metadata)
    timings = {key: timing for key in selected if key in checked}
    yield from accepted_sync_checks(context.instance, context.run.run_id, timings)


def connections_by_key(sync_assets: AssetsDefinition) -> Mapping[AssetKey, tuple[str, str]]:
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
    environment = sync_assets.op.tags.get(_ENVIRONMENT_TAG) if sync_assets.is_executable else None
    if environment:
        keys.discard(AssetKey.from_user_string(environment))
    return sorted(keys, key=AssetKey.to_user_string)


__all__ = [
    "build_dot_sync_assets",
    "connections_by_key",
    "sync_environment_target",
    "sync_selected_connections",
    "tables_read_by_dot",
]
