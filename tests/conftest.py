"""Shared fixtures: one Dot API emulator for the whole session, fresh for every test.

`dot_emulator_server` is a real uvicorn server on a free loopback port, started once per
session (starting one takes a fraction of a second, but hundreds of tests add up).
`dot_emulator` hands the same server to a test after putting it back to its seeded start:
state, journal and fault rules, so no test sees another test's traffic.

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
from collections.abc import Iterator
from pathlib import Path

import pytest
from _dbt_builds import DbtHome
from _instances import make_template, sqlite_instance
from _warm_dbt import EXAMPLE_DBT, WarmDbt, start_for_session
from dagster import DagsterInstance

from dot_orchestration.emulator import EmulatorConfig, EmulatorServer
from dot_orchestration.emulator.confluence import ConfluenceEmulatorServer

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


@pytest.fixture(scope="session")
def dot_emulator_server() -> Iterator[EmulatorServer]:
    """The session's Dot emulator (seed 42, default tokens, answers after 0.5 s)."""
    with EmulatorServer(EmulatorConfig(seed=42), port=0) as server:
        yield server


@pytest.fixture
def dot_emulator(dot_emulator_server: EmulatorServer) -> EmulatorServer:
    """The session's Dot emulator, reset to its seeded start for this test."""
    dot_emulator_server.state.reset()
    return dot_emulator_server


@pytest.fixture(scope="session")
def strict_dot_emulator_server() -> Iterator[EmulatorServer]:
    """A second emulator in the strict profile: only what Dot's documentation describes."""
    with EmulatorServer(EmulatorConfig(seed=42, strict=True), port=0) as server:
        yield server


@pytest.fixture
def strict_dot_emulator(strict_dot_emulator_server: EmulatorServer) -> EmulatorServer:
    """The strict-profile emulator, reset to its seeded start for this test."""
    strict_dot_emulator_server.state.reset()
    return strict_dot_emulator_server


@pytest.fixture(params=["default", "strict"])
def any_dot_emulator(request: pytest.FixtureRequest) -> EmulatorServer:
    """Each profile in turn: a main flow that takes this fixture runs against both, so it
    cannot pass by relying on something only the default profile guesses."""
    name = "dot_emulator" if request.param == "default" else "strict_dot_emulator"
    server: EmulatorServer = request.getfixturevalue(name)
    return server


@pytest.fixture(scope="session")
def confluence_server() -> Iterator[ConfluenceEmulatorServer]:
    """The session's Confluence emulator (seeded spaces DATA and ENG)."""
    with ConfluenceEmulatorServer() as server:
        yield server


@pytest.fixture(scope="session")
def instance_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated instance's home that every instance of this worker starts as a copy of."""
    home = tmp_path_factory.mktemp("dagster_template")
    make_template(home)
    return home


@pytest.fixture
def instance(tmp_path: Path, instance_template: Path) -> Iterator[DagsterInstance]:
    """A real (SQLite) Dagster instance of this test's own: no other test's runs, events or
    asset history. Suites that pay for one instance per test too often use
    `session_instance` and keep apart by asset keys."""
    home = tmp_path / "dagster_home"
    home.mkdir()
    with sqlite_instance(home, instance_template) as created:
        yield created


@pytest.fixture(scope="session")
def session_instance(
    tmp_path_factory: pytest.TempPathFactory, instance_template: Path
) -> Iterator[DagsterInstance]:
    """One real (SQLite) Dagster instance per worker; its history is shared by every test
    that uses it, so such a test reads only its own runs' events."""
    with sqlite_instance(tmp_path_factory.mktemp("dagster_home"), instance_template) as created:
        yield created


@pytest.fixture(scope="session")
def dbt_home(tmp_path_factory: pytest.TempPathFactory) -> DbtHome:
    """This worker's DuckDB path and dbt runs folder, shared by its builds of the example
    dbt project so that dbt reuses its parse between them (see `_dbt_builds.py`)."""
    home = DbtHome(tmp_path_factory.mktemp("dbt_home"))
    home.runs_dir.mkdir()
    return home
