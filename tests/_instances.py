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
  session and worker), opened as they are: creating and stamping every schema, then
  checking its revision on each open, cost a third of a second per instance.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator, Mapping
from contextlib import AbstractContextManager, contextmanager
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, cast

from dagster import DagsterInstance, instance_for_test
from dagster._core.storage.event_log import ConsolidatedSqliteEventLogStorage
from dagster._core.storage.runs import SqliteRunStorage
from dagster._core.storage.schedules import SqliteScheduleStorage
from dagster._core.storage.sqlite import SQLITE_BUSY_TIMEOUT_SECONDS, create_db_conn_string
from dagster._serdes import ConfigurableClassData
from sqlalchemy import Connection, Engine, create_engine
from typing_extensions import Self

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
    def connect(self) -> Iterator[Connection]:
        """A connection in a transaction, as each Dagster SQL storage hands them out."""
        with self.engine.connect() as conn, conn.begin():
            yield conn

    def dispose(self) -> None:
        super().dispose()  # type: ignore[misc]  # the Dagster storage's own
        if "engine" in vars(self):
            self.engine.dispose()


class _CopiedSchema(_OneEngine):
    """A run or schedule storage that opens a copied database as it is. Dagster's
    `from_local` checks the schema's alembic revision on every open, which loads every
    migration script: two thirds of the cost of opening an instance. The template's
    database was made by `from_local`, so a copy of it is at the current revision."""

    #: The database's file name under `base_dir`, without `.db`.
    DATABASE: ClassVar[str]

    if TYPE_CHECKING:  # what the Dagster storage class beside this one provides

        def __init__(
            self, conn_string: str, inst_data: ConfigurableClassData | None = None
        ) -> None: ...

        @classmethod
        def from_local(
            cls, base_dir: str, inst_data: ConfigurableClassData | None = None
        ) -> Any: ...

    @classmethod
    def from_config_value(
        cls, inst_data: ConfigurableClassData | None, config_value: Mapping[str, Any]
    ) -> Self:
        base_dir = str(config_value["base_dir"])
        if not (Path(base_dir) / f"{cls.DATABASE}.db").exists():  # making the template
            return cast(Self, cls.from_local(base_dir, inst_data))
        return cls(create_db_conn_string(base_dir, cls.DATABASE), inst_data)


class OneEngineEventLogStorage(_OneEngine, ConsolidatedSqliteEventLogStorage):
    """`ConsolidatedSqliteEventLogStorage` on one engine (it opens an existing database as
    it is already)."""

    def run_connection(self, run_id: str | None) -> AbstractContextManager[Connection]:
        return self.connect()

    def index_connection(self) -> AbstractContextManager[Connection]:
        return self.connect()


class OneEngineRunStorage(_CopiedSchema, SqliteRunStorage):
    """`SqliteRunStorage` on one engine, a copy opened as it is."""

    DATABASE = "runs"


class OneEngineScheduleStorage(_CopiedSchema, SqliteScheduleStorage):
    """`SqliteScheduleStorage` on one engine, a copy opened as it is."""

    DATABASE = "schedules"


#: An instance setting: no capture of runs' stdout and stderr (see the module docstring).
NO_LOG_CAPTURE: dict[str, Any] = {
    "compute_logs": {
        "module": "dagster._core.storage.noop_compute_log_manager",
        "class": "NoOpComputeLogManager",
    }
}


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
        "schedule_storage": storage(OneEngineScheduleStorage, str(home / "schedules")),
        **NO_LOG_CAPTURE,
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
