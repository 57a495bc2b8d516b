"""Ingest a year of Dot history from JSON bytes into DuckDB: ours vs. DuckDB alone and the
obvious script, without HTTP.

The emulator's generator writes `--days` days of history (`--per-day` conversations a day on
average over every workspace) as `GET /api/export_history` answers them, one file per UTC
day, cached under `~/.cache/dot-orchestration/bench-ingest-…` (generating two years takes
about a minute of CPU, on both cores). Each contender then runs in a fresh interpreter,
timed (wall and CPU seconds) once its modules are imported (as in a code server that is
already running) to the last row written, its peak RSS read when it ends:

- DuckDB alone: one `read_json` of every day, unnested into a conversations and a messages
  table (no checks, no contract, no replace: the speed of DuckDB itself);
- the obvious script: one day after another, `json.loads`, `pandas.json_normalize`, an
  `INSERT` (no delete: a re-run doubles the rows);
- ours: `HistoryExport.of_bodies` (what `fetch_days` does once the answers are spooled)
  and `HistoryExport.replace` into a `DuckDBLocation` session, as the history asset's IO
  manager lands a backfill: the same two tables, exactly once, in the contract's types.

Ours also runs over the largest day alone and over `--days` twice over (the memory a
backfill needs must not grow with its range). Dagster plays no part, so none of its log
shows. Figures are medians of `--repeat` processes; the machine may be shared, so read the
ratios, which come from the same run.

Run: `.venv/bin/python bench/bench_ingest.py [--days 365] [--per-day 320] [--repeat 3]`.
"""

from __future__ import annotations

import argparse
import functools
import importlib
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from dot_orchestration.emulator.state import EmulatorState

END = date(2025, 1, 1)  # exclusive; fixed so every run ingests the same history
SEED = 42
TABLES = ("conversations", "messages")


# --- the history's bytes -------------------------------------------------------------------


def history(days: int, per_day: float) -> Path:
    """A folder of `<day>.json` answers for the `days` days before `END`, made once."""
    root = Path.home() / ".cache" / "dot-orchestration" / f"bench-ingest-{days}-{per_day:g}"
    done = root / "complete"
    if done.exists():
        return root
    root.mkdir(parents=True, exist_ok=True)
    first = END - timedelta(days=days)
    wanted = [first + timedelta(days=n) for n in range(days)]
    with ProcessPoolExecutor(max_workers=os.cpu_count() or 1) as pool:
        for day, body in zip(wanted, pool.map(_answer, wanted, [per_day] * days), strict=True):
            (root / f"{day}.json").write_bytes(body)
    done.touch()
    return root


def _answer(day: date, per_day: float) -> bytes:
    """One UTC day as the emulator's export route serialises it."""
    from dot_orchestration.emulator.routers.history import _json_array

    chats = _emulator(per_day).conversations(day, day + timedelta(days=1), workspace=None)
    return b"".join(_json_array(chats, strict=False))


@functools.cache
def _emulator(per_day: float) -> EmulatorState:
    """One emulator state per generating process: a day depends on the seed alone."""
    from dot_orchestration.emulator import EmulatorConfig
    from dot_orchestration.emulator.state import EmulatorState

    config = EmulatorConfig(
        seed=SEED, history_days=10_000, history_conversations_per_day=per_day, history_end=END
    )
    return EmulatorState(config)


# --- the contenders (each in a fresh interpreter: `--phase`) ---------------------------------


def duckdb_alone(files: list[Path], db: Path) -> None:
    import duckdb

    with duckdb.connect(str(db)) as conn:
        conn.execute("CREATE TEMP TABLE answers AS FROM read_json(?)", [[str(f) for f in files]])
        conn.execute("CREATE TABLE conversations AS SELECT * EXCLUDE (messages) FROM answers")
        conn.execute(
            "CREATE TABLE messages AS SELECT chat_id, unnest(messages, recursive := true) "
            "FROM answers"
        )


def obvious_script(files: list[Path], db: Path) -> None:
    """One day after another: json.loads, json_normalize, INSERT (no delete, no transaction)."""
    import duckdb
    import pandas as pd

    conn = duckdb.connect(str(db))
    for path in files:
        records = json.loads(path.read_bytes())
        if not records:
            continue
        messages = pd.json_normalize(records, record_path="messages", meta=["chat_id"])
        conversations = pd.DataFrame(records).drop(columns=["messages"])
        # the fixes everyone adds after the first crash: lists and all-null columns
        conversations["labels"] = conversations["labels"].map(json.dumps)
        conversations = conversations.astype({"environment": "string"})
        for table, frame in zip(TABLES, (conversations, messages), strict=True):
            conn.register("frame", frame)
            conn.execute(f"CREATE TABLE IF NOT EXISTS {table} AS FROM frame LIMIT 0")
            conn.execute(f"INSERT INTO {table} BY NAME FROM frame")
            conn.unregister("frame")
    conn.close()


