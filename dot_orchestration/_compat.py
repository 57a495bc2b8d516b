"""The Dagster names this package needs that Dagster does not export publicly.

Private Dagster modules (`dagster._…`) may change in any patch release. Everything else in
the package imports Dagster's public API only; what has no public equivalent in every
release we support (dagster 1.13.20 to 1.13.x) lives here, each with why it is needed and
which public alternative was checked. `tests/compat/test_compat.py` pins the behaviour we
rely on, so a Dagster upgrade that changes one of them fails there first, by name.

dagster-dbt's names are imported inside the functions that use them, never at module
level: most of the package imports this module, and `import dagster_dbt` imports dbt-core
(~2.7 s of CPU, twice what `import dagster` costs). A code location without dbt, and each
run and step worker of one, would pay that for nothing; these functions are only called
with a dagster-dbt definition in hand, when dagster-dbt is already imported.
"""

from collections.abc import Mapping, Sequence
from typing import Any

from dagster import AssetsDefinition, AssetSelection, AssetSpec, Definitions
from dagster._core.definitions.asset_checks.asset_check_evaluation import (
    AssetCheckEvaluationTargetMaterializationData,
)
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

# get_manifest_and_translator_from_dbt_assets, DAGSTER_DBT_UNIQUE_ID_METADATA_KEY: the
# manifest a dagster-dbt definition was built from, and the dbt node each of its asset
# specs stands for. dagster-dbt's public selection (`build_dbt_asset_selection`,
# `DbtManifestAssetSelection`) rebuilds dbt's Manifest and selection graph on every
# `resolve` and scans every node per term (0.1-0.2 s a call at 2,000 models); a code
# location with 50 connections resolves ~100 terms at each load, so the sync assets index
# the manifest once (`dot_orchestration.syncs.dbt_terms`). Checked: dagster-dbt exports
# `get_asset_key_for_model` (a scan of the manifest per call, by name only) but neither
# the manifest nor the key of a node; `build_dbt_asset_selection` reads the manifest
# through this same function, and every dbt asset spec carries the unique id under this
# key (also shown in the UI). Pinned by tests/sync/test_dbt_terms.py.

# select_unique_ids, get_asset_check_key_for_test: the dbt nodes a dbt selection selects
# (dbt's own selector over the manifest), and the asset check a selected dbt test is.
# The nightly job leaves out what `dbt_exclude` selects, models and tests. The public
# `DbtManifestAssetSelection` runs dbt's selector twice each time the job is resolved
# (once for the assets, once for the checks: ~0.1 s of CPU at 2,000 models), and every
# load, run and step worker resolves the job; `dbt_selection_of` runs it once, at build,
# and names the result as keys. Checked: dagster-dbt exports neither function; its
# `DbtManifestAssetSelection` calls exactly these two with the manifest, translator and
# project read above. Pinned by tests/sync/test_dbt_terms.py (the same keys and checks
# as `DbtManifestAssetSelection`).

# AssetCheckEvaluationTargetMaterializationData: the materialization a check evaluation is
# about, which the UI links the check to. The sync step yields its checks as (public)
# `AssetCheckEvaluation`s instead of `AssetCheckResult`s, which Dagster resolves with one
# event-log query per check and a pass over every output of the step (a third of a
# 200-connection run's CPU); the step looks the materializations up in one
# `get_asset_records` query and names each here. Checked: `dagster` exports
# `AssetCheckEvaluation` but not this class (1.13.20, 1.13.27). Pinned by
# tests/sync/test_sync_events.py.

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


def dbt_manifest_of(dbt_assets: AssetsDefinition) -> Mapping[str, Any]:
    """The manifest (as JSON) a dagster-dbt definition was built from."""
    from dagster_dbt.asset_utils import get_manifest_and_translator_from_dbt_assets

    manifest, _, _ = get_manifest_and_translator_from_dbt_assets([dbt_assets])
    return manifest


def dbt_selection_of(dbt_assets: AssetsDefinition, select: str) -> AssetSelection:
    """The assets of a dagster-dbt definition that dbt's `select` selects in its manifest,
    with the checks of the tests dbt selects with them, resolved now (what
    `DbtManifestAssetSelection` resolves at each resolve of a job)."""
    from dagster_dbt.asset_utils import (
        get_asset_check_key_for_test,
        get_manifest_and_translator_from_dbt_assets,
    )
    from dagster_dbt.utils import select_unique_ids

    manifest, translator, project = get_manifest_and_translator_from_dbt_assets([dbt_assets])
    unique_ids = select_unique_ids(
        select=select, exclude="", selector="", project=project, manifest_json=manifest
    )
    keys = [
        key for key, spec in dbt_assets.specs_by_key.items() if dbt_unique_id_of(spec) in unique_ids
    ]
    tests = {
        get_asset_check_key_for_test(manifest, translator, unique_id, project)
        for unique_id in unique_ids
    }
    # Only the definition's own checks: dbt also names source tests no definition holds.
    checks = [check for check in dbt_assets.check_keys if check in tests]
    return AssetSelection.assets(*keys).without_checks() | AssetSelection.checks(*checks)


def dbt_unique_id_of(spec: AssetSpec) -> str | None:
    """The unique id of the dbt node a dagster-dbt asset spec stands for (None elsewhere)."""
    from dagster_dbt.asset_utils import DAGSTER_DBT_UNIQUE_ID_METADATA_KEY

    unique_id = spec.metadata.get(DAGSTER_DBT_UNIQUE_ID_METADATA_KEY)
    return unique_id if isinstance(unique_id, str) else None


__all__ = [
    "PARTITION_RANGE_END_TAG",
    "PARTITION_RANGE_START_TAG",
    "AssetCheckEvaluationTargetMaterializationData",
    "AssetGraph",
    "NamespacedMetadataSet",
    "SourcePositionTree",
    "UnresolvedAssetJobDefinition",
    "asset_graph_of",
    "dbt_manifest_of",
    "dbt_selection_of",
    "dbt_unique_id_of",
    "get_smallest_cron_interval",
    "replace_assets",
]
