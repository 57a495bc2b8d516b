"""The session's machinery: where its temporary files go, its warm dbt, how tests are
grouped and ordered over the workers, the garbage collector; and, in each process that runs
tests, the shared fixtures (`_fixtures.py`).

`make test` runs on three workers (pytest-xdist, `--dist loadgroup`); each has its own
emulator, and the grouping below keeps what shares expensive fixtures on one worker.
"""

import contextlib
import gc
import os
import shutil
import signal
import sys
import tempfile
from pathlib import Path

import pytest
from _warm_dbt import EXAMPLE_DBT, WarmDbt, start_for_session

#: The groups that take longest, longest first (CPU seconds of each, measured alone on the
#: two-core CI machine). xdist hands groups to the workers in collection order
#: (`--no-loadscope-reorder`, pyproject.toml), so these start first and the workers
#: finish together instead of one starting the longest group last.
LONGEST_FIRST = (
    "tests/reliability: the calm run and what compares with it",
    "tests/demo/test_demo_strict.py",
    "tests/install/test_release_sets.py",
    "tests/reliability/test_bad_input.py",
)
#: Reliability tests reading the calm run of the pipeline (a session fixture): one group,
#: so it runs once. Each other reliability file runs pipelines of its own: a group each.
CALM_RUN_GROUP = LONGEST_FIRST[0]


#: A RAM-backed folder most Linux machines have: the suite's SQLite instances and DuckDB
#: files commit (and fsync) on every Dagster event and every write, so on a disk a good
#: share of the suite's time is spent waiting for it (tests/notes: 67 s on disk, 57 s here).
RAM_DISK = Path("/dev/shm")
_RAM_TEMP = pytest.StashKey[Path]()
_WARM_DBT = pytest.StashKey[WarmDbt]()


def pytest_configure(config: pytest.Config) -> None:
    """Choose the session's temporary folder, then start its warm dbt (`_warm_dbt.py`:
    dbt imported once, not by each of the suite's dbt calls) unless the caller chose a dbt.
    The controller decides; xdist workers inherit its environment."""
    interruptible()
    if hasattr(config, "workerinput"):
        return
    write_bytecode()
    use_ram_disk(config)
    if EXAMPLE_DBT not in os.environ:
        config.stash[_WARM_DBT] = start_for_session()


def pytest_sessionstart(session: pytest.Session) -> None:
    """Register the shared fixtures (`_fixtures.py`) in a process that runs tests: an xdist
    worker, or a session without workers. Not in xdist's controller (its `dsession`
    plugin), which hands the tests out and runs none: importing Dagster and the emulators
    there took ~2 s before the first worker started."""
    plugins = session.config.pluginmanager
    if not plugins.has_plugin("dsession"):
        plugins.import_plugin("_fixtures")


def interruptible() -> None:
    """Give a suite started with SIGINT ignored (a shell's `&` job, some CI runners) Python's
    own SIGINT handler, in the controller and in each worker.

    With SIGINT ignored, Dagster's interrupt handling leaves SIGTERM ignored after a run;
    the `tail` processes of a later run's local log capture inherit that, and Dagster waits
    30 s for each to stop (tests/notes went from 3 s to 62 s that way)."""
    if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
        signal.signal(signal.SIGINT, signal.default_int_handler)


def write_bytecode() -> None:
    """Let this session and every process it starts (the workers, `dg`, `dagster dev`, the
    demo, the probes) write Python's bytecode caches, also where the environment says not
    to (`PYTHONDONTWRITEBYTECODE`, which container images often set): the package, the
    example and the tests are compiled by the first processes that import them and read
    from the cache by every later one, not compiled again in each.

    The caches are `__pycache__` folders beside the sources (git-ignored), where pytest
    also keeps the test modules it rewrote for its assertion messages. Measured here:
    collecting the suite in one process takes 8.7 CPU s without any cache, 5.5 s with;
    importing the example's definitions and the emulator 3.7 s, 3.45 s with."""
    os.environ.pop("PYTHONDONTWRITEBYTECODE", None)
    sys.dont_write_bytecode = False


