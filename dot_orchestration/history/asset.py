"""The history asset and the IO manager that lands it.

One asset (default key `dot/history`) stands for two tables, `<schema>.conversations` and
`<schema>.messages`, partitioned by the day a conversation was created in the export's
time zone. A run, whether the daily schedule's single day or a single-run backfill of a
year, is one step:

1. **Fetch.** `fetch_days` (the Dagster-free core, `transforms.history_days`) calls
   `GET /api/export_history` once per day on a bounded thread pool
   (`DotResource.max_concurrency`), spools Dot's answers to local disk, then normalises
   them in batches of consecutive days (DuckDB maps them where it can) and spools each
   batch's rows as Arrow files.
2. **Land.** The asset returns the spooled `HistoryExport`; `DotHistoryIOManager` replaces
   each batch's days of both tables in one transaction, all batches on one connection.

Why it is exactly once:

* **Nothing is written unless every day of the run was fetched and normalised**, so a
  failure at Dot leaves the warehouse as it was. (A failure of the warehouse itself stops
  the writes at that batch: the days before it are replaced whole, the rest untouched.)
* **A write replaces, atomically.** A batch's rows of both tables are deleted and inserted
  in one transaction: a crash leaves the old days or the new days, and a re-run never
  duplicates rows.
* **An empty day is written only when Dot said so.** A `SpooledDay` exists only for an
  answer Dot sent and that parsed whole; an error, a malformed body or an unknown shape
  fails the run, so the only way to an empty partition is Dot's empty list.

One export covers the whole Dot org: Dot's chat history is shared across environments,
each conversation tagged with its environment (kept in the `environment` column), so the
export never sends `X-Dot-Environment`.
"""

from collections.abc import Mapping
from datetime import date
from typing import Any

from dagster import (
    AssetExecutionContext,
    AssetsDefinition,
    AssetSpec,
    BackfillPolicy,
    ConfigurableIOManager,
    Failure,
    InputContext,
    MetadataValue,
    OutputContext,
    ResourceDependency,
    TimeWindowPartitionsDefinition,
    multi_asset,
)

from dot_orchestration._compat import NamespacedMetadataSet
from dot_orchestration.history.settings import DotHistorySettings
from dot_orchestration.history.warehouses import IO_MANAGER_KEY, PartitionWarehouse
from dot_orchestration.resources import DotResource
from dot_orchestration.transforms.history import NormalisedHistory
from dot_orchestration.transforms.history_days import (
    PARTITION_COLUMN,
    DayExportError,
    DayRequest,
    HistoryExport,
    SpooledDay,
    fetch_days,
)


class DotHistoryMetadata(NamespacedMetadataSet):
    """Carried in the asset's spec (`dot/history_schema`, ...), read back by the IO manager:
    where the tables are, so nothing else has to remember it."""

    history_schema: str | None = None
    conversations_table: str | None = None
    messages_table: str | None = None
    include_all_workspaces: bool | None = None

    @classmethod
    def namespace(cls) -> str:
        return "dot"

    @classmethod
    def of(cls, settings: DotHistorySettings) -> "DotHistoryMetadata":
        return cls(
            history_schema=settings.schema_name,
            conversations_table=settings.conversations_table,
            messages_table=settings.messages_table,
            include_all_workspaces=settings.include_all_workspaces,
        )


class DotHistoryTranslator:
    """The seam for the history asset's key, group, owners, tags and description; subclass
    it and override `get_asset_spec`.

    The checks, freshness check and schedule follow the key it gives. The spec's `dot/...`
    metadata (where the tables are) is put back if an override drops it: the IO manager
    needs it.
    """

    def get_asset_spec(self, settings: DotHistorySettings) -> AssetSpec:
        tables = ", ".join(f"{settings.schema_name}.{table}" for table in settings.tables)
        return AssetSpec(
            key=settings.asset_key,
            group_name=settings.group_name,
            owners=list(settings.owners),
            kinds={"dot"},
            tags={"dot/operation": "history_export"},
            metadata={**DotHistoryMetadata.of(settings)},
            description=(
                f"Dot's conversation history in {tables}, one partition per day of "
                f"{settings.timezone} (a conversation's creation day). Each run fetches its "
                "days from Dot's export and replaces them atomically; re-running a day or "
                "backfilling a range is safe. On failure the run log names the day and Dot's "
                "answer and nothing of the run was written: 401/403 means DOT_API_KEY needs "
                "renewing, 5xx or a timeout that Dot is down, a shape error quotes what Dot "
                "sent; fix it and re-execute the same partitions."
            ),
        )


def history_spec(settings: DotHistorySettings, translator: DotHistoryTranslator) -> AssetSpec:
    """The translated spec, with the metadata the IO manager reads kept."""
    spec = translator.get_asset_spec(settings)
    return spec.merge_attributes(metadata={**DotHistoryMetadata.of(settings)})


