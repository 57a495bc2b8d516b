"""The Dagster names this package needs that Dagster does not export publicly.

Private Dagster modules (`dagster._…`) may change in any patch release. Everything else in
the package imports Dagster's public API only; what has no public equivalent in every
release we support (dagster 1.13.20 to 1.13.x) lives here, each with why it is needed and
which public alternative was checked. `tests/compat/test_compat.py` pins the behaviour we
rely on, so a Dagster upgrade that changes one of them fails there first, by name.
"""

from collections.abc import Sequence

from dagster import AssetsDefinition, AssetSpec, Definitions
from dagster._core.definitions.assets.graph.asset_graph import AssetGraph
from dagster._core.definitions.metadata.metadata_set import NamespacedMetadataSet
from dagster._core.definitions.unresolved_asset_job_definition import UnresolvedAssetJobDefinition
from dagster._utils.schedules import get_smallest_cron_interval
from dagster_shared.yaml_utils.source_position import SourcePositionTree

# NamespacedMetadataSet: the base of our metadata classes (`dot/connection_id`, …): they are
# splatted into an asset's metadata and read back at execution time with `.extract()`.
# Checked: not among `dagster`'s top-level exports in 1.13.20 or 1.13.27, nor re-exported by
# an integration (dagster-dbt's own `DbtMetadataSet` imports it from this same private path).

# UnresolvedAssetJobDefinition: the type `define_asset_job` returns; we use it only in
# annotations of builders that take such a job. Checked: `dagster` exports `JobDefinition`
# (a different, resolved type) but no name for this one.

# get_smallest_cron_interval: a schedule's shortest gap between ticks (in its timezone, DST
# included), from which a schedule-derived freshness policy gets its window. Checked:
# `FreshnessPolicy.cron` is public but a different policy (a deadline per tick, not "one
# interval since the last update"); no public cron iterator exists, and croniter is not a
# dependency of Dagster 1.13.

# SourcePositionTree: the line map of a component's defs.yaml, which `DotComponent` hands to
# `ResolutionContext.default` so its errors name file and line. A YAML declaration
# (`context.component_decl.source_tree`) has one; a component built in Python or by
# Dagster's `component_defs` test helper has something else there, hence the isinstance.
# Checked: the public `ComponentLoadContext.resolution_context` does not carry the file's
# tree at `build_defs` time. Pinned by tests/components/test_yaml_errors.py (lines) and
# test_yaml_front.py (a component built from Python).

# AssetGraph.from_assets: the graph `AssetSelection.resolve` builds from a list of assets on
# every call (~0.3 s for 2,000 dbt models). The sync assets resolve each dbt term of each
# connection, so they build it once per load and hand it to `resolve`, which accepts a graph
# (`asset_graph_of`). Checked: `Definitions.resolve_asset_graph` is not marked public and
# builds the whole repository, which refuses dbt assets whose `dbt` resource is not there.

#: Run tags that make one run materialize a range of partitions (a single-run backfill).
#: Checked: `RunRequest` takes a `partition_key` but no range in 1.13.20-1.13.27; Dagster
#: reads a range from exactly these tags (`dagster._core.storage.tags`), the way its
#: maintainers give for a range run from a schedule (dagster-io/dagster discussion #11653).
#: Kept as strings, not imported: a run-tag contract stored with every run, the module not.
PARTITION_RANGE_START_TAG = "dagster/asset_partition_range_start"
PARTITION_RANGE_END_TAG = "dagster/asset_partition_range_end"


def replace_assets(
    defs: Definitions, assets: Sequence[AssetsDefinition | AssetSpec]
) -> Definitions:
    """`defs` with `assets` instead of its own, everything else kept.

    Replaces `dagster_shared.record.copy`, which `Definitions` (a Dagster record) is copied
    with inside Dagster. Checked: `Definitions` has no public copy method
    (`map_asset_specs` changes specs, not the definitions themselves), so it is rebuilt
    through its public constructor, field by field; the pinning test fails when Dagster
    adds a field this does not carry.
    """
    return Definitions(
        assets=assets,
        schedules=defs.schedules,
        sensors=defs.sensors,
        jobs=defs.jobs,
        resources=defs.resources,
        executor=defs.executor,
        loggers=defs.loggers,
        asset_checks=defs.asset_checks,
        metadata=defs.metadata,
        component_tree=defs.component_tree,
    )


def asset_graph_of(assets: Sequence[AssetsDefinition]) -> AssetGraph:
    """The asset graph `AssetSelection.resolve(assets)` would build, built once to resolve
    many selections against it."""
    return AssetGraph.from_assets(assets)


__all__ = [
    "PARTITION_RANGE_END_TAG",
    "PARTITION_RANGE_START_TAG",
    "AssetGraph",
    "NamespacedMetadataSet",
    "SourcePositionTree",
    "UnresolvedAssetJobDefinition",
    "asset_graph_of",
    "get_smallest_cron_interval",
    "replace_assets",
]