def ours(files: list[Path], db: Path) -> None:
    """The history export once Dot's answers are spooled: normalise, spool, replace."""
    from dot_orchestration.transforms.history_days import DayRequest, HistoryExport
    from dot_orchestration.warehouse import DuckDBLocation

    requests = []
    for path in files:
        day = date.fromisoformat(path.stem)
        start = datetime(day.year, day.month, day.day, tzinfo=timezone.utc)
        requests.append(DayRequest.for_window(path.stem, start, start + timedelta(days=1)))
    export = HistoryExport.of_bodies(requests, files, tz="UTC")
    try:
        with DuckDBLocation(path=db).session() as session:
            export.replace(session, schema="dot_history", tables=TABLES)
    finally:
        export.close()


CONTENDERS = {"duckdb": duckdb_alone, "script": obvious_script, "ours": ours}


#: What each contender imports before its clock starts.
IMPORTS = {
    "duckdb": ["duckdb"],
    "script": ["duckdb", "pandas"],
    "ours": [
        "duckdb",
        "pyarrow",
        "dot_orchestration.transforms.history_days",
        "dot_orchestration.transforms.history._fast",
        "dot_orchestration.warehouse._duckdb",
    ],
}


def run_phase(name: str, files: list[Path]) -> None:
    """The child: run one contender into a new database; print its wall and CPU seconds
    (every thread's), its peak RSS and the rows it wrote."""
    for module in IMPORTS[name]:
        importlib.import_module(module)
    with tempfile.TemporaryDirectory(prefix="bench-ingest-") as tmp:
        db = Path(tmp) / "ingest.duckdb"
        started, cpu = time.perf_counter(), _cpu()
        CONTENDERS[name](files, db)
        seconds, cpu = time.perf_counter() - started, _cpu() - cpu
        rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        import duckdb

        with duckdb.connect(str(db), read_only=True) as conn:
            schema = "dot_history" if name == "ours" else "main"
            rows = sum(
                conn.execute(f"SELECT count(*) FROM {schema}.{table}").fetchall()[0][0]
                for table in TABLES
            )
    print(json.dumps({"seconds": seconds, "cpu": cpu, "rss_mib": rss, "rows": rows}))


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


# --- the parent ----------------------------------------------------------------------------


def measure(name: str, files: list[Path], repeat: int) -> dict[str, float]:
    """The median of `repeat` fresh interpreters running one contender over `files`."""
    listing = Path(tempfile.mkstemp(prefix="bench-ingest-", suffix=".txt")[1])
    listing.write_text("\n".join(str(path) for path in files))
    try:
        runs = []
        for _ in range(repeat):
            done = subprocess.run(
                [sys.executable, __file__, "--phase", name, "--files", str(listing)],
                capture_output=True,
                text=True,
                check=False,
            )
            if done.returncode:
                raise RuntimeError(f"{name} failed:\n{done.stderr[-3000:]}")
            runs.append(json.loads(done.stdout.strip().splitlines()[-1]))
    finally:
        listing.unlink()
    return {key: statistics.median(run[key] for run in runs) for key in runs[0]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--per-day", type=float, default=320)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--phase", choices=sorted(CONTENDERS), help=argparse.SUPPRESS)
    parser.add_argument("--files", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.phase:
        run_phase(args.phase, [Path(line) for line in Path(args.files).read_text().splitlines()])
        return
    both = sorted(history(2 * args.days, args.per_day).glob("*.json"))
    year = both[-args.days :]
    largest = max(year, key=lambda path: path.stat().st_size)
    size = sum(path.stat().st_size for path in year) / 2**20
    print(
        f"{len(year)} days of history ({year[0].stem} to {year[-1].stem}, {size:.0f} MiB of "
        f"JSON), no HTTP; each figure the median of {args.repeat} fresh processes"
    )
    results = {
        "DuckDB alone (read_json + unnest + insert)": measure("duckdb", year, args.repeat),
        "obvious script (json.loads + json_normalize)": measure("script", year, args.repeat),
        "ours (normalise, spool, replace)": measure("ours", year, args.repeat),
        f"ours, the largest day alone ({largest.stem})": measure("ours", [largest], args.repeat),
        f"ours, {len(both)} days": measure("ours", both, args.repeat),
    }
    report(results, args.days)


def report(results: dict[str, dict[str, float]], days: int) -> None:
    (duckdb, script, year, day, both) = results.values()
    assert duckdb["rows"] == script["rows"] == year["rows"], "the contenders disagree on rows"
    print(f"{'':<48}{'seconds':>9}{'CPU s':>8}{'rows/s':>11}{'peak RSS MiB':>14}")
    for label, result in results.items():
        rate = result["rows"] / result["seconds"]
        print(
            f"{label:<48}{result['seconds']:9.2f}{result['cpu']:8.2f}{rate:11,.0f}"
            f"{result['rss_mib']:14.1f}"
        )
    print(
        f"ours vs DuckDB alone: {duckdb['seconds'] / year['seconds']:.2f}x its speed "
        f"({duckdb['cpu'] / year['cpu']:.2f}x in CPU seconds; goal >= 0.5); vs the obvious "
        f"script: {script['seconds'] / year['seconds']:.2f}x ({script['cpu'] / year['cpu']:.2f}x; "
        "goal >= 3)"
    )
    print(
        f"peak RSS of the {days} days / the largest day alone: "
        f"{year['rss_mib'] / day['rss_mib']:.2f} (goal <= 1.5); twice the days / the days: "
        f"{both['rss_mib'] / year['rss_mib']:.2f} (flat: about 1)"
    )


if __name__ == "__main__":
    main()