def use_ram_disk(config: pytest.Config) -> None:
    """Put the session's temporary files (pytest's `tmp_path`s and everything that asks
    `tempfile`, dbt and subprocesses included) on the RAM disk when there is one and no
    `TMPDIR` was chosen."""
    if "TMPDIR" in os.environ:
        return
    if not (RAM_DISK.is_dir() and os.access(RAM_DISK, os.W_OK)):
        return
    base = Path(tempfile.mkdtemp(prefix="dot-orchestration-tests-", dir=RAM_DISK))
    os.environ["TMPDIR"] = str(base)
    tempfile.tempdir = None  # `tempfile` caches the folder it chose: choose again
    config.stash[_RAM_TEMP] = base


@pytest.hookimpl(trylast=True)
def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Stop the warm dbt (it also stops if the session is killed). Free the RAM disk after
    a passing session; after a failure keep what the failing tests left, for a look
    (pytest prints the `tmp_path` of each)."""
    warm = session.config.stash.get(_WARM_DBT, None)
    if warm is not None:
        warm.stop()
    base = session.config.stash.get(_RAM_TEMP, None)
    if base is not None and exitstatus == 0:
        remove_all_but_multiprocessing(base)


def remove_all_but_multiprocessing(base: Path) -> None:
    """Remove `base`, but for the `pymp-*` folder of this process's `multiprocessing`
    (Dagster's forkserver makes one): it removes that itself at exit, after this hook, and
    printed a traceback when it was already gone. `base` stays behind, empty, then."""
    for entry in base.iterdir():
        if entry.name.startswith("pymp-"):
            continue
        if entry.is_dir() and not entry.is_symlink():
            shutil.rmtree(entry, ignore_errors=True)
        else:
            entry.unlink(missing_ok=True)
    with contextlib.suppress(OSError):  # not empty: multiprocessing's folder is still there
        base.rmdir()


def xdist_group(item: pytest.Item) -> str:
    """One group per test file (its module fixtures, e.g. a dbt build or a Postgres
    cluster, are built once on one worker), but for the readers of the calm run."""
    if "reliability" in item.path.parts and "calm_run" in getattr(item, "fixturenames", ()):
        return CALM_RUN_GROUP
    return item.path.relative_to(item.config.rootpath).as_posix()


#: After collection, a full collector pass comes after this many passes of the middle
#: generation instead of Python's 10; the younger generations keep Python's thresholds.
FULL_PASS_EVERY = 100


def pytest_collection_finish(session: pytest.Session) -> None:
    """Freeze what collection imported (Dagster, dbt, dagster-dbt: millions of long-lived
    objects), so that the garbage collector's full passes scan only what the tests create:
    ~3 % of a worker's CPU (tests/components, notes and catalogue: 129-134 → 126 CPU s).

    Then make full passes rarer. What the tests import later (Airflow, dagster-dbt's
    manifest, Dagster's caches) is not frozen, so each full pass still scans it: measured on
    tests/history, notes and catalogue in one process, the default thresholds spent 2.7-3.0
    of its ~42 CPU s in the collector (1.8-2.0 s in 17 full passes), a full pass after 100
    middle ones 1.3-1.4 s (2 full passes), at the same peak memory (479-490 MB)."""
    gc.freeze()
    young, middle, _ = gc.get_threshold()
    gc.set_threshold(young, middle, FULL_PASS_EVERY)


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark each test with its xdist group, and put the longest groups first (a stable
    sort: every other test keeps its place)."""
    rank = {group: place for place, group in enumerate(LONGEST_FIRST)}
    groups = {item: xdist_group(item) for item in items}
    for item, group in groups.items():
        item.add_marker(pytest.mark.xdist_group(group))
    items.sort(key=lambda item: rank.get(groups[item], len(rank)))
