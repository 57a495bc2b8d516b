"""The example dbt project (examples/dbt_project), built for real on DuckDB.

Each dbt invocation gets its own DuckDB file, target and log directory under pytest's tmp
dir. The invocations run one after the other (`DbtBatch`, a thread started by a
module-scoped fixture) through the dbt the example runs (`dbt_executable`: the session's
warm dbt, dbt imported once for the whole session, when the session runs one). The default
build comes first and is shared by every test that reads it; each test waits only for the
run it reads.

Each invocation runs in its own folder with the profile's default DuckDB path,
`dot_demo.duckdb` relative to the working directory: one path for dbt (the profile is
part of what its saved parse must match), a file of their own for the builds. So the
invocations with the default `--vars` parse the project once between them, the builds
with a failure switch on included (the switches are environment variables).
"""

from __future__ import annotations

import csv
import json
import os
import shutil
import subprocess
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb
import pytest
from _dbt_builds import FAIL_MODEL, FAIL_TEST

from dot_demo.definitions import dbt_executable

PROJECT_DIR = Path(__file__).resolve().parents[2] / "examples" / "dbt_project"
SEEDS_DIR = PROJECT_DIR / "seeds"

PROJECT = "dot_demo"
MARTS = {"customers", "orders", "daily_revenue"}
FAILING_TEST = "orders_amount_matches_payments"  # blocking test on `orders`
FAILING_MODEL = "daily_revenue"
BATCH_TIMEOUT_S = 240
LS_TAG_DOT = ["ls", "--select", "tag:dot", "--output", "json"]
LS_TAG_DOT += ["--output-keys", "unique_id", "resource_type"]
#: The profile's DuckDB path when `DOT_DEMO_DUCKDB_PATH` is unset, relative to dbt's
#: working directory.
DUCKDB_FILE = "dot_demo.duckdb"


# --------------------------------------------------------------------------- helpers


def _model_id(name: str) -> str:
    return f"model.{PROJECT}.{name}"


@dataclass
class DbtRun:
    """One finished dbt invocation and its artifacts."""

    name: str
    args: list[str]
    workdir: Path
    #: What the dbt CLI exited with: 0 ok, 1 failed nodes, 2 dbt itself failed.
    returncode: int
    stdout: str
    _cache: dict[str, Any] = field(default_factory=dict, repr=False)

    @property
    def listed(self) -> list[str]:
        """What `dbt ls --output json` listed: its JSON lines (dbt's log lines are not)."""
        return [line for line in self.stdout.splitlines() if line.startswith("{")]

    @property
    def db_path(self) -> Path:
        """The profile's default DuckDB file, in the run's working directory."""
        return self.workdir / DUCKDB_FILE

    @property
    def output(self) -> str:
        """For assertion messages: the command, what dbt printed and the end of its log."""
        log = self.workdir / "logs" / "dbt.log"
        tail = log.read_text(errors="replace")[-5000:] if log.exists() else "(no dbt.log)"
        return f"$ dbt {' '.join(self.args)}\n{self.stdout[-5000:]}\n{tail}"

    def _artifact(self, name: str) -> dict[str, Any]:
        if name not in self._cache:
            path = self.workdir / "target" / name
            assert path.exists(), f"no {name}; dbt said:\n{self.output}"
            self._cache[name] = json.loads(path.read_text())
        return self._cache[name]

    @property
    def manifest(self) -> dict[str, Any]:
        return self._artifact("manifest.json")

    @property
    def statuses(self) -> dict[str, str]:
        """unique_id -> status ('success', 'pass', 'fail', 'error', 'skipped', ...)."""
        return {r["unique_id"]: r["status"] for r in self._artifact("run_results.json")["results"]}

    def result(self, unique_id: str) -> dict[str, Any]:
        for r in self._artifact("run_results.json")["results"]:
            if r["unique_id"] == unique_id:
                return r
        raise AssertionError(f"{unique_id} is not in run_results.json")

    def query(self, sql: str) -> list[tuple[Any, ...]]:
        with duckdb.connect(str(self.db_path), read_only=True) as con:
            return con.execute(sql).fetchall()


