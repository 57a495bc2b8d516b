"""Land days of Dot history in DuckDB: our writer vs. dlt's merge vs. DuckDB alone (issue 20).

Which mechanism should carry the history export to every warehouse? This bench measures
the candidates on the same bytes: a run of generated days (the emulator's history
generator, the JSON `GET /api/export_history` answers, written to one file a day), landed
day by day into a fresh DuckDB file by

* **ours**: `json.loads` → `normalise_history` → `DuckDBSession.replace_partitions` (both
  tables of a day in one transaction, on one kept connection, as the export's IO manager
  does; the pickle spool between fetch and write is left out);
* **dlt nested**: the records as Dot sends them, one `pipeline.run` a day, resource
  `conversations` with ``write_disposition={"disposition": "merge", "strategy":
  "delete-insert"}`` and ``merge_key="partition_date"``; dlt makes the nested lists child
  tables (`conversations__messages`, `conversations__labels`);
* **dlt flat**: our two normalised frames (the documented contract) as two dlt resources
  with the same merge disposition, one `pipeline.run` a day;
* **dlt nested, one run**: as dlt nested, but every day in one `pipeline.run` (one load
  package, one merge): dlt without its per-run overhead;
* **Dagster's IO manager** (`dagster-duckdb-pandas`): our two frames as two daily
  partitioned assets, one `materialize` a day;
* **DuckDB alone** (the limit): ``read_json`` of the day's file into a temporary table, then
  ``DELETE`` the day and ``INSERT … SELECT`` (with ``unnest`` for messages), one
  transaction a day.

Rows are conversations + messages, as in issue 15's ingest goal. Each contender runs in a
fresh process that clocks its own work after its imports (CPU: user + sys of all its
threads, the figure compared, since a shared machine makes wall time noise); peak RSS comes
from `wait4`, so imports count towards memory (shown apart) but not towards time.

**Crash test** per mechanism: the day is first written from another seed (the "old" day),
then a child writes the new day and freezes inside the write right after the N-th
``DELETE`` (N = 1: the first table's; N = 2: the second table's), the parent SIGKILLs it
there and reads the day back: it must be the old one, whole. A re-run must then land the
new day exactly once. Ours freezes in its public `after_delete` hook; dlt runs its merge
script as one `execute_many` call, which the child replaces with one statement at a time
(same transaction, same statements) so it can freeze after a ``DELETE``; Dagster's IO
manager after its `delete_table_slice`; DuckDB alone between its statements.

`--postgres` also lands the days with ours and dlt nested in a throwaway local PostgreSQL
cluster (as the reliability tests start one) and crash-tests dlt there. `--snowflake`
runs our Snowflake writer (`SnowflakeLocation`) against `fakesnow`, and tries dlt's
Snowflake destination, printing where it stops.

dlt is not a dependency of the package: the bench skips when it is not installed. Run it in
a venv with the package, ``dlt[duckdb,postgres]`` and ``dagster-duckdb-pandas``
(``fakesnow`` for `--snowflake`; docs/warehouse-loaders.md lists the versions it ran with):
`python bench/bench_warehouse_loaders.py [--days 30] [--per-day 350] [--postgres]`.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import re
import resource
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import duckdb
from _support import QUIET_RUN, postgres_cluster

END = date(2025, 1, 1)  # exclusive; fixed so every run lands the same days
SCHEMA = "dot_history"
PARTITION = "partition_date"
MERGE = {"disposition": "merge", "strategy": "delete-insert"}
MECHANISMS = (  # the limit first: every other is measured against it
    "duckdb_alone",
    "ours",
    "dlt_nested",
    "dlt_flat",
    "dlt_nested_one_run",
    "dagster_io_manager",
)
CRASHED = ("ours", "dlt_nested", "dlt_flat", "dagster_io_manager", "duckdb_alone")
_FROZEN_FOR_S = 120  # the parent kills a frozen writer within seconds; this ends an orphan


# --- the days ---------------------------------------------------------------------------


def write_days(folder: Path, days: list[date], per_day: float, seed: int) -> list[Path]:
    """Each day's export as Dot answers it (one JSON list a day), from the emulator's
    generator; another `seed` gives the same days with other conversations."""
    from dot_orchestration.emulator import EmulatorConfig
    from dot_orchestration.emulator.state import EmulatorState

    config = EmulatorConfig(
        seed=seed,
        answer_delay_s=0,
        history_days=(END - days[0]).days,
        history_conversations_per_day=per_day,
        history_end=END,
    )
    state = EmulatorState(config)
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for day in days:
        chats = state.history.conversations_on(day)
        path = folder / f"{day.isoformat()}.json"
        path.write_text(json.dumps([chat.export_record() for chat in chats]), encoding="utf-8")
        paths.append(path)
    return paths


def day_of(path: Path) -> date:
    return date.fromisoformat(path.stem)


# --- the contenders (each in a child process: `--phase`) ----------------------------------

#: Called right after the N-th DELETE of a write, inside its transaction (`freeze_after`).
Hook = Callable[[], None]


def ours(target: str, paths: list[Path], after_delete: Hook | None) -> dict[str, float]:
    """`normalise_history` and `replace_partitions`, one transaction a day."""
    from dot_orchestration.transforms.history import normalise_history
    from dot_orchestration.warehouse import DuckDBLocation, PostgresLocation

    spent = {"normalise_cpu_s": 0.0, "write_cpu_s": 0.0}
    hook = None if after_delete is None else (lambda schema, table: after_delete())
    if target.startswith("postgresql://"):
        url = urlsplit(target)
        location: Any = PostgresLocation(
            host=url.hostname or "", port=url.port or 5432, dbname=url.path.lstrip("/"),
            user=url.username or "", password=url.password or "",
        )  # fmt: skip
    else:
        location = DuckDBLocation(path=Path(target))
    sessions = (
        location.session(after_delete=hook)
        if isinstance(location, DuckDBLocation)
        else location.session()
    )
    with sessions as session:
        for path in paths:
            started = time.process_time()
            start = datetime.combine(day_of(path), datetime.min.time(), timezone.utc)
            history = normalise_history(
                json.loads(path.read_bytes()), window_start=start, window_end=start + timedelta(1)
            )
            written = time.process_time()
            session.replace_partitions(
                schema=SCHEMA,
                tables={"conversations": history.conversations, "messages": history.messages},
                partition_column=PARTITION,
                partition_values=[day_of(path)],
                allow_empty=True,
            )
            spent["normalise_cpu_s"] += written - started
            spent["write_cpu_s"] += time.process_time() - written
    return spent


def dlt_pipeline(target: str, folder: Path) -> Any:
    """A dlt pipeline into `target` (a DuckDB file, or a PostgreSQL URL), its state in
    `folder` (kept between the runs of one database: a crashed load is resumed from it)."""
    import dlt

    destination = (
        dlt.destinations.postgres(credentials=target)
        if target.startswith("postgresql://")
        else dlt.destinations.duckdb(target)
    )
    return dlt.pipeline(
        "dot_history", destination=destination, dataset_name=SCHEMA, pipelines_dir=str(folder)
    )


def dlt_nested(pipeline: Any, paths: list[Path], *, one_run: bool = False) -> None:
    """Dot's records as they come; dlt unnests messages and labels into child tables."""
    import dlt

    @dlt.resource(name="conversations", write_disposition=MERGE, merge_key=PARTITION)
    def conversations(days: list[Path]) -> Iterator[list[dict[str, Any]]]:
        for path in days:
            day = day_of(path)
            yield [{**record, PARTITION: day} for record in json.loads(path.read_bytes())]

    for batch in [paths] if one_run else [[path] for path in paths]:
        pipeline.run(conversations(batch))


