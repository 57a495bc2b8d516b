"""What the provider's tests need around Airflow (the `airflow` fixture in conftest.py is
built from it): a migrated metadata DB, the DAGs folder and its DAGs, the README's DAG, and
the process state Airflow changes.

The DAGs folder holds the examples (`examples/airflow`), the test DAGs (`_dags.py`) and the
README's DAG, linked, so that `dag.test()` finds each DAG in its bundle as Airflow needs.
"""

import importlib.util
import logging
import os
import re
import shutil
import signal
import sqlite3
import sys
import warnings
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

from filelock import FileLock

REPO = Path(__file__).resolve().parents[2]
#: Where migrated metadata DBs are kept between sessions, one per Airflow release.
CACHE = (
    Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    / "dot-orchestration"
    / "airflow-db"
)
EXAMPLES = REPO / "examples" / "airflow"
TEST_DAGS = Path(__file__).with_name("_dags.py")
#: The README's DAG: the ```py block of its "Using it from Airflow" section.
_README_DAG = re.compile(r"## Using it from Airflow\n.*?```py\n(?P<code>.*?)```", re.S)


@dataclass(frozen=True)
class AirflowSession:
    """The worker's Airflow: where its files are, and the DAG modules it can run."""

    home: Path
    dags: Path
    env: dict[str, str]

    def module(self, name: str) -> ModuleType:
        """A DAG file of the DAGs folder, imported once (as Airflow's parser names it)."""
        if name not in sys.modules:
            spec = importlib.util.spec_from_file_location(name, self.dags / f"{name}.py")
            assert spec is not None and spec.loader is not None
            module = importlib.util.module_from_spec(spec)
            sys.modules[name] = module
            spec.loader.exec_module(module)
        return sys.modules[name]

    def dag(self, module: str, dag_id: str) -> Any:
        """The DAG `dag_id` of the DAG file `module`."""
        return {dag.dag_id: dag for dag in _dags_of(self.module(module))}[dag_id]


def _dags_of(module: ModuleType) -> list[Any]:
    from airflow.sdk import DAG

    return [value for value in vars(module).values() if isinstance(value, DAG)]


def readme_dag() -> str:
    """The code of the README's Airflow DAG."""
    found = _README_DAG.search((REPO / "README.md").read_text(encoding="utf-8"))
    assert found, "README.md: no ```py block under '## Using it from Airflow'"
    return found["code"]


@dataclass(frozen=True)
class ProcessState:
    """What Airflow changes in the process that runs it, and the worker's later tests must
    not inherit: the environment (its task context variables), `sys.path` (its config,
    plugins and DAGs folders), the SIGTERM handler of its task runner, the loggers' levels
    and handlers, the warning filters."""

    environ: dict[str, str]
    path: list[str]
    signals: dict[signal.Signals, Any]
    loggers: dict[str, tuple[int, bool, bool, list[logging.Handler]]]
    filters: list[Any]

    @classmethod
    def now(cls) -> "ProcessState":
        loggers = {"": logging.getLogger(), **logging.Logger.manager.loggerDict}
        return cls(
            environ=dict(os.environ),
            path=list(sys.path),
            signals={number: signal.getsignal(number) for number in _SIGNALS},
            loggers={
                name: (logger.level, logger.disabled, logger.propagate, list(logger.handlers))
                for name, logger in loggers.items()
                if isinstance(logger, logging.Logger)
            },
            filters=list(warnings.filters),
        )

    def restore(self) -> None:
        os.environ.clear()
        os.environ.update(self.environ)
        sys.path[:] = self.path
        for number, handler in self.signals.items():
            signal.signal(number, handler)
        for name, (level, disabled, propagate, handlers) in self.loggers.items():
            logger = logging.getLogger(name or None)
            logger.setLevel(level)
            logger.disabled, logger.propagate, logger.handlers[:] = disabled, propagate, handlers
        warnings.filters[:] = self.filters


_SIGNALS = (signal.SIGTERM, signal.SIGINT, signal.SIGUSR2)


def migrated_db(path: Path) -> None:
    """A migrated metadata DB at `path` (Airflow's SQLite file in its home): a copy of the
    one this Airflow release migrated before, kept in the user's cache folder beside the
    install tests' venvs, or migrated now and kept (`airflow db migrate` costs ~2 s of CPU,
    a copy nothing)."""
    from importlib.metadata import version

    CACHE.mkdir(parents=True, exist_ok=True)
    template = CACHE / f"airflow-{version('apache-airflow-core')}.db"
    with FileLock(f"{template}.lock"):
        if template.exists():
            shutil.copyfile(template, path)
            return
        from airflow.utils import db

        db.initdb()
        building = template.with_suffix(".building")
        # SQLite's backup: the DB is in WAL mode, so the file alone may not hold it yet
        with sqlite3.connect(path) as source, sqlite3.connect(building) as copy:
            source.backup(copy)
        building.rename(template)  # whole or absent
