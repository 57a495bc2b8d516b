"""Real SQLite Dagster instances, cheap to make and to run jobs on.

An instance here is Dagster's own SQLite run and event storage on files under its home,
with four changes to what `instance_for_test` would make, each for time:

* One events database (`ConsolidatedSqliteEventLogStorage`, which a deployment sets in
  `dagster.yaml` the same way) instead of one per run, each stamped with alembic; runs,
  events and asset history read the same either way.
* One SQLAlchemy engine per storage, its connections pooled. Dagster's SQLite storages
  build a new engine for every connection, that is for every event a run stores, and with
  it an empty statement cache (each statement is compiled again) and a new SQLite
  connection. That was about two thirds of the CPU of a materialization.
* No capture of a run's stdout and stderr (`NoOpComputeLogManager`, a `compute_logs:`
  setting): Dagster's local capture starts two `tail` processes and two Python watchers for
  every run, about 0.1 s of CPU and more of wall time. No test that uses these instances
  reads captured output; the token-leak tests, which scan it, make instances of their own.
* A new instance starts as a copy of the databases of a migrated template (one per
  session and worker) instead of creating and stamping every schema again (a third of a
  second each).
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator, Mapping
from contextlib import AbstractContextManager, contextmanager
from functools import cached_property
from pathlib import Path
from typing import Any

from dagster import DagsterInstance, instance_for_test
from dagster._core.storage.event_log import ConsolidatedSqliteEventLogStorage
from dagster._core.storage.runs import SqliteRunStorage
from dagster._core.storage.sqlite import SQLITE_BUSY_TIMEOUT_SECONDS
from dagster._serdes import ConfigurableClassData
from sqlalchemy import Connection, Engine, create_engine

#: The file `instance_for_test` writes itself; the template's copy is not reused.
INSTANCE_CONFIG = "dagster.yaml"


class _OneEngine:
    """One engine per storage; its connections are pooled (SQLAlchemy's default for a
    SQLite file): kept open and reused, closed with the storage."""

    _conn_string: str

    @cached_property
    def engine(self) -> Engine:
        return create_engine(
            self._conn_string, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_SECONDS}
        )

    @contextmanager
    def transaction(self) -> Iterator[Connection]:
        with self.engine.connect() as conn, conn.begin():
            yield conn

    def close_connections(self) -> None:
        if "engine" in vars(self):
            self.engine.dispose()


class OneEngineEventLogStorage(_OneEngine, ConsolidatedSqliteEventLogStorage):
    """`ConsolidatedSqliteEventLogStorage` on one engine."""

    def run_connection(self, run_id: str | None) -> AbstractContextManager[Connection]:
        return self.transaction()

    def index_connection(self) -> AbstractContextManager[Connection]:
        return self.transaction()

    def dispose(self) -> None:
        super().dispose()
        self.close_connections()


class OneEngineRunStorage(_OneEngine, SqliteRunStorage):
    """`SqliteRunStorage` on one engine."""

    @classmethod
    def from_config_value(  # type: ignore[override]
        cls, inst_data: ConfigurableClassData | None, config_value: Mapping[str, Any]
    ) -> OneEngineRunStorage:
        return cls.from_local(inst_data=inst_data, **config_value)

    def connect(self) -> AbstractContextManager[Connection]:
        return self.transaction()

    def dispose(self) -> None:
        super().dispose()
        self.close_connections()


def consolidated_events(home: Path) -> dict[str, Any]:
    """The `event_log_storage:` setting keeping every run's events in one database under
    `home`, with Dagster's own class (for instances other processes load too)."""
    return {
        "event_log_storage": {
            "module": "dagster.core.storage.event_log",
            "class": "ConsolidatedSqliteEventLogStorage",
            "config": {"base_dir": str(home / "events")},
        }
    }


def _settings(home: Path) -> dict[str, Any]:
    """The instance settings: the one-engine storages under `home`, no log capture."""

    def storage(cls: type, folder: str) -> dict[str, Any]:
        return {"module": cls.__module__, "class": cls.__name__, "config": {"base_dir": folder}}

    return {
        "event_log_storage": storage(OneEngineEventLogStorage, str(home / "events")),
        "run_storage": storage(OneEngineRunStorage, str(home / "runs")),
        "compute_logs": {
            "module": "dagster._core.storage.noop_compute_log_manager",
            "class": "NoOpComputeLogManager",
        },
    }


def _open(home: Path) -> AbstractContextManager[DagsterInstance]:
    return instance_for_test(temp_dir=str(home), overrides=_settings(home))


def make_template(home: Path) -> None:
    """Make and close a migrated instance under `home`: closed, its SQLite files hold
    everything (no write-ahead log beside them), ready to copy."""
    with _open(home):
        pass


def sqlite_instance(home: Path, template: Path) -> AbstractContextManager[DagsterInstance]:
    """A real SQLite instance under `home` (an empty folder), copied from `template`."""
    for path in template.iterdir():
        if path.name != INSTANCE_CONFIG:
            shutil.copytree(path, home / path.name)
    return _open(home)