def dlt_flat(pipeline: Any, paths: list[Path]) -> None:
    """Our normalised frames, the two tables as two resources merged by day."""
    import dlt

    from dot_orchestration.transforms.history import normalise_history

    for path in paths:
        start = datetime.combine(day_of(path), datetime.min.time(), timezone.utc)
        history = normalise_history(
            json.loads(path.read_bytes()), window_start=start, window_end=start + timedelta(1)
        )
        pipeline.run(
            [
                dlt.resource(frame, name=name, write_disposition=MERGE, merge_key=PARTITION)
                for name, frame in (
                    ("conversations", history.conversations),
                    ("messages", history.messages),
                )
            ]
        )


DUCKDB_TABLES = f"""
CREATE SCHEMA IF NOT EXISTS {SCHEMA};
CREATE TABLE IF NOT EXISTS {SCHEMA}.conversations (conversation_id VARCHAR,
    partition_date DATE, created_at TIMESTAMP, updated_at TIMESTAMP, author_email VARCHAR,
    author_name VARCHAR, title VARCHAR, message_count BIGINT, labels VARCHAR,
    auto_review_label VARCHAR, auto_review_score DOUBLE, auto_review_reason VARCHAR,
    environment VARCHAR, workspace VARCHAR);
CREATE TABLE IF NOT EXISTS {SCHEMA}.messages (conversation_id VARCHAR, message_index BIGINT,
    partition_date DATE, role VARCHAR, created_at TIMESTAMP, content VARCHAR);
"""
DUCKDB_INSERTS = (
    f"""INSERT INTO {SCHEMA}.conversations SELECT chat_id, $day, created_at::TIMESTAMPTZ,
    updated_at::TIMESTAMPTZ, author_email, author_name, title, num_messages,
    to_json(labels)::VARCHAR, auto_review_label, auto_review_score, auto_review_reason,
    environment::VARCHAR, workspace FROM day""",
    f"""INSERT INTO {SCHEMA}.messages SELECT chat_id, index, $day, m.role,
    m.created_at::TIMESTAMPTZ, m.content FROM (SELECT chat_id,
    unnest(messages) AS m, unnest(range(len(messages))) AS index FROM day)""",
)


