"""Export a year of Dot history into DuckDB: one Dagster backfill run vs. the obvious script.

The emulator runs in its own process with a year of generated history (350 conversations a
day on average over all workspaces: about 115,000 conversations and 510,000 messages; 330 a
day gives only 483,000 with this seed). The obvious script is what a team writes
first: `requests` one day after another, `pandas.json_normalize`, an `INSERT` into DuckDB
(no delete: re-running it doubles the rows). The Dagster run is one single-run backfill of
`build_dot_history_definitions` over every day: fetched `--concurrency` at a time, normalised,
and replaced day by day in one transaction each, on one connection.

Every measurement runs in a fresh process, so no contender inherits another's heap, and
Dagster's one-time start (imports, the instance, a first one-day run into another file)
happens before the clock starts, as in a code server that is already running.

* **Time** comes from runs without tracing.
* **Peak memory** comes from separate runs under tracemalloc (Python objects and
  pandas/numpy buffers, not DuckDB's own cache, which grows with any data written and is
  DuckDB's to bound). The script and Dagster are traced over the same last 30 days; Dagster
  once more over the whole span: the two Dagster peaks are close, because memory holds the
  days in flight (up to `--concurrency`), never the range. What grows with the range is
  Dagster's bookkeeping per partition (its events and metadata, a few KiB a day), not data.

`--latency-ms` (default 250) is added to every export call: the network and Dot's own
queries, which the emulator (a day in about 0.15 s of one CPU) does not have. With it,
Dot is the bottleneck, as in production, and concurrency pays off; with 0 the emulator's
single CPU is, and both contenders wait for it.

Run: `.venv/bin/python bench/bench_history_export.py [--days 365] [--latency-ms 250]`.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import textwrap
import time
import tracemalloc
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from datetime import date, timedelta
from functools import partial
from pathlib import Path

import duckdb
import pandas as pd
import requests
from _support import QUIET_RUN, emulator_process, set_faults

TOKEN = "dot-emulator-admin"
END = date(2025, 1, 1)  # exclusive; fixed so every run exports the same year
EXPORT = {"method": "GET", "path": "/api/export_history"}
# `dot-orchestration emulator` has no history options yet, so the bench starts the
# emulator itself, in its own process.
EMULATOR = textwrap.dedent(
    """
    import sys
    from datetime import date
    from dot_orchestration.emulator import EmulatorConfig, EmulatorServer

    days, per_day, end, port = sys.argv[1:]
    config = EmulatorConfig(
        seed=42, answer_delay_s=0, history_days=int(days),
        history_conversations_per_day=float(per_day), history_end=date.fromisoformat(end),
    )
    EmulatorServer(config, port=int(port)).serve_forever()
    """
)


def history_emulator(days: int, per_day: float) -> AbstractContextManager[str]:
    """The emulator with `days` days of history before `END`; yields its base URL."""
    return emulator_process(
        [sys.executable, "-c", EMULATOR, str(days), str(per_day), END.isoformat()]
    )


# --- the contenders (each runs in a child process: `--phase`) -----------------------------


def obvious_script(url: str, first: date, last: date, db: Path) -> None:
    """One day after another: GET, json_normalize, INSERT (no delete, no transaction)."""
    conn = duckdb.connect(str(db))
    day = first
    while day <= last:
        response = requests.get(
            f"{url}/api/export_history",
            params={
                "start_date": day.isoformat(),
                "end_date": (day + timedelta(days=1)).isoformat(),
                "include_all_workspaces": "true",
            },
            headers={"X-API-KEY": TOKEN},
            timeout=120,
        )
        response.raise_for_status()
        records = response.json()
        if records:
            messages = pd.json_normalize(records, record_path="messages", meta=["chat_id"])
            conversations = pd.DataFrame(records).drop(columns=["messages"])
            # the fixes everyone adds after the first crash: lists and all-null columns
            conversations["labels"] = conversations["labels"].map(json.dumps)
            conversations = conversations.astype({"environment": "string"})
            for table, frame in (("conversations", conversations), ("messages", messages)):
                conn.register("frame", frame)
                conn.execute(f"CREATE TABLE IF NOT EXISTS {table} AS FROM frame LIMIT 0")
                conn.execute(f"INSERT INTO {table} BY NAME FROM frame")
                conn.unregister("frame")
        day += timedelta(days=1)
    conn.close()


@contextmanager
def dagster_backfills(url: str, concurrency: int) -> Iterator[Callable[[date, date, Path], None]]:
    """`backfill(first, last, db)`: one run over the partitions of [first, last] into `db`
    (BackfillPolicy.single_run), on one instance kept for the process."""
    from dagster import AssetSelection, Definitions, define_asset_job, instance_for_test

    from dot_orchestration.history import (
        DotHistorySettings,
        DuckDBWarehouse,
        build_dot_history_definitions,
    )
    from dot_orchestration.resources import DotResource

    start = END - timedelta(days=3650)  # partitions for every day a bench may ask for
    dot = DotResource(api_token=TOKEN, base_url=url, max_concurrency=concurrency)

    with instance_for_test() as instance:

        def backfill(first: date, last: date, db: Path) -> None:
            settings = DotHistorySettings(
                start_date=start,
                include_all_workspaces=True,
                warehouse=DuckDBWarehouse(path=str(db)),
            )
            selection = AssetSelection.assets(settings.asset_key).without_checks()
            defs = Definitions.merge(
                build_dot_history_definitions(settings),
                Definitions(jobs=[define_asset_job("backfill", selection)], resources={"dot": dot}),
            )
            result = defs.resolve_job_def("backfill").execute_in_process(
                instance=instance,
                run_config=QUIET_RUN,
                tags={
                    "dagster/asset_partition_range_start": first.isoformat(),
                    "dagster/asset_partition_range_end": last.isoformat(),
                },
            )
            assert result.success, "the Dagster run failed"

        yield backfill


@dataclass(frozen=True)
class Measured:
    seconds: float
    peak_mib: float  # 0 when not traced
    db: Path


def measure_phase(work: Callable[[], None], *, trace: bool) -> dict[str, float]:
    """Wall seconds, and with `trace` the peak memory tracemalloc saw (MiB)."""
    if trace:
        tracemalloc.start()
    started = time.perf_counter()
    work()
    seconds = time.perf_counter() - started
    peak = tracemalloc.get_traced_memory()[1] / 2**20 if trace else 0.0
    tracemalloc.stop()
    return {"seconds": seconds, "peak_mib": peak}


def run_phase(args: argparse.Namespace) -> None:
    """The child process: measure one contender, print the result as JSON."""
    first, last, db = date.fromisoformat(args.first), date.fromisoformat(args.last), Path(args.db)
    if args.phase == "script":
        result = measure_phase(lambda: obvious_script(args.url, first, last, db), trace=args.trace)
    else:
        with dagster_backfills(args.url, args.concurrency) as backfill:
            backfill(last, last, db.with_suffix(".warmup.duckdb"))
            result = measure_phase(lambda: backfill(first, last, db), trace=args.trace)
    print(json.dumps(result))


# --- the parent ---------------------------------------------------------------------------


def measure(
    url: str, tmp: Path, name: str, first: date, last: date, *, concurrency: int, trace: bool
) -> Measured:
    """One contender over [first, last] in a fresh process (`--phase`)."""
    db = tmp / f"{name}-{first}-{last}-{'traced' if trace else 'timed'}.duckdb"
    command = [sys.executable, __file__, "--phase", name, "--url", url, "--db", str(db)]
    command += ["--first", first.isoformat(), "--last", last.isoformat()]
    command += ["--concurrency", str(concurrency)] + (["--trace"] if trace else [])
    child = subprocess.run(command, capture_output=True, text=True)
    if child.returncode:
        raise RuntimeError(f"{name} {first}..{last} failed:\n{child.stderr[-3000:]}")
    return Measured(**json.loads(child.stdout.strip().splitlines()[-1]), db=db)


def table_counts(db: Path, schema: str) -> tuple[int, int]:
    """Conversations and messages in a database."""
    with duckdb.connect(str(db), read_only=True) as conn:
        return tuple(  # type: ignore[return-value]
            int(conn.execute(f"SELECT count(*) FROM {schema}.{table}").fetchone()[0])  # type: ignore[index]
            for table in ("conversations", "messages")
        )


def busiest_day(db: Path) -> int:
    """Messages of the busiest day the export landed."""
    with duckdb.connect(str(db), read_only=True) as conn:
        row = conn.execute(
            "SELECT max(n) FROM (SELECT count(*) AS n FROM dot_history.messages "
            "GROUP BY partition_date)"
        ).fetchone()
    return int(row[0])  # type: ignore[index]


def compare(args: argparse.Namespace) -> None:
    first, last = END - timedelta(days=args.days), END - timedelta(days=1)
    month = max(first, last - timedelta(days=29))
    with history_emulator(args.days, args.per_day) as url, tempfile.TemporaryDirectory() as tmp:
        if args.latency_ms:
            set_faults(url, [{**EXPORT, "kind": "timeout", "latency_ms": args.latency_ms}])
        print(
            f"{args.days} days of Dot history ({first} to {last}), emulator in its own "
            f"process, {args.latency_ms} ms added per export call"
        )
        run = partial(measure, url, Path(tmp), concurrency=args.concurrency)
        script = run("script", first, last, trace=False)
        dagster = run("dagster", first, last, trace=False)
        conversations, messages = table_counts(dagster.db, "dot_history")
        assert table_counts(script.db, "main") == (conversations, messages), "they disagree"
        busiest = busiest_day(dagster.db)
        script_month = run("script", month, last, trace=True)
        dagster_month = run("dagster", month, last, trace=True)
        dagster_all = run("dagster", first, last, trace=True)

    rows = conversations + messages
    print(f"{conversations:,} conversations + {messages:,} messages = {rows:,} rows each")
    print(f"{'':<48}{'seconds':>9}{'rows/s':>10}{'peak MiB (last 30 days)':>26}")
    for label, timed, traced in (
        ("obvious script (requests + pandas + INSERT)", script, script_month),
        (f"Dagster single-run backfill (concurrency {args.concurrency})", dagster, dagster_month),
    ):
        print(
            f"{label:<48}{timed.seconds:9.1f}{rows / timed.seconds:10,.0f}{traced.peak_mib:26.1f}"
        )
    print(
        f"Dagster is {script.seconds / dagster.seconds:.2f}x the script's speed; its peak "
        f"over all {args.days} days is {dagster_all.peak_mib:.1f} MiB, over the last 30 "
        f"{dagster_month.peak_mib:.1f} MiB (busiest day: {busiest:,} messages)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--per-day", type=float, default=350)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument(
        "--latency-ms", type=int, default=250, help="added to every export call (0: none)"
    )
    parser.add_argument("--phase", choices=["script", "dagster"], help=argparse.SUPPRESS)
    parser.add_argument("--trace", action="store_true", help=argparse.SUPPRESS)
    for internal in ("--url", "--db", "--first", "--last"):
        parser.add_argument(internal, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.phase:
        run_phase(args)
    else:
        compare(args)


if __name__ == "__main__":
    main()
