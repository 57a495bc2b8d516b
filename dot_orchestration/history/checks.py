"""The history tables' checks: the contract, no conversation twice, no closed day missing.

All three run in one step on one read-only connection, after every export. The first two
are blocking: a dbt model downstream in the same run is not built on tables failing them.
"""

from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any

from dagster import (
    AssetCheckExecutionContext,
    AssetCheckResult,
    AssetChecksDefinition,
    AssetCheckSeverity,
    AssetCheckSpec,
    DagsterInstance,
    MetadataValue,
    multi_asset_check,
)

from dot_orchestration._lazy import LazyModule
from dot_orchestration.history.settings import DotHistorySettings
from dot_orchestration.history.warehouses import PartitionWarehouse
from dot_orchestration.transforms.history import CONVERSATION_DTYPES, MESSAGE_DTYPES
from dot_orchestration.transforms.history_days import PARTITION_COLUMN
from dot_orchestration.warehouse import PartitionSession

if TYPE_CHECKING:
    import pandas as pd
else:  # imported on first use, not when definitions load (`_lazy`)
    pd = LazyModule("pandas", globals(), "pd")


def build_history_checks(settings: DotHistorySettings, name: str) -> AssetChecksDefinition:
    """The tables match the contract and hold no conversation twice (both blocking: a dbt
    model downstream in the same run is not built on tables that fail them), and no closed
    day is missing (a warning). One step, one read-only connection, after every export.
    """
    key = settings.asset_key
    specs = [
        AssetCheckSpec(
            "tables_match_contract",
            asset=key,
            blocking=True,
            description="Both tables have exactly the contract's columns and types.",
        ),
        AssetCheckSpec(
            "unique_conversation_ids",
            asset=key,
            blocking=True,
            description="No conversation in two rows (or two partitions), no message twice.",
        ),
        AssetCheckSpec(
            "every_closed_day_exported",
            asset=key,
            description="Every day from the start date to the last closed one has been "
            "exported; a warning lists the missing ones (backfill them).",
        ),
    ]

    @multi_asset_check(
        specs=specs,
        name=f"{name}_table_checks",
        pool=settings.pool,
    )
    def _table_checks(
        context: AssetCheckExecutionContext,
        dot_warehouse: PartitionWarehouse,  # the resource at `WAREHOUSE_KEY`
    ) -> Iterator[AssetCheckResult]:
        with dot_warehouse.session(read_only=True) as session:
            yield _contract_result(session, settings)
            yield _unique_result(session, settings)
        yield _complete_result(context.instance, settings)

    return _table_checks


def _complete_result(instance: DagsterInstance, settings: DotHistorySettings) -> AssetCheckResult:
    """Gaps in the history: closed days Dagster has no materialization of. A warning, not an
    error: a new deployment starts with today's days and backfills the past when it likes."""
    closed = settings.partitions_def().get_partition_keys()
    done = instance.get_materialized_partitions(settings.asset_key)
    missing = [day for day in closed if day not in done]
    metadata: dict[str, Any] = {
        "closed_days": MetadataValue.int(len(closed)),
        "missing_days": MetadataValue.int(len(missing)),
    }
    if not missing:
        return AssetCheckResult(
            check_name="every_closed_day_exported", passed=True, metadata=metadata
        )
    shown = ", ".join(missing[:5]) + (f" and {len(missing) - 5} more" if len(missing) > 5 else "")
    return AssetCheckResult(
        check_name="every_closed_day_exported",
        passed=False,
        severity=AssetCheckSeverity.WARN,
        metadata=metadata,
        description=f"{len(missing)} closed day(s) not exported: {shown}. Backfill them "
        "(Materialize → a partition range); one run fetches the range concurrently.",
    )


def _contract_result(session: PartitionSession, settings: DotHistorySettings) -> AssetCheckResult:
    conversations, messages = settings.tables
    contracts = ((conversations, CONVERSATION_DTYPES), (messages, MESSAGE_DTYPES))
    problems = {
        table: session.schema_problems(
            schema=settings.schema_name,
            table=table,
            frame=_empty_frame(dtypes),
            partition_column=PARTITION_COLUMN,
        )
        for table, dtypes in contracts
    }
    problems = {table: found for table, found in problems.items() if found}
    if not problems:
        return AssetCheckResult(check_name="tables_match_contract", passed=True)
    return AssetCheckResult(
        check_name="tables_match_contract",
        passed=False,
        metadata={"problems": MetadataValue.json(problems)},
        description="; ".join(f"{table}: {', '.join(found)}" for table, found in problems.items()),
    )


def _unique_result(session: PartitionSession, settings: DotHistorySettings) -> AssetCheckResult:
    conversations, messages = settings.tables
    duplicated = {
        table: session.duplicate_keys(schema=settings.schema_name, table=table, columns=columns)
        for table, columns in (
            (conversations, ["conversation_id"]),
            (messages, ["conversation_id", "message_index"]),
        )
    }
    metadata: dict[str, Any] = {
        f"duplicated_{table}": MetadataValue.int(found.count) for table, found in duplicated.items()
    }
    examples = {
        table: [{"key": list(map(str, key)), "rows": rows} for key, rows in found.examples]
        for table, found in duplicated.items()
        if found.count
    }
    if examples:
        metadata["examples"] = MetadataValue.json(examples)
    return AssetCheckResult(
        check_name="unique_conversation_ids",
        passed=not examples,
        metadata=metadata,
    )


def _empty_frame(dtypes: Mapping[str, str]) -> "pd.DataFrame":
    return pd.DataFrame({column: pd.Series(dtype=dtype) for column, dtype in dtypes.items()})