def duckdb_alone(db: str, paths: list[Path], after_delete: Hook | None) -> None:
    """The limit: DuckDB parses the bytes and maps the columns itself, one transaction a
    day (the contract's columns less `raw`, which needs knowing the fields nothing read)."""
    conn = duckdb.connect(db)
    conn.execute("SET TimeZone = 'UTC'")
    conn.execute(DUCKDB_TABLES)
    for path in paths:
        day = {"day": day_of(path)}
        conn.begin()
        conn.execute("CREATE OR REPLACE TEMP TABLE day AS FROM read_json(?)", [str(path)])
        for table, insert in zip(("conversations", "messages"), DUCKDB_INSERTS, strict=True):
            conn.execute(f"DELETE FROM {SCHEMA}.{table} WHERE {PARTITION} = $day", day)
            if after_delete is not None:
                after_delete()
            conn.execute(insert, day)
        conn.commit()
    conn.close()


_DELETE = re.compile(r"\s*DELETE\s+FROM\s+(\S+)", re.IGNORECASE)


def dagster_io_manager(db: str, paths: list[Path], after_delete: Hook | None) -> None:
    """Dagster's DuckDB IO manager (`dagster-duckdb-pandas`): our two frames as two daily
    partitioned assets, one `materialize` a day; its `delete_table_slice` calls
    `after_delete` once it has deleted the table's partition."""
    from dagster import DagsterInstance, DailyPartitionsDefinition, asset, materialize
    from dagster_duckdb.io_manager import DuckDbClient
    from dagster_duckdb_pandas import DuckDBPandasIOManager

    from dot_orchestration.transforms.history import NormalisedHistory, normalise_history

    if after_delete is not None:
        delete = DuckDbClient.delete_table_slice

        def delete_then_hook(context: Any, table_slice: Any, connection: Any) -> None:
            delete(context, table_slice, connection)
            after_delete()

        DuckDbClient.delete_table_slice = staticmethod(delete_then_hook)  # type: ignore[method-assign]

    by_day = {path.stem: path for path in paths}
    daily = DailyPartitionsDefinition(start_date=min(by_day), end_offset=1)
    metadata = {"partition_expr": PARTITION}

    def history(key: str) -> NormalisedHistory:
        start = datetime.combine(date.fromisoformat(key), datetime.min.time(), timezone.utc)
        payload = json.loads(by_day[key].read_bytes())
        return normalise_history(payload, window_start=start, window_end=start + timedelta(1))

    # `context` unannotated: a string annotation of a local import is one Dagster cannot resolve
    @asset(key=[SCHEMA, "conversations"], partitions_def=daily, metadata=metadata)
    def conversations(context) -> Any:  # type: ignore[no-untyped-def]
        return history(context.partition_key).conversations

    @asset(key=[SCHEMA, "messages"], partitions_def=daily, metadata=metadata, deps=[conversations])
    def messages(context) -> Any:  # type: ignore[no-untyped-def]
        return history(context.partition_key).messages

    io_manager = DuckDBPandasIOManager(database=db)
    with DagsterInstance.ephemeral() as instance:
        for key in by_day:
            materialize(
                [conversations, messages],
                partition_key=key,
                resources={"io_manager": io_manager},
                instance=instance,
                run_config=QUIET_RUN,
            )