@dataclass
class DbtJob:
    """One dbt invocation to run: its arguments, the failure switches it turns on (the
    example project's environment variables) and, optionally, a DuckDB file to prepare."""

    args: list[str]
    dbt_vars: dict[str, Any] | None = None
    switches: tuple[str, ...] = ()
    prepare_db: Callable[[Path], None] | None = None
    #: An earlier job of the batch whose parse this one reuses (same `--vars`; the same
    #: profile, see the module's docstring): dbt then parses only what changed, as the
    #: example's builds do.
    reuse_parse_of: str | None = None

    def arguments(self, workdir: Path) -> list[str]:
        """The dbt command line: the project, and the run's target and log folders."""
        args = [
            *self.args,
            "--project-dir", str(PROJECT_DIR),
            "--profiles-dir", str(PROJECT_DIR),
            "--target-path", str(workdir / "target"),
            "--log-path", str(workdir / "logs"),
        ]  # fmt: skip
        if self.dbt_vars is not None:
            args += ["--vars", json.dumps(self.dbt_vars)]
        if self.reuse_parse_of is not None:
            args.append("--partial-parse")
        return args

    def prepare(self, workdir: Path) -> None:
        """The run's folder: the earlier job's saved parse (dbt checks whether it still
        matches, then reuses it) and the DuckDB file the job starts from."""
        workdir.mkdir(parents=True)
        if self.reuse_parse_of is not None:
            (workdir / "target").mkdir()
            saved = workdir.with_name(self.reuse_parse_of) / "target" / "partial_parse.msgpack"
            shutil.copyfile(saved, workdir / "target" / "partial_parse.msgpack")
        if self.prepare_db is not None:
            self.prepare_db(workdir / DUCKDB_FILE)


class DbtBatch:
    """Jobs run in order, in a thread started on creation, each a `dbt` process in its
    own folder under `root`."""

    def __init__(self, root: Path, jobs: dict[str, DbtJob]) -> None:
        self.root = root
        self.jobs = jobs
        self.dbt = dbt_executable()  # read before the environment below drops DOT_DEMO_*
        # Keep the caller's DBT_* settings (target, profile, vars, ...) out of the test.
        env = {k: v for k, v in os.environ.items() if not k.startswith(("DBT_", "DOT_DEMO_"))}
        self.env = env | {
            "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
            "DBT_USE_COLORS": "false",
            "DBT_PARTIAL_PARSE": "false",
        }
        self.runs: dict[str, DbtRun] = {}
        self.error: str | None = None
        #: Set when the run is there, or when the batch stopped before it.
        self.done = {name: threading.Event() for name in jobs}
        self.current: subprocess.Popen[str] | None = None
        self.stopping = False
        self.thread = threading.Thread(target=self._run_all, name="dbt batch", daemon=True)
        self.thread.start()

    def _run_all(self) -> None:
        try:
            for name, job in self.jobs.items():
                if self.stopping:
                    return
                self.runs[name] = self._run(name, job)
                self.done[name].set()
        except Exception as error:  # reported by the test that waits for the next run
            self.error = f"{type(error).__name__}: {error}"
        finally:
            for done in self.done.values():
                done.set()

    def _run(self, name: str, job: DbtJob) -> DbtRun:
        workdir = self.root / name
        job.prepare(workdir)
        args = job.arguments(workdir)
        env = self.env | dict.fromkeys(job.switches, "true")
        with subprocess.Popen(
            [self.dbt, *args],
            cwd=workdir,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        ) as process:
            self.current = process
            stdout, _ = process.communicate()
        return DbtRun(name, args, workdir, process.returncode, stdout)

    def __getitem__(self, name: str) -> DbtRun:
        """The run `name`, once it finished (the rest of the batch may still be running)."""
        assert self.done[name].wait(BATCH_TIMEOUT_S), f"dbt batch still running; {name!r} not done"
        if name not in self.runs:
            pytest.fail(f"the dbt batch stopped before {name!r}: {self.error}")
        return self.runs[name]

    def stop(self) -> None:
        self.stopping = True
        if self.current is not None and self.current.poll() is None:
            self.current.kill()
        self.thread.join(timeout=BATCH_TIMEOUT_S)


def _read_seed(name: str) -> list[dict[str, str]]:
    with (SEEDS_DIR / f"{name}.csv").open(newline="") as fh:
        return list(csv.DictReader(fh))


