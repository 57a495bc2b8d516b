"""An environment's warehouse targets read from the dbt target the deployment builds into.

A branch deployment (or a local `dagster dev` on a dev target) builds its dbt models into
a dev schema; Dot's environment should read that schema, not production's. dagster-dbt has
already loaded the manifest the deployment's dbt parsed with its own profile target, and
each model's node there names the `database` and `schema` it is built into (custom schemas
and `generate_schema_name` applied), so the targets come from those nodes, not from the
profile (whose rendering would need dbt's internals).
"""

from collections.abc import Iterable, Sequence
from typing import Any

from dagster import AssetKey, AssetsDefinition

from dot_orchestration._compat import dbt_manifest_of, dbt_unique_id_of
from dot_orchestration.environments.settings import DotEnvironmentSettings
from dot_orchestration.syncing import DotConnection
from dot_orchestration.syncs.upstream import UpstreamResolver, dbt_assets_of

#: Dot's names of a target's two levels where they are not `database` and `schema` (its
#: docs: "for Snowflake: database/schema, for BigQuery: project/dataset").
_TARGET_FIELDS = {"bigquery": ("project", "dataset")}
#: A dbt connection documents the project's metadata; queries never run through it, so
#: it has no warehouse target of its own.
_NO_WAREHOUSE = frozenset({"dbt"})


def with_dbt_targets(
    settings: DotEnvironmentSettings,
    connections: Iterable[DotConnection],
    dbt_assets: Sequence[AssetsDefinition],
) -> DotEnvironmentSettings:
    """`settings` whose targets add, for each warehouse connection reading dbt models
    (`dbt_select`), the database and schema those models are built into, read from the
    manifest of `dbt_assets` (the `@dbt_assets` of this deployment's dbt target).

    A connection the settings' `targets` name keeps those (the override). `ValueError`
    at load when a connection's models are built into more than one schema: Dot reads
    one per connection, so name it in `targets`.
    """
    resolver = UpstreamResolver(dbt_assets_of(list(dbt_assets)))
    nodes = _model_nodes(dbt_assets)
    derived: dict[str, dict[str, str]] = {}
    for connection in connections:
        if (
            not connection.dbt_select
            or connection.type in _NO_WAREHOUSE
            or connection.id in settings.targets
        ):
            continue
        target = _target(connection, [nodes[key] for key in resolver.dbt_keys(connection)])
        if derived.setdefault(connection.id, target) != target:
            raise ValueError(
                f"Dot connection id {connection.id!r} reads dbt models in "
                f"{derived[connection.id]} and in {target}: set its target in `targets`"
            )
    fields = settings.model_dump()
    return DotEnvironmentSettings(**{**fields, "targets": {**derived, **settings.targets}})


def _model_nodes(dbt_assets: Sequence[AssetsDefinition]) -> dict[AssetKey, dict[str, Any]]:
    """Each dbt asset's manifest node, by asset key."""
    nodes: dict[AssetKey, dict[str, Any]] = {}
    for dbt_def in dbt_assets_of(list(dbt_assets)):
        manifest = dbt_manifest_of(dbt_def)
        for key, spec in dbt_def.specs_by_key.items():
            unique_id = dbt_unique_id_of(spec)
            if unique_id is not None and unique_id in manifest["nodes"]:
                nodes[key] = manifest["nodes"][unique_id]
    return nodes


def _target(connection: DotConnection, nodes: list[dict[str, Any]]) -> dict[str, str]:
    """The one database and schema `nodes` are built into, under Dot's field names."""
    relations = sorted({(str(node["database"]), str(node["schema"])) for node in nodes})
    if len(relations) != 1:
        built = ", ".join(f"{database}.{schema}" for database, schema in relations)
        raise ValueError(
            f"Dot connection {connection.label} reads dbt models built into {built}: Dot "
            "reads one schema per connection, so set its target in the environment's "
            f"`targets` ({connection.id}: {{schema: ...}})"
        )
    [(database, schema)] = relations
    database_field, schema_field = _TARGET_FIELDS.get(connection.type, ("database", "schema"))
    return {database_field: database, schema_field: schema}


__all__ = ["with_dbt_targets"]