@contextmanager
def dlt_freezing(after_delete: Hook | None) -> Iterator[None]:
    """dlt's merge script (one `execute_many`, in one transaction where the destination
    has them) run one statement at a time, calling `after_delete` after each DELETE of a
    destination table (not of dlt's staging dataset)."""
    if after_delete is None:
        yield
        return
    from dlt.destinations.sql_client import SqlClientBase

    def execute_many(self: Any, statements: list[str], *args: Any, **kwargs: Any) -> list[Any]:
        results = []
        for statement in statements:
            results.append(self.execute_sql(statement, *args, **kwargs))
            deleted = _DELETE.match(statement)
            if deleted and "_staging" not in deleted.group(1):
                after_delete()
        return results

    SqlClientBase.execute_many = execute_many  # type: ignore[method-assign,assignment]
    yield


def freeze_after(deletes: int, marker: Path) -> Hook:
    """A hook that freezes the writer at the `deletes`-th DELETE: the table's rows of the
    day deleted, none inserted, the transaction open. The parent kills it there."""
    count = 0

    def hook() -> None:
        nonlocal count
        count += 1
        if count == deletes:
            marker.write_text("frozen", encoding="utf-8")
            time.sleep(_FROZEN_FOR_S)

    return hook


def run_phase(args: argparse.Namespace) -> None:
    """The child: land `args.days` files with one mechanism, print what it measured."""
    os.environ.setdefault("RUNTIME__DLTHUB_TELEMETRY", "false")
    os.environ.setdefault("RUNTIME__LOG_LEVEL", "WARNING")
    paths = [Path(path) for path in args.files]
    hook = freeze_after(args.freeze_after, Path(args.marker)) if args.freeze_after else None
    # what a phase imports is imported before the clock starts
    if args.phase.startswith("dlt"):
        import dlt  # noqa: F401
    if args.phase == "dagster_io_manager":
        import dagster_duckdb_pandas  # noqa: F401
    if args.phase in ("ours", "dlt_flat", "dagster_io_manager"):
        import dot_orchestration.transforms.history
    if args.phase == "ours":
        import dot_orchestration.warehouse._duckdb  # noqa: F401
    baseline_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    started, cpu = time.perf_counter(), time.process_time()
    spent: dict[str, float] = {}
    if args.phase == "ours":
        spent = ours(args.target, paths, hook)
    elif args.phase == "duckdb_alone":
        duckdb_alone(args.target, paths, hook)
    elif args.phase == "dagster_io_manager":
        dagster_io_manager(args.target, paths, hook)
    else:
        with dlt_freezing(hook):
            pipeline = dlt_pipeline(args.target, Path(args.state))
            if args.phase == "dlt_flat":
                dlt_flat(pipeline, paths)
            else:
                dlt_nested(pipeline, paths, one_run=args.phase == "dlt_nested_one_run")
    work = {"wall_s": time.perf_counter() - started, "cpu_s": time.process_time() - cpu}
    print(json.dumps({**work, **spent, "baseline_mib": baseline_mib}))


# --- the parent ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Phase:
    """What one child measured: its own clocks, and its peak RSS from `wait4`."""

    wall_s: float
    cpu_s: float
    peak_mib: float
    baseline_mib: float
    extra: dict[str, float]