# ------------------------------------------------- Dot history fixture (dot_usage)

# The column contract of the Dot history export (see models/dot_usage/_dot_history.yml).
HISTORY_DDL = """
create schema dot_history;
create table dot_history.conversations (
    conversation_id varchar, partition_date date, created_at timestamp,
    updated_at timestamp, author_email varchar, author_name varchar, title varchar,
    message_count bigint, labels varchar /* JSON array */, auto_review_label varchar,
    auto_review_score double, auto_review_reason varchar, environment varchar, workspace varchar,
    raw varchar /* JSON object */
);
create table dot_history.messages (
    conversation_id varchar, message_index bigint, partition_date date, role varchar,
    created_at timestamp, content varchar, raw varchar
);
"""

D1, D2 = date(2026, 3, 2), date(2026, 3, 3)
# (conversation_id, partition_date, updated_at hour, author, auto-review label, score)
HISTORY_CONVERSATIONS = [
    ("c1", D1, 9, "alice@example.com", "Success", None),
    ("c2", D1, 10, "alice@example.com", "Issue", 5.0),  # the label decides, not a score
    ("c3", D1, 11, "bob@example.com", None, None),  # not reviewed
    ("c4", D2, 8, "carol@example.com", None, None),  # first export, before the review ...
    ("c4", D2, 12, "carol@example.com", "ok", None),  # ... exported again once reviewed
]
# conversation_id -> roles of its messages, in order
HISTORY_MESSAGES = {
    "c1": ["user", "assistant", "user", "assistant"],
    "c2": ["user", "assistant"],
    "c3": ["user"],
    "c4": ["user", "assistant", "user"],
}
# dot_usage_daily as the model must compute it from the rows above:
# (activity_date, daily_active_users, conversations, user_messages, messages_per_user,
#  reviewed_conversations, good_conversations, good_review_share)
EXPECTED_DOT_USAGE = [
    (D1, 2, 3, 4, 2.0, 2, 1, 0.5),  # alice x2 (Success good, Issue not), bob (unreviewed)
    (D2, 1, 1, 2, 2.0, 1, 1, 1.0),  # carol: latest version of c4 counts once, "ok" is OK
]


def _write_dot_history(db_path: Path) -> None:
    with duckdb.connect(str(db_path)) as con:
        con.execute(HISTORY_DDL)
        for conv_id, day, hour, author, label, score in HISTORY_CONVERSATIONS:
            con.execute(
                "insert into dot_history.conversations values "
                "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    conv_id, day, f"{day} 08:00:00", f"{day} {hour:02d}:00:00", author,
                    author.split("@")[0].title(), f"Question {conv_id}",
                    len(HISTORY_MESSAGES[conv_id]), json.dumps(["demo"]), label, score,
                    None if label is None else "auto-review", "staging", "demo",
                    json.dumps({"id": conv_id}),
                ],
            )  # fmt: skip
            for index, role in enumerate(HISTORY_MESSAGES[conv_id]):
                con.execute(
                    "insert into dot_history.messages values (?, ?, ?, ?, ?, ?, ?)",
                    [
                        conv_id, index, day, role, f"{day} 08:0{index}:00",
                        f"{role} says something", json.dumps({"index": index}),
                    ],
                )  # fmt: skip


# ------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def dbt_runs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DbtBatch]:
    """Start every dbt invocation the module needs, one after the other (the workers
    already keep both cores busy)."""
    batch = DbtBatch(
        tmp_path_factory.mktemp("dbt_project"),
        {
            "default": DbtJob(["build"]),
            "ls_dot": DbtJob(LS_TAG_DOT, reuse_parse_of="default"),
            "fail_test": DbtJob(["build"], switches=(FAIL_TEST,), reuse_parse_of="default"),
            "fail_model": DbtJob(["build"], switches=(FAIL_MODEL,), reuse_parse_of="default"),
            "dot_usage": DbtJob(
                ["build", "--select", "tag:dot_usage"],
                dbt_vars={"dot_usage_enabled": True},
                prepare_db=_write_dot_history,
            ),
        },
    )
    try:
        yield batch
    finally:
        batch.stop()


@pytest.fixture(scope="module")
def default_build(dbt_runs: DbtBatch) -> DbtRun:
    """The plain `dbt build`, shared by every test that reads the built marts."""
    return dbt_runs["default"]