def build_history_asset(
    settings: DotHistorySettings, spec: AssetSpec, name: str
) -> AssetsDefinition:
    """The daily-partitioned history asset at `spec`, its step called `name`; backfills of
    any range run as one step. `settings.key` must be `spec.key` (the definitions factory
    sees to it)."""
    partitions_def = settings.partitions_def()

    @multi_asset(
        name=name,
        specs=[spec.with_io_manager_key(IO_MANAGER_KEY)],
        partitions_def=partitions_def,
        backfill_policy=BackfillPolicy.single_run(),
        pool=settings.pool,
    )
    def _dot_history(context: AssetExecutionContext, dot: DotResource) -> HistoryExport:
        requests = day_requests(partitions_def, context.partition_keys)
        try:
            with dot.get_client(org_wide=True) as client:
                export = fetch_days(
                    client,
                    requests,
                    tz=settings.timezone,
                    include_all_workspaces=settings.include_all_workspaces,
                    max_concurrency=dot.max_concurrency,
                )
        except DayExportError as error:
            raise _failure(error) from error
        for day in export.days:
            context.add_asset_metadata(day_metadata(day), partition_key=day.request.partition_key)
        context.log.info(
            f"Fetched {len(export.days)} day(s) from Dot: "
            f"{sum(day.conversations for day in export.days)} conversations, "
            f"{sum(day.messages for day in export.days)} messages"
        )
        return export

    return _dot_history


def day_requests(
    partitions_def: TimeWindowPartitionsDefinition, partition_keys: list[str]
) -> list[DayRequest]:
    """One `DayRequest` per partition, from the partition's time window."""
    requests = []
    for key in partition_keys:
        window = partitions_def.time_window_for_partition_key(key)
        requests.append(DayRequest.for_window(key, window.start, window.end))
    return requests


def day_metadata(day: SpooledDay) -> dict[str, MetadataValue]:
    """Per-partition metadata: the counts are numbers, so the UI plots them by day."""
    return {
        "conversations": MetadataValue.int(day.conversations),
        "messages": MetadataValue.int(day.messages),
        "dot_request": MetadataValue.text(day.request.describe()),
    }


def _failure(error: DayExportError) -> Failure:
    """A day Dot failed (or answered unusably) as a Failure saying which day and why."""
    return Failure(
        description=str(error),
        metadata={
            "partition": error.request.partition_key,
            "dot_request": error.request.describe(),
            "error": MetadataValue.text(str(error.cause)),
        },
    )


class DotHistoryIOManager(ConfigurableIOManager):
    """Lands a `HistoryExport`: a batch of days' rows of both tables per transaction.

    Unlike a generic DataFrame IO manager it never deletes outside the transaction that
    inserts, it writes empty partitions only for days Dot answered with nothing (see the
    module docstring), and it writes a whole run on one connection. Loading gives the
    stored `NormalisedHistory` of the requested partitions (all of them for an
    unpartitioned consumer: mind the size).
    """

    warehouse: ResourceDependency[PartitionWarehouse]

    def handle_output(self, context: OutputContext, obj: HistoryExport) -> None:
        if not isinstance(obj, HistoryExport):
            raise TypeError(
                f"{IO_MANAGER_KEY} lands HistoryExport values, got {type(obj).__name__}"
            )
        schema, tables = _tables(context.definition_metadata)
        try:
            with self.warehouse.session() as session:
                inserted, deleted = obj.replace(session, schema=schema, tables=tables)
        finally:
            obj.close()
        context.log.info(
            f"Replaced {len(obj.days)} day(s) of {schema}.{{{','.join(tables)}}}: "
            f"{inserted} rows written, {deleted} previous rows replaced"
        )

    def load_input(self, context: InputContext) -> NormalisedHistory:
        upstream = context.upstream_output
        assert upstream is not None  # an input of an asset always has its upstream output
        schema, (conversations, messages) = _tables(upstream.definition_metadata)
        # DailyPartitionsDefinition's keys are ISO dates (the history asset sets no format)
        days = [date.fromisoformat(key) for key in context.asset_partition_keys]
        with self.warehouse.session(read_only=True) as session:
            frames = [
                session.read_partitions(
                    schema=schema,
                    table=table,
                    partition_column=PARTITION_COLUMN,
                    partition_values=days,
                )
                for table in (conversations, messages)
            ]
        return NormalisedHistory(conversations=frames[0], messages=frames[1])


def _tables(metadata: Mapping[str, Any]) -> tuple[str, tuple[str, str]]:
    """The schema and tables named in the asset's spec (`DotHistoryMetadata`)."""
    tables = DotHistoryMetadata.extract(metadata)
    if not (tables.history_schema and tables.conversations_table and tables.messages_table):
        raise ValueError(
            f"{IO_MANAGER_KEY} only lands assets built by build_dot_history_definitions "
            "(their spec names the tables)"
        )
    return tables.history_schema, (tables.conversations_table, tables.messages_table)


__all__ = ["DotHistoryIOManager", "DotHistoryMetadata", "DotHistoryTranslator"]