def child(
    phase: str,
    target: str,
    paths: list[Path],
    state: Path,
    *,
    freeze: tuple[int, Path] | None = None,
) -> Phase | subprocess.Popen[bytes]:
    """Run one phase in a fresh process; a frozen one is returned running, to be killed."""
    command = [sys.executable, __file__, "--phase", phase, "--target", target]
    command += ["--state", str(state), "--files", *map(str, paths)]
    if freeze:
        command += ["--freeze-after", str(freeze[0]), "--marker", str(freeze[1])]
    out = state.parent / f"{state.name}-{time.monotonic_ns()}"
    with out.with_suffix(".out").open("wb") as stdout, out.with_suffix(".err").open("wb") as err:
        process = subprocess.Popen(command, stdout=stdout, stderr=err)
    if freeze:
        return process
    _, status, usage = os.wait4(process.pid, 0)
    if os.waitstatus_to_exitcode(status):
        stderr = out.with_suffix(".err").read_text(errors="replace")
        raise RuntimeError(f"{phase} failed:\n{stderr[-4000:]}")
    measured = json.loads(out.with_suffix(".out").read_text().splitlines()[-1])
    return Phase(
        wall_s=measured.pop("wall_s"),
        cpu_s=measured.pop("cpu_s"),
        peak_mib=usage.ru_maxrss / 1024,
        baseline_mib=measured.pop("baseline_mib"),
        extra=measured,
    )


def measured(phase: str, target: str, paths: list[Path], state: Path) -> Phase:
    result = child(phase, target, paths, state)
    assert isinstance(result, Phase)
    return result


def tables_of(mechanism: str) -> tuple[str, str, str]:
    """(conversations table, its id column, the SQL counting one day's messages)."""
    if mechanism.startswith("dlt_nested"):
        messages = (
            f"SELECT count(*) FROM {SCHEMA}.conversations__messages m JOIN "
            f"{SCHEMA}.conversations c ON m._dlt_root_id = c._dlt_id WHERE c.{PARTITION} = %s"
        )
        return "conversations", "chat_id", messages
    messages = f"SELECT count(*) FROM {SCHEMA}.messages WHERE {PARTITION} = %s"
    return "conversations", "conversation_id", messages


Query = Callable[[str, date], list[tuple[Any, ...]]]


def duckdb_query(db: Path) -> Query:
    def query(sql: str, day: date) -> list[tuple[Any, ...]]:
        with duckdb.connect(str(db), read_only=True) as conn:
            return conn.execute(sql.replace("%s", "?"), [day]).fetchall()

    return query


def postgres_query(url: str) -> Query:
    import psycopg2

    def query(sql: str, day: date) -> list[tuple[Any, ...]]:
        with psycopg2.connect(url) as conn, conn.cursor() as cursor:
            cursor.execute(sql, [day])
            rows: list[tuple[Any, ...]] = cursor.fetchall()
        conn.close()
        return rows

    return query


def day_state(query: Query, mechanism: str, day: date) -> tuple[tuple[str, ...], int]:
    """The day's conversation ids (sorted, repeats kept) and its message count."""
    table, key, messages = tables_of(mechanism)
    ids = query(f"SELECT {key} FROM {SCHEMA}.{table} WHERE {PARTITION} = %s ORDER BY 1", day)
    return tuple(row[0] for row in ids), int(query(messages, day)[0][0])


def expected_state(path: Path) -> tuple[tuple[str, ...], int]:
    records = json.loads(path.read_bytes())
    return tuple(sorted(r["chat_id"] for r in records)), sum(len(r["messages"]) for r in records)


def crash_test(
    mechanism: str, target: str, query: Query, old: Path, new: Path, work: Path, deletes: int
) -> str:
    """Write `old`, kill a writer of `new` after its `deletes`-th DELETE, read the day,
    re-run `new`: what a reader saw after the kill, and whether the re-run landed once."""
    state = work / f"crash-{mechanism}-{deletes}"
    measured(mechanism, target, [old], state)
    marker = work / f"frozen-{mechanism}-{deletes}"
    writer = child(mechanism, target, [new], state, freeze=(deletes, marker))
    assert isinstance(writer, subprocess.Popen)
    deadline = time.monotonic() + 180
    while not marker.exists():
        if writer.poll() is not None or time.monotonic() > deadline:
            writer.kill()
            return f"never froze (exit {writer.returncode})"
        time.sleep(0.05)
    writer.send_signal(signal.SIGKILL)
    writer.wait()
    day = day_of(new)
    after_kill = day_state(query, mechanism, day)
    old_state, new_state = expected_state(old), expected_state(new)
    seen = {old_state: "old day intact", new_state: "new day"}.get(after_kill)
    if seen is None:
        conversations = {old_state[0]: "old", new_state[0]: "new", (): "NO"}
        seen = (
            f"BROKEN: {conversations.get(after_kill[0], 'other')} conversations "
            f"({len(after_kill[0])}), {after_kill[1]} messages (old {old_state[1]}, "
            f"new {new_state[1]})"
        )
    measured(mechanism, target, [new], state)
    rerun = (
        "re-run lands the new day once"
        if day_state(query, mechanism, day) == new_state
        else "re-run WRONG"
    )
    return f"{seen}; {rerun}"