def _tests_attached_to(manifest: dict[str, Any], model_names: set[str]) -> set[str]:
    model_ids = {_model_id(name) for name in model_names}
    return {
        uid
        for uid, node in manifest["nodes"].items()
        if node["resource_type"] == "test" and node.get("attached_node") in model_ids
    }


def _tests_depending_on(manifest: dict[str, Any], model_names: set[str]) -> set[str]:
    model_ids = {_model_id(name) for name in model_names}
    return {
        uid
        for uid, node in manifest["nodes"].items()
        if node["resource_type"] == "test" and model_ids & set(node["depends_on"]["nodes"])
    }


def _assert_all_others_succeeded(statuses: dict[str, str], exclude: set[str]) -> None:
    others = {uid: s for uid, s in statuses.items() if uid not in exclude}
    assert others, "nothing else ran"
    not_ok = {uid: s for uid, s in others.items() if s not in ("success", "pass")}
    assert not not_ok


def _unique_id_of_test(manifest: dict[str, Any], name: str) -> str:
    [uid] = [
        uid
        for uid, node in manifest["nodes"].items()
        if node["resource_type"] == "test" and node["name"] == name
    ]
    return uid


# ---------------------------------------------------------------------------- tests


def test_default_build_passes(default_build: DbtRun) -> None:
    assert default_build.returncode == 0, default_build.output
    statuses = default_build.statuses
    not_ok = {uid: s for uid, s in statuses.items() if s not in ("success", "pass")}
    assert not not_ok, default_build.output
    # every enabled seed, model and test ran
    expected = {
        uid
        for uid, node in default_build.manifest["nodes"].items()
        if node["resource_type"] in ("seed", "model", "test")
    }
    assert set(statuses) == expected
    assert {_model_id(m) for m in MARTS} <= set(statuses)


def test_mart_row_counts_match_the_seeds(default_build: DbtRun) -> None:
    assert default_build.returncode == 0, default_build.output
    customers = _read_seed("raw_customers")
    orders = _read_seed("raw_orders")
    payments = _read_seed("raw_payments")

    def count(table: str) -> int:
        return default_build.query(f"select count(*) from main.{table}")[0][0]

    assert count("customers") == len(customers)
    assert count("orders") == len(orders)
    assert count("daily_revenue") == len({o["order_date"] for o in orders})
    assert count("stg_payments") == len(payments)

    # Totals carry through staging and marts.
    paid_total = sum(Decimal(p["amount"]) for p in payments) / 100
    [(orders_total, daily_total, daily_orders)] = default_build.query(
        "select (select sum(amount) from main.orders),"
        " (select sum(gross_revenue) from main.daily_revenue),"
        " (select sum(number_of_orders) from main.daily_revenue)"
    )
    assert orders_total == paid_total
    assert daily_total == paid_total
    assert daily_orders == len(orders)

    # Customers who never ordered are kept, with 0 orders.
    buyers = {o["user_id"] for o in orders}
    never_ordered = sum(1 for c in customers if c["id"] not in buyers)
    assert never_ordered > 0, "the seed should keep a few customers without orders"
    [(zero_order_customers,)] = default_build.query(
        "select count(*) from main.customers where number_of_orders = 0"
    )
    assert zero_order_customers == never_ordered


def test_marts_are_tagged_dot_and_their_tests_block(default_build: DbtRun) -> None:
    nodes = default_build.manifest["nodes"]
    tagged = {
        node["name"]
        for node in nodes.values()
        if node["resource_type"] == "model" and "dot" in node["tags"]
    }
    assert tagged == MARTS
    mart_tests = _tests_attached_to(default_build.manifest, MARTS)
    assert len(mart_tests) >= len(MARTS) * 2  # unique + not_null on each key, at least
    assert {nodes[uid]["config"]["severity"].lower() for uid in mart_tests} == {"error"}
    for mart in MARTS:
        assert nodes[_model_id(mart)]["description"], f"{mart} has no description"


