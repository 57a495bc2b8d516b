"""One DuckDB path and one saved dbt parse per pytest worker, for the tests building the
example dbt project: dbt then parses the project in full once per worker, not per build.

dbt reuses its saved parse (`partial_parse.msgpack`) only when what it renders now matches
what it saved: the cli `--vars` and the profile, whose DuckDB `path` comes from
`DOT_DEMO_DUCKDB_PATH` (dbt's `build_manifest_state_check`). A DuckDB file of each test's
own made every build parse in full, about a third of a build's CPU. Instead, the builds of
a worker use one path, emptied for a test that needs a fresh warehouse, and keep the last
parse under `runs_dir`: where the example's own builds look for it (`run_target`, when
given `runs_dir`) and where dagster-dbt does when `DBT_TARGET_PATH` points there.

The example's failure switches are environment variables its dbt project reads only when
executing (examples/dbt_project/README.md): a broken build reuses the parse too, where
other `--vars` would make dbt parse in full. `switched_on` sets them around a build.
"""

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

#: The example dbt project's failure switches (environment variables of the dbt process).
FAIL_TEST = "DOT_DEMO_FAIL_TEST"
FAIL_MODEL = "DOT_DEMO_FAIL_MODEL"
REVENUE_FAN_OUT = "DOT_DEMO_REVENUE_FAN_OUT"


@dataclass(frozen=True)
class DbtHome:
    """A worker's dbt state: its DuckDB path and the folder of its builds' artifacts, laid
    out as the example's demo home (`ExampleSettings.demo_home`) lays out its own."""

    root: Path

    @property
    def warehouse(self) -> Path:
        """The DuckDB file every build of this worker writes (`DOT_DEMO_DUCKDB_PATH`)."""
        return self.root / "dot_demo.duckdb"

    @property
    def runs_dir(self) -> Path:
        """Each build's target folder, and the last parse worth reusing."""
        return self.root / "dbt_runs"

    def fresh_warehouse(self) -> Path:
        """The worker's DuckDB path with nothing at it: no tables of an earlier test."""
        return empty_duckdb(self.warehouse)

    def keep_parse_of(self, run_id: str) -> None:
        """Keep the parse of a run's dbt build for the next build, as the example does after
        its own builds (dagster-dbt names a build's target folder after its run)."""
        from dot_demo.definitions import keep_parse_state  # the example, only when building

        for target in self.runs_dir.glob(f"*-{run_id[:7]}*"):
            keep_parse_state(target, self.runs_dir)


def empty_duckdb(path: Path) -> Path:
    """`path` with no DuckDB database at it (nor its write-ahead log), for a fresh start."""
    for built in (path, path.with_name(f"{path.name}.wal")):
        built.unlink(missing_ok=True)
    return path


@contextmanager
def switched_on(*switches: str) -> Iterator[None]:
    """The failure `switches` on for the dbt builds started inside (dagster-dbt starts
    dbt with this process's environment)."""
    with pytest.MonkeyPatch.context() as env:
        for switch in switches:
            env.setenv(switch, "true")
        yield
