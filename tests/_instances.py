"""Real SQLite Dagster instances that keep every run's events in one database.

Dagster's default SQLite event log creates a database per run and stamps its schema with
alembic, which loads every migration script: about a tenth of the CPU of a test that runs
jobs. `ConsolidatedSqliteEventLogStorage`, which a deployment sets in `dagster.yaml` the
same way, keeps one database; runs, events and asset history read the same either way.
"""

from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any

from dagster import DagsterInstance, instance_for_test


def consolidated_events(home: Path) -> dict[str, Any]:
    """The `event_log_storage:` setting keeping every run's events in one database under
    `home`."""
    return {
        "event_log_storage": {
            "module": "dagster.core.storage.event_log",
            "class": "ConsolidatedSqliteEventLogStorage",
            "config": {"base_dir": str(home / "events")},
        }
    }


def sqlite_instance(home: Path) -> AbstractContextManager[DagsterInstance]:
    """A real SQLite instance under `home` with one events database."""
    return instance_for_test(temp_dir=str(home), overrides=consolidated_events(home))
