"""Helpers of the history tests: an export wired like the example, a stub Dot."""

import json
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd
from dagster import (
    AssetChecksDefinition,
    AssetKey,
    AssetsDefinition,
    AssetSelection,
    DagsterInstance,
    Definitions,
    ExecuteInProcessResult,
    define_asset_job,
)

from dot_orchestration.emulator import ADMIN_TOKEN, EmulatorServer
from dot_orchestration.history import (
    DotHistorySettings,
    DuckDBWarehouse,
    build_dot_history_definitions,
)
from dot_orchestration.resources import DotResource

FIRST_DAY = date(2025, 3, 1)
HISTORY_END = date(2025, 3, 13)  # exclusive: history on 2025-03-01 .. 2025-03-12
EXPORT_ROUTE = "/api/export_history"
DBT_VARS = {"dot_usage_enabled": True}  # models/dot_usage/ is parsed and built


@dataclass
class Export:
    """One history export on a DuckDB file, run through real Dagster runs."""

    settings: DotHistorySettings
    history: AssetsDefinition
    defs: Definitions
    db: Path
    instance: DagsterInstance

    @property
    def key(self) -> AssetKey:
        return self.settings.asset_key

    @property
    def node(self) -> str:
        """The step's name, for `failure_data_for_node`."""
        return self.history.node_def.name

    def check(self) -> ExecuteInProcessResult:
        """Run the asset's checks alone (no export)."""
        return self.defs.resolve_job_def("checks").execute_in_process(
            instance=self.instance, raise_on_error=False
        )

    def run(self, first: str, last: str | None = None) -> ExecuteInProcessResult:
        """Materialize partitions `first`..`last` in one run (a single-run backfill)."""
        return self.defs.resolve_job_def("export").execute_in_process(
            instance=self.instance,
            tags={
                "dagster/asset_partition_range_start": first,
                "dagster/asset_partition_range_end": last or first,
            },
            raise_on_error=False,
        )

    def table(self, name: str) -> pd.DataFrame:
        with duckdb.connect(str(self.db), read_only=True) as conn:
            return conn.execute(
                f"SELECT * FROM {self.settings.schema_name}.{name} ORDER BY partition_date, rowid"
            ).df()

    def counts(self, name: str) -> dict[date, int]:
        frame = self.table(name)
        return {day.date(): count for day, count in frame.groupby("partition_date").size().items()}


def build_export(
    settings: DotHistorySettings,
    base_url: str,
    db: Path,
    instance: DagsterInstance,
    *,
    extra_assets: Sequence[AssetsDefinition] = (),
    extra_checks: Sequence[AssetChecksDefinition] = (),
    **dot_options: Any,
) -> Export:
    """The export of `settings` into `db`, as `build_dot_history_definitions` wires it, plus
    an `export` job (the asset) and a `checks` job (its checks alone). A DuckDB warehouse
    already on `db` is kept (a test's own subclass of it, say)."""
    warehouse = settings.warehouse
    if warehouse is None or Path(warehouse.path) != db:
        settings = settings.model_copy(update={"warehouse": DuckDBWarehouse(path=str(db))})
    built = build_dot_history_definitions(settings)
    (history,) = [a for a in built.assets or () if isinstance(a, AssetsDefinition)]
    jobs = [
        define_asset_job("export", selection=AssetSelection.assets(history)),
        define_asset_job("checks", selection=AssetSelection.checks_for_assets(history)),
    ]
    dot = DotResource(
        api_token=ADMIN_TOKEN,
        base_url=base_url,
        max_attempts=2,
        initial_backoff_s=0.01,
        **dot_options,
    )
    defs = Definitions.merge(
        built,
        Definitions(
            assets=list(extra_assets),
            asset_checks=list(extra_checks),
            jobs=jobs,
            resources={"dot": dot},
        ),
    )
    return Export(settings, history, defs, db, instance)


def journal(server: EmulatorServer) -> list[dict[str, Any]]:
    """The emulator's export_history requests, oldest first."""
    return [e for e in server.state.journal.entries() if e["path"] == EXPORT_ROUTE]


def export_records(server: EmulatorServer, day: date, *, days: int = 1) -> list[dict[str, Any]]:
    """What the emulator's export answers for `day` (and the following days)."""
    chats = server.state.conversations(
        day, day + timedelta(days=days), workspace=server.state.default_workspace
    )
    return [chat.export_record() for batch in chats for chat in batch]


@dataclass
class StubDot:
    """A fake Dot whose `export_history` answers come from `answer(start_date, end_date)`."""

    url: str = ""
    answer: Callable[[date, date], object] = lambda start, end: []
    delay_s: float = 0.0
    requests: list[tuple[date, date]] = field(default_factory=list)
    in_flight: int = 0
    max_in_flight: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def respond(self, query: dict[str, list[str]]) -> bytes:
        start, end = (date.fromisoformat(query[name][0]) for name in ("start_date", "end_date"))
        with self.lock:
            self.requests.append((start, end))
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            threading.Event().wait(self.delay_s)
            return json.dumps(self.answer(start, end)).encode()
        finally:
            with self.lock:
                self.in_flight -= 1