def fresh_target(kind: str, work: Path, name: str, postgres: Any | None) -> tuple[str, Query]:
    """A new empty database for one contender: a DuckDB file or a PostgreSQL database."""
    if kind == "duckdb":
        db = work / f"{name}.duckdb"
        return str(db), duckdb_query(db)
    import psycopg2

    conn = psycopg2.connect(postgres_url(postgres, "dagster"))
    conn.autocommit = True  # CREATE DATABASE runs outside a transaction
    conn.cursor().execute(f"CREATE DATABASE {name}")
    conn.close()
    url = postgres_url(postgres, name)
    return url, postgres_query(url)


def postgres_url(cluster: Any, dbname: str) -> str:
    return f"postgresql://dagster:{cluster.password}@127.0.0.1:{cluster.port}/{dbname}"


def fakesnow_dlt(path: Path, folder: Path) -> str:
    """dlt's Snowflake destination against fakesnow (two work-arounds, each for a gap of
    fakesnow's): how far one day gets."""
    import dlt
    import fakesnow
    from dlt.destinations.sql_client import SqlClientBase

    def one_statement_a_call(self: Any, statements: list[str], *args: Any, **kw: Any) -> Any:
        return [self.execute_sql(statement, *args, **kw) for statement in statements]

    # fakesnow runs one statement per call; dlt sends its DDL as one script
    SqlClientBase.execute_many = one_statement_a_call  # type: ignore[method-assign,assignment]
    # dlt connects with schema '"DOT"."DOT_HISTORY"', which fakesnow cannot look up
    with fakesnow.patch(db_path=folder, create_schema_on_connect=False):
        credentials = {"database": "dot", "username": "u", "password": "p", "host": "account"}
        destination = dlt.destinations.snowflake(credentials=credentials)
        pipeline = dlt.pipeline(
            "fakesnow", destination=destination, dataset_name=SCHEMA, pipelines_dir=str(folder)
        )
        dlt_nested(pipeline, [path])
    return "the day loaded"


def fakesnow_ours(path: Path, folder: Path) -> str:
    """Our Snowflake writer (`SnowflakeLocation`'s session) against fakesnow: the day
    written twice (a re-run replaces it), then counted."""
    import fakesnow

    from dot_orchestration.transforms.history import normalise_history
    from dot_orchestration.warehouse import SnowflakeLocation

    day = day_of(path)
    start = datetime.combine(day, datetime.min.time(), timezone.utc)
    history = normalise_history(
        json.loads(path.read_bytes()), window_start=start, window_end=start + timedelta(1)
    )
    tables = {"conversations": history.conversations, "messages": history.messages}
    location = SnowflakeLocation(account="bench", user="bench", password="bench", database="dot")
    with fakesnow.patch(db_path=folder), location.session() as session:
        started = time.perf_counter()
        for _ in range(2):
            results = session.replace_partitions(
                schema=SCHEMA,
                tables=tables,
                partition_column=PARTITION,
                partition_values=[day],
                allow_empty=False,
            )
        seconds = (time.perf_counter() - started) / 2
    landed = ", ".join(f"{table} {result.rows_inserted}" for table, result in results.items())
    return f"written twice, {seconds:.2f} s a write on fakesnow: {landed} rows"


FAKESNOW = {"fakesnow_dlt": fakesnow_dlt, "fakesnow_ours": fakesnow_ours}


def try_fakesnow(phase: str, path: Path, work: Path) -> str:
    """One `FAKESNOW` prototype in a child: what it reports, or the error it stops at."""
    folder = work / phase
    folder.mkdir()
    command = [sys.executable, __file__, "--phase", phase, "--state", str(folder)]
    done = subprocess.run([*command, "--files", str(path)], capture_output=True, text=True)
    if done.returncode == 0:
        return done.stdout.strip().splitlines()[-1]
    lines = done.stderr.splitlines()
    errors = [at for at, line in enumerate(lines) if "rror" in line]
    return "FAILS: " + " ".join(lines[errors[-1] : errors[-1] + 2] if errors else lines[-3:])


