"""A Dot history export in a process of its own, which can be told to freeze mid-write.

`history_definitions` wires the history asset like a deployment
(`build_dot_history_definitions`: the asset, its IO manager and the warehouse;
`DotResource` reading `DOT_BASE_URL`/`DOT_API_KEY`). The warehouses here (`HookedDuckDB`,
`HookedSnowflake`) call the write hook set by `write_hook` (`after_delete`, public) at each
table a transaction writes, its partitions deleted and nothing inserted yet: counting the
calls of a run tells how many tables its transactions wrote, and `start_frozen_export`
forks a writer process whose hook writes a marker file and sleeps at the N-th call, inside
the open transaction, so the parent can SIGKILL it at exactly that point.

The writer is forked from the test process, not started afresh: it needs what the test
has already imported (Dagster, the package, fakesnow), which a new interpreter spent most
of its life importing again. It opens its own warehouse connections, Dagster instance and
HTTP client, and leaves by `os._exit` or SIGKILL, never through the test's own exit path.

The warehouse is a DuckDB file, or the Snowflake writer on fakesnow, whose database files
live in a folder (`SNOWFLAKE`, `fakesnow_at`).
"""

from __future__ import annotations

import os
import time
import traceback
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
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


@contextmanager
def write_hook(hook: AfterDelete) -> Iterator[None]:
    """`hook` called by the hooked warehouses' writing sessions while the block runs."""
    global _hook
    saved, _hook = _hook, hook
    try:
        yield
    finally:
        _hook = saved


def freeze_at(insert_number: int, marker: Path) -> AfterDelete:
    """A write hook freezing at the `insert_number`-th table of the run, inside its
    transaction: the table's partitions deleted, none of its rows inserted."""
    count = 0

    def freeze(schema: str, table: str) -> None:
        nonlocal count
        count += 1
        if count == insert_number:
            marker.write_text(f'"{schema}"."{table}"', encoding="utf-8")
            time.sleep(_FROZEN_FOR_S)

    return freeze


class _Hooked(PartitionWarehouse):
    """A built-in warehouse whose writing sessions carry the module's write hook (set by
    `write_hook`; a resource's fields must be config, a function is not)."""

    @contextmanager
    def session(self, *, read_only: bool = False) -> Iterator[PartitionSession]:
        location = self.as_location()  # type: ignore[attr-defined]
        with location.session(read_only=read_only, after_delete=_hook) as session:
            yield session


class HookedDuckDB(_Hooked, DuckDBWarehouse):
    """The DuckDB warehouse, calling the write hook."""


class HookedSnowflake(_Hooked, SnowflakeWarehouse):
    """The Snowflake warehouse (on fakesnow), calling the write hook."""


_hook: AfterDelete | None = None


def start_frozen_export(
    warehouse: HookedDuckDB | HookedSnowflake,
    opened: AbstractContextManager[object],
    first: date,
    last: date,
    start_date: date,
    *,
    freeze_at_insert: int,
    marker: Path,
    errors: Path,
) -> int:
    """Fork the writer exporting `first`..`last` into `warehouse` (`opened`: what must be
    in place to reach it), frozen at insert `freeze_at_insert`; its pid. Should the export
    end instead, the writer exits 0 (or 1, its traceback in `errors`)."""
    pid = os.fork()
    if pid:
        return pid
    code = 1
    try:
        with opened, write_hook(freeze_at(freeze_at_insert, marker)):
            defs = history_definitions(start_date, warehouse)
            code = 0 if export_days(defs, DagsterInstance.ephemeral(), first, last).success else 1
    except BaseException:
        errors.write_text(traceback.format_exc(), encoding="utf-8")
    finally:
        os._exit(code)