def test_dbt_ls_tag_dot_lists_exactly_the_marts(dbt_runs: DbtBatch, default_build: DbtRun) -> None:
    ls = dbt_runs["ls_dot"]
    assert ls.returncode == 0, ls.output
    listed = [json.loads(line) for line in ls.listed]
    models = {item["unique_id"] for item in listed if item["resource_type"] == "model"}
    assert models == {_model_id(m) for m in MARTS}
    # Besides the marts, the selection only holds their own data tests (as Dagster asset
    # checks, they gate whatever runs after the marts, such as Dot's sync).
    others = {item["unique_id"] for item in listed if item["resource_type"] != "model"}
    assert others == _tests_attached_to(default_build.manifest, MARTS)


def test_fail_test_switch_fails_exactly_the_blocking_orders_test(
    dbt_runs: DbtBatch, default_build: DbtRun
) -> None:
    run = dbt_runs["fail_test"]
    assert run.returncode == 1, run.output
    statuses = run.statuses

    failing_test = _unique_id_of_test(run.manifest, FAILING_TEST)
    # The switch is read at compile time: same node, same unique_id as without it.
    assert failing_test == _unique_id_of_test(default_build.manifest, FAILING_TEST)
    node = run.manifest["nodes"][failing_test]
    assert node["attached_node"] == _model_id("orders")
    assert node["config"]["severity"].lower() == "error"

    broken = {uid: s for uid, s in statuses.items() if s in ("fail", "error", "warn")}
    assert broken == {failing_test: "fail"}, run.output
    assert run.result(failing_test)["failures"] == len(_read_seed("raw_orders"))

    # Blocking: what is built on `orders` is skipped; everything else still succeeds.
    assert statuses[_model_id("orders")] == "success"
    downstream = {"customers", "daily_revenue"}
    skipped = {uid for uid, s in statuses.items() if s == "skipped"}
    assert skipped == {_model_id(m) for m in downstream} | _tests_depending_on(
        run.manifest, downstream
    )
    _assert_all_others_succeeded(statuses, broken.keys() | skipped)


def test_fail_model_switch_breaks_the_daily_revenue_model(
    dbt_runs: DbtBatch, default_build: DbtRun
) -> None:
    run = dbt_runs["fail_model"]
    assert run.returncode == 1, run.output
    statuses = run.statuses
    failing_model = _model_id(FAILING_MODEL)
    assert "dot" in run.manifest["nodes"][failing_model]["tags"]

    broken = {uid: s for uid, s in statuses.items() if s in ("fail", "error", "warn")}
    assert broken == {failing_model: "error"}, run.output
    assert "dot_demo_fail_model_is_on" in (run.result(failing_model)["message"] or "")

    skipped = {uid for uid, s in statuses.items() if s == "skipped"}
    assert skipped == _tests_depending_on(run.manifest, {FAILING_MODEL})
    _assert_all_others_succeeded(statuses, broken.keys() | skipped)
    # same graph as the default build: the switch only changes compiled SQL
    assert set(statuses) == set(default_build.statuses)


def test_dot_usage_is_disabled_by_default(default_build: DbtRun) -> None:
    manifest = default_build.manifest
    assert _model_id("dot_usage_daily") not in manifest["nodes"]
    assert _model_id("dot_usage_daily") in manifest["disabled"]
    for table in ("conversations", "messages"):
        source_id = f"source.{PROJECT}.dot_history.{table}"
        assert source_id not in manifest["sources"]
        assert source_id in manifest["disabled"]
    assert not any("dot_usage" in uid for uid in default_build.statuses)


def test_dot_usage_daily_builds_from_the_history_tables(
    dbt_runs: DbtBatch,
) -> None:
    run = dbt_runs["dot_usage"]
    assert run.returncode == 0, run.output
    statuses = run.statuses
    assert statuses[_model_id("dot_usage_daily")] == "success"
    # the source tests run too (tag dot_usage is on the source) and pass
    assert any(uid.startswith("test.dot_demo.source_not_null_dot_history") for uid in statuses)
    assert set(statuses.values()) == {"success", "pass"}, run.output
    # nothing else of the project was built
    assert not any(_model_id(m) in statuses for m in MARTS)

    rows = run.query(
        "select activity_date, daily_active_users, conversations, user_messages,"
        " messages_per_user, reviewed_conversations, good_conversations, good_review_share"
        " from main.dot_usage_daily order by activity_date"
    )
    assert rows == EXPECTED_DOT_USAGE
