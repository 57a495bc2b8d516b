"""A Dot history export as its own process, which can be told to freeze mid-write.

`history_definitions` wires the history asset like a deployment
(`build_dot_history_definitions`: the asset, its IO manager and the warehouse;
`DotResource` reading `DOT_BASE_URL`/`DOT_API_KEY`). Run as a script, it exports a range
of days in one Dagster run; with `--freeze-at N` the warehouse's write hook
(`after_delete`, public) writes a marker file and sleeps at the N-th table of the run (two
per day: conversations, then messages), its partition deleted and nothing inserted yet,
inside the open transaction, so the parent can SIGKILL it at exactly that point.

The warehouse is a DuckDB file, or with `--snowflake` the Snowflake writer on fakesnow,
whose database files live in the folder DB (`SNOWFLAKE`, `fakesnow_at`).

    python _killable_export.py DB FIRST_DAY LAST_DAY START_DATE [--snowflake]
        [--freeze-at N MARKER]
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from datetime import date
from pathlib import Path

import fakesnow
from dagster import (
    AssetSelection,
    DagsterInstance,
    Definitions,
    EnvVar,
    ExecuteInProcessResult,
    define_asset_job,
)

from dot_orchestration.history import (
    DotHistorySettings,
    DuckDBWarehouse,
    PartitionWarehouse,
    SnowflakeWarehouse,
    build_dot_history_definitions,
)
from dot_orchestration.resources import DotResource
from dot_orchestration.warehouse import AfterDelete, PartitionSession

EXPORT_JOB = "export"
#: Bounded: the parent kills the frozen writer within seconds; this only ends an orphan.
_FROZEN_FOR_S = 120


#: Any account: fakesnow answers every connection, from the folder it was given.
SNOWFLAKE = {"account": "test", "user": "test", "password": "test", "database": "dot"}


def fakesnow_at(folder: Path) -> AbstractContextManager[object]:
    """fakesnow answering Snowflake connections from the database files in `folder`."""
    folder.mkdir(exist_ok=True)
    return fakesnow.patch(db_path=folder)


def history_definitions(
    start_date: date, warehouse: DuckDBWarehouse | SnowflakeWarehouse
) -> Definitions:
    """The history export into `warehouse`, partitions from `start_date`, Dot from the
    environment."""
    field = "snowflake" if isinstance(warehouse, SnowflakeWarehouse) else "warehouse"
    settings = DotHistorySettings(start_date=start_date, **{field: warehouse})
    dot = DotResource(api_token=EnvVar("DOT_API_KEY"), base_url=EnvVar("DOT_BASE_URL"))
    return Definitions.merge(
        build_dot_history_definitions(settings),
        Definitions(
            jobs=[define_asset_job(EXPORT_JOB, selection=AssetSelection.assets(settings.key))],
            resources={"dot": dot},
        ),
    )


def partition_range(first: date, last: date) -> dict[str, str]:
    """The tags of one run over days `first`..`last` (a single-run backfill, as the UI
    launches it); also what a partitioned `_pipeline.PipelineStep` carries."""
    return {
        "dagster/asset_partition_range_start": first.isoformat(),
        "dagster/asset_partition_range_end": last.isoformat(),
    }


def export_days(
    defs: Definitions, instance: DagsterInstance, first: date, last: date
) -> ExecuteInProcessResult:
    """One run exporting `first`..`last`."""
    return defs.resolve_job_def(EXPORT_JOB).execute_in_process(
        instance=instance, tags=partition_range(first, last), raise_on_error=False
    )


def freeze_at(insert_number: int, marker: Path) -> AfterDelete:
    """A write hook freezing at the `insert_number`-th table of the run, inside its
    transaction: the table's partition deleted, none of its rows inserted."""
    count = 0

    def freeze(schema: str, table: str) -> None:
        nonlocal count
        count += 1
        if count == insert_number:
            marker.write_text(f'"{schema}"."{table}"', encoding="utf-8")
            time.sleep(_FROZEN_FOR_S)

    return freeze


class _Freezing(PartitionWarehouse):
    """A built-in warehouse whose writing sessions carry the module's freeze hook (set by
    `main`; a resource's fields must be config, a function is not)."""

    @contextmanager
    def session(self, *, read_only: bool = False) -> Iterator[PartitionSession]:
        location = self.as_location()  # type: ignore[attr-defined]
        with location.session(read_only=read_only, after_delete=_hook) as session:
            yield session


class FreezingDuckDB(_Freezing, DuckDBWarehouse):
    """The DuckDB warehouse, frozen at the hook."""


class FreezingSnowflake(_Freezing, SnowflakeWarehouse):
    """The Snowflake warehouse (on fakesnow), frozen at the hook."""


_hook: AfterDelete | None = None


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("db", type=Path)
    parser.add_argument("first", type=date.fromisoformat)
    parser.add_argument("last", type=date.fromisoformat)
    parser.add_argument("start_date", type=date.fromisoformat)
    parser.add_argument("--snowflake", action="store_true")
    parser.add_argument("--freeze-at", nargs=2, metavar=("N", "MARKER"), required=True)
    args = parser.parse_args()
    global _hook
    _hook = freeze_at(int(args.freeze_at[0]), Path(args.freeze_at[1]))
    if args.snowflake:
        warehouse: DuckDBWarehouse | SnowflakeWarehouse = FreezingSnowflake(**SNOWFLAKE)
        patch = fakesnow_at(args.db)
    else:
        warehouse, patch = FreezingDuckDB(path=str(args.db)), nullcontext()
    with patch:
        defs = history_definitions(args.start_date, warehouse)
        result = export_days(defs, DagsterInstance.ephemeral(), args.first, args.last)
    return 0 if result.success else 1


if __name__ == "__main__":
    raise SystemExit(main())