def compare(args: argparse.Namespace) -> None:
    days = [END - timedelta(days=args.days - offset) for offset in range(args.days)]
    with tempfile.TemporaryDirectory() as tmp, postgres_cluster(args.postgres) as cluster:
        work = Path(tmp)
        paths = write_days(work / "new", days, args.per_day, seed=42)
        olds = write_days(work / "old", days[:1], args.per_day, seed=7)
        conversations = sum(len(expected_state(path)[0]) for path in paths)
        messages = sum(expected_state(path)[1] for path in paths)
        rows, megabytes = conversations + messages, sum(p.stat().st_size for p in paths) / 2**20
        print(
            f"{args.days} days ({days[0]} to {days[-1]}): {conversations:,} conversations + "
            f"{messages:,} messages = {rows:,} rows, {megabytes:.1f} MiB of JSON",
            flush=True,
        )
        kinds = [("duckdb", MECHANISMS)]
        if cluster is not None:
            kinds.append(("postgres", ("ours", "dlt_nested", "dlt_nested_one_run")))
        print(
            f"\n{'':<30}{'wall s':>8}{'CPU s':>8}{'rows/s (CPU)':>14}{'x DuckDB':>10}"
            f"{'peak RSS MiB':>14}{'of which imports':>18}"
        )
        limit: Phase | None = None
        for kind, mechanisms in kinds:
            for mechanism in mechanisms:
                target, query = fresh_target(kind, work, f"speed_{mechanism}", cluster)
                phase = measured(mechanism, target, paths, work / f"{kind}-{mechanism}")
                landed = [day_state(query, mechanism, day_of(p)) for p in paths]
                assert landed == [expected_state(p) for p in paths], f"{mechanism} lost rows"
                limit = limit or phase
                print(
                    f"{kind + ' ' + mechanism:<30}{phase.wall_s:8.2f}{phase.cpu_s:8.2f}"
                    f"{rows / phase.cpu_s:14,.0f}{limit.cpu_s / phase.cpu_s:10.2f}"
                    f"{phase.peak_mib:14.1f}{phase.baseline_mib:18.1f}",
                    flush=True,
                )
                if phase.extra:
                    print(f"{'':<30}  " + ", ".join(f"{k} {v:.2f}" for k, v in phase.extra.items()))

        print("\nkilled between DELETE and INSERT (SIGKILL), then re-run:")
        crashes = [("duckdb", mechanism) for mechanism in CRASHED]
        if cluster is not None:
            crashes.append(("postgres", "dlt_nested"))
        for kind, mechanism in crashes:
            for deletes in (1, 2):
                name = f"crash_{mechanism}_{deletes}"
                target, query = fresh_target(kind, work, name, cluster)
                outcome = crash_test(mechanism, target, query, olds[0], paths[0], work, deletes)
                print(
                    f"  {kind} {mechanism}, killed after DELETE #{deletes}: {outcome}", flush=True
                )
        if args.snowflake:
            for phase in FAKESNOW:
                print(f"\n{phase}: {try_fakesnow(phase, paths[0], work)}", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--per-day", type=float, default=350)
    parser.add_argument("--postgres", action="store_true", help="also dlt into PostgreSQL")
    parser.add_argument("--snowflake", action="store_true", help="also try dlt -> fakesnow")
    parser.add_argument("--phase", choices=[*MECHANISMS, *FAKESNOW], help=argparse.SUPPRESS)
    parser.add_argument("--files", nargs="*", help=argparse.SUPPRESS)
    parser.add_argument("--freeze-after", type=int, help=argparse.SUPPRESS)
    for internal in ("--target", "--state", "--marker"):
        parser.add_argument(internal, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.phase in FAKESNOW:
        print(FAKESNOW[args.phase](Path(args.files[0]), Path(args.state)))
    elif args.phase:
        run_phase(args)
    elif importlib.util.find_spec("dlt") is None:
        print("skipped: dlt is not installed (pip install 'dlt[duckdb,postgres]' in a venv of")
        print("its own; the package does not depend on it), so there is nothing to compare")
    else:
        compare(args)


if __name__ == "__main__":
    main()
