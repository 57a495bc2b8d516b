"""The Airflow provider, run by Airflow: `dag.test()` against the emulators over real HTTP.

Each operator's success path and its failure classes (whether Airflow may retry them is
part of the contract: the tasks that show it have one retry), the three-day history
backfill run twice (into DuckDB, and into PostgreSQL through an Airflow connection), the
deferrable question and its trigger, the examples and the README's DAG, the token scan of
what the tasks logged and stored, and the provider as Airflow lists it. One Airflow for
the module (`airflow` in conftest.py).
"""

import json
import os
import subprocess
import sys
from collections.abc import Callable
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import duckdb
import pytest
from _airflow_home import AirflowSession
from _dbt_builds import FAIL_TEST
from reliability._postgres import (
    DATABASE,
    SUPERUSER,
    PostgresCluster,
    running_cluster,
)

from dot_orchestration.emulator import ADMIN_TOKEN, EmulatorConfig, EmulatorServer
from dot_orchestration.emulator.confluence import ConfluenceEmulatorServer
from dot_orchestration.emulator.faults import FaultRule

#: The example project's blocking test on `orders` (its failure switch, `FAIL_TEST`, fails it).
ORDERS_TEST = "test.dot_demo.orders_amount_matches_payments"
#: Closed days the emulator has history for (it generates a year up to today).
DAYS = [date.today() - timedelta(days=n) for n in (4, 3, 2)]
#: Rows per day of each history table.
Rows = dict[str, dict[date, int]]


def run(session: AirflowSession, module: str, dag_id: str, day: date | None = None) -> Any:
    """`dag.test()` of one DAG (at midnight UTC of `day`, default: yesterday's)."""
    day = day or date.today() - timedelta(days=1)
    logical = datetime(day.year, day.month, day.day, tzinfo=timezone.utc)
    return session.dag(module, dag_id).test(logical_date=logical)


def states(dag_run: Any) -> dict[str, str]:
    """Each task's final state in the run."""
    return {ti.task_id: str(ti.state) for ti in dag_run.get_task_instances()}


def tries(dag_run: Any, task_id: str) -> int:
    """How many times Airflow ran the task in this run."""
    return int(dag_run.get_task_instance(task_id).try_number)


def returned(dag_run: Any, task_id: str) -> Any:
    """What the task returned (its `return_value` XCom)."""
    from airflow.models.xcom import XComModel
    from airflow.utils.session import create_session

    query = XComModel.get_many(
        run_id=dag_run.run_id, dag_ids=dag_run.dag_id, task_ids=task_id, key="return_value"
    )
    with create_session() as db:
        row = db.scalars(query).first()
        return None if row is None else XComModel.deserialize_value(row)


def calls(server: EmulatorServer, method: str, prefix: str) -> list[dict[str, Any]]:
    return [
        entry
        for entry in server.state.journal.entries()
        if entry["method"] == method and entry["path"].startswith(prefix)
    ]


@pytest.fixture
def dot(airflow: AirflowSession, dot_emulator: EmulatorServer) -> EmulatorServer:
    """The Dot emulator, reset for the test."""
    return dot_emulator


# ----------------------------------------------------------------------------- the provider


def test_airflow_lists_the_provider_with_its_connection_forms(airflow: AirflowSession) -> None:
    listed = subprocess.run(
        [str(Path(sys.executable).with_name("airflow")), "providers", "list"],
        capture_output=True,
        text=True,
        env={**os.environ, **airflow.env},
        timeout=120,
        check=True,
    )
    [row] = [line for line in listed.stdout.splitlines() if "dot-orchestration" in line]
    assert "0.1.0" in row and "Dot (getdot.ai)" in row

    from airflow.providers_manager import ProvidersManager

    manager = ProvidersManager()
    assert manager.hooks["dot"].hook_class_name == "dot_orchestration.airflow.hooks.DotHook"
    assert manager.hooks["confluence"].connection_type == "confluence"
    form = manager.field_behaviours["dot"]
    assert form["relabeling"]["password"] == "Dot API token"
    assert {"extra__dot__environment", "extra__dot__auth_mode"} <= set(
        manager.connection_form_widgets
    )


# ----------------------------------------------------------------------------- sync


def test_a_sync_is_accepted_and_updates_the_connections_asset(
    airflow: AirflowSession, dot: EmulatorServer
) -> None:
    dag_run = run(airflow, "dot_test_dags", "dot_test_sync")

    assert states(dag_run) == {"sync": "success"}
    assert returned(dag_run, "sync")["connection"] == "snowflake/prod"
    assert [(r.connection_type, r.connection_id) for r in dot.state.sync_log] == [
        ("snowflake", "prod")
    ]
    from airflow.models.asset import AssetEvent
    from airflow.utils.session import create_session

    with create_session() as db:
        events = db.query(AssetEvent).filter(AssetEvent.source_run_id == dag_run.run_id).all()
        assert [event.asset.uri for event in events] == ["dot://sync/snowflake/prod"]


def test_a_sync_whose_outcome_is_unknown_is_not_sent_again_by_airflow(
    airflow: AirflowSession, dot: EmulatorServer
) -> None:
    # Dot got it (the handler ran), then the answer was lost: a 503 after processing.
    dot.state.faults = [FaultRule(path="/api/sync/*", kind="status", status=503, phase="after")]

    dag_run = run(airflow, "dot_test_dags", "dot_test_sync")

    assert states(dag_run) == {"sync": "failed"}
    assert tries(dag_run, "sync") == 1  # the task has a retry; it was not used
    assert len(calls(dot, "POST", "/api/sync/")) == 1


def test_a_refused_sync_is_retried_by_airflow(airflow: AirflowSession, dot: EmulatorServer) -> None:
    dot.state.faults = [FaultRule(path="/api/sync/*", kind="status", status=403)]

    dag_run = run(airflow, "dot_test_dags", "dot_test_sync")

    assert states(dag_run) == {"sync": "failed"}
    assert tries(dag_run, "sync") == 2
    assert len(calls(dot, "POST", "/api/sync/")) == 2  # one per try: Dot refused both
    assert dot.state.sync_log == []


# ----------------------------------------------------------------------------- history


def history_rows(airflow: AirflowSession) -> Rows:
    """Rows per day of each history table the test DAG writes."""
    path = airflow.env["AIRFLOW_VAR_DOT_TEST_DUCKDB"]
    with duckdb.connect(path, read_only=True) as db:
        return {
            table: dict(
                db.sql(
                    f"select partition_date, count(*) from dot_history.{table} group by 1"
                ).fetchall()
            )
            for table in ("conversations", "messages")
        }


def backfill_twice(
    airflow: AirflowSession, dag_id: str, rows: Callable[[], Rows]
) -> tuple[Rows, list[Any]]:
    """Back-fill the three days twice, one run per day as `airflow backfill create` makes
    them; the second leaves `rows()` as the first left them. What the second's runs returned
    (a later run of a day clears the earlier one's task instances)."""

    def backfill() -> list[Any]:
        runs = [run(airflow, "dot_test_dags", dag_id, day) for day in DAYS]
        assert [states(r) for r in runs] == [{"history": "success"}] * 3
        return [returned(r, "history") for r in runs]

    backfill()
    after_first = rows()
    again = backfill()
    assert rows() == after_first
    return after_first, again


def assert_each_day_once(dot: EmulatorServer, landed: Rows, again: list[Any]) -> None:
    """Each day holds Dot's conversations and messages of that day, and the re-run replaced
    each day's rows: it added none."""
    for day in DAYS:
        truth = dot.state.history_truth(day, day + timedelta(days=1))
        assert landed["conversations"][day] == truth.conversations > 0
        assert landed["messages"][day] == truth.messages
    for result in again:
        assert result["rows_deleted"] == result["rows_inserted"] > 0


def test_a_three_day_backfill_run_twice_leaves_each_day_once(
    airflow: AirflowSession, dot: EmulatorServer
) -> None:
    landed, again = backfill_twice(airflow, "dot_test_history", lambda: history_rows(airflow))
    assert_each_day_once(dot, landed, again)


def test_a_backfill_into_postgres_through_an_airflow_connection_leaves_each_day_once(
    airflow: AirflowSession, dot: EmulatorServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The same export into a PostgreSQL server named by an Airflow `postgres` connection
    (host, port, schema as the database, login, password), run twice over three days."""
    with running_cluster() as cluster:
        connection = {
            "conn_type": "postgres",
            "host": "127.0.0.1",
            "port": cluster.port,
            "schema": DATABASE,
            "login": SUPERUSER,
            "password": cluster.password,
        }
        monkeypatch.setenv("AIRFLOW_CONN_DOT_TEST_POSTGRES", json.dumps(connection))
        landed, again = backfill_twice(
            airflow, "dot_test_history_postgres", lambda: postgres_rows(cluster)
        )
    assert_each_day_once(dot, landed, again)


def postgres_rows(cluster: PostgresCluster) -> Rows:
    """Rows per day of each history table in the cluster's database."""
    import psycopg2

    with (
        psycopg2.connect(
            host="127.0.0.1",
            port=cluster.port,
            dbname=DATABASE,
            user=SUPERUSER,
            password=cluster.password,
        ) as db,
        db.cursor() as cursor,
    ):
        rows = {}
        for table in ("conversations", "messages"):
            cursor.execute(f"select partition_date, count(*) from dot_history.{table} group by 1")
            rows[table] = dict(cursor.fetchall())
        return rows


def test_a_failed_export_leaves_the_day_as_it_was_and_an_open_day_is_refused(
    airflow: AirflowSession, dot: EmulatorServer
) -> None:
    day = DAYS[0]
    assert states(run(airflow, "dot_test_dags", "dot_test_history", day)) == {"history": "success"}
    before = history_rows(airflow)
    dot.state.faults = [
        FaultRule(path="/api/export_history", kind="malformed", malformed="truncated_json")
    ]

    assert states(run(airflow, "dot_test_dags", "dot_test_history", day)) == {"history": "failed"}
    assert history_rows(airflow) == before

    dot.state.faults = []
    dot.state.journal.clear()
    today = run(airflow, "dot_test_dags", "dot_test_history", date.today())
    assert states(today) == {"history": "failed"}
    assert not calls(dot, "GET", "/api/export_history")  # refused before asking Dot


def test_the_example_history_dag_exports_into_the_example_warehouse(
    airflow: AirflowSession, dot: EmulatorServer
) -> None:
    dag_run = run(airflow, "dot_history_daily", "dot_history_daily", DAYS[-1])

    assert states(dag_run) == {"dot_history": "success"}
    with duckdb.connect(airflow.env["DOT_DEMO_DUCKDB_PATH"], read_only=True) as db:
        [(count,)] = db.sql("select count(*) from dot_history.conversations").fetchall()
    assert count == dot.state.history_truth(DAYS[-1], DAYS[-1] + timedelta(days=1)).conversations


# ----------------------------------------------------------------------------- catalogue


def test_the_catalogue_is_reconciled_and_a_failed_write_fails_the_task(
    airflow: AirflowSession, dot: EmulatorServer
) -> None:
    # Dot refuses one write: the task fails naming it; the next run writes it.
    dot.state.faults = [
        FaultRule(
            method="POST",
            path="/api/import_and_overwrite_external_asset",
            kind="status",
            status=422,
            times=1,
        )
    ]
    assert states(run(airflow, "dot_test_dags", "dot_test_catalogue")) == {"catalogue": "failed"}
    done = run(airflow, "dot_test_dags", "dot_test_catalogue")
    assert states(done) == {"catalogue": "success"}
    assert returned(done, "catalogue")["counts"]["create"] == 1  # the one that failed
    assert returned(done, "catalogue")["writes"] == 1
    settled = run(airflow, "dot_test_dags", "dot_test_catalogue")
    assert returned(settled, "catalogue")["writes"] == 0
    stored = {asset["id"] for asset in dot.state.space().snapshot()["external_assets"]}
    assert {"dagster:metabase-daily-revenue", "dagster:hex-order-funnel"} <= stored


def test_a_catalogue_file_with_a_bad_entry_fails_when_the_dag_is_parsed(
    airflow: AirflowSession, tmp_path: Path
) -> None:
    from dot_orchestration.airflow.operators import DotCatalogueOperator
    from dot_orchestration.transforms.catalogue import CatalogueError

    bad = tmp_path / "catalogue.yaml"
    bad.write_text("external_assets:\n  - name: no id\n")
    with pytest.raises(CatalogueError, match=r"catalogue.yaml"):
        DotCatalogueOperator(task_id="catalogue", catalogue_path=bad)


# ----------------------------------------------------------------------------- notes


def test_the_example_note_sync_writes_notes_and_keeps_its_ownership_record(
    airflow: AirflowSession, dot: EmulatorServer, confluence_server: ConfluenceEmulatorServer
) -> None:
    confluence_server.state.reset()
    dag_run = run(airflow, "dot_confluence_notes", "dot_confluence_notes")

    assert states(dag_run) == {"dot_notes": "success"}
    assert returned(dag_run, "dot_notes")["pages"]["synced"] >= 3
    notes = dot.state.space().snapshot()["org_notes"]
    assert any(note["title"].startswith("[Confluence] Metric definitions") for note in notes)
    from airflow.models.variable import Variable

    record = Variable.get("dot_notes_ownership.confluence", deserialize_json=True)
    assert {note["id"] for note in notes} <= set(record)


def test_a_note_sync_dot_refuses_fails_without_retries(
    airflow: AirflowSession, dot: EmulatorServer, confluence_server: ConfluenceEmulatorServer
) -> None:
    confluence_server.state.reset()
    dot.state.faults = [FaultRule(method="GET", path="/api/org_notes", kind="status", status=403)]

    dag_run = run(airflow, "dot_confluence_notes", "dot_confluence_notes")

    assert states(dag_run) == {"dot_notes": "failed"}
    assert tries(dag_run, "dot_notes") == 1  # retries=3, but a refused token stays refused


# ----------------------------------------------------------------------------- dbt


def test_the_example_dbt_dag_pushes_the_results_and_syncs_after_a_clean_build(
    airflow: AirflowSession, dot: EmulatorServer
) -> None:
    """The example project, built by the real dbt (the session's, `DOT_DEMO_DBT_EXECUTABLE`,
    else `dbt`), into the worker's warehouse."""
    dag_run = run(airflow, "dot_dbt_then_sync", "dot_dbt_then_sync")

    assert set(states(dag_run).values()) == {"success"}
    assert sorted((r.connection_type, r.connection_id) for r in dot.state.sync_log) == [
        ("dbt", "dot_demo"),
        ("duckdb", "dot_demo"),
    ]
    [push] = calls(dot, "POST", "/api/dbt/run_results")
    statuses = dbt_statuses(push)
    assert statuses["model.dot_demo.orders"] == "success"
    assert statuses[ORDERS_TEST] == "pass"
    assert set(statuses.values()) <= {"success", "pass"}
    assert not [i for i in dot.state.space().snapshot()["incidents"] if i["status"] == "open"]


def dbt_statuses(push: dict[str, Any]) -> dict[str, str]:
    """Each node's status in a pushed `run_results.json`, by unique id without the hash
    dbt appends to a test's."""
    results = push["body"]["run_results"]["results"]
    return {".".join(r["unique_id"].split(".")[:3]): r["status"] for r in results}


def test_after_a_failed_build_the_results_are_pushed_and_nothing_syncs(
    airflow: AirflowSession, dot: EmulatorServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The example project's failure switch fails a blocking test on `orders`: dbt exits 1,
    its results still reach Dot (an incident on `orders` opens), nothing syncs."""
    monkeypatch.setenv(FAIL_TEST, "1")

    dag_run = run(airflow, "dot_dbt_then_sync", "dot_dbt_then_sync")

    assert states(dag_run) == {
        "dbt_build": "failed",
        "dot_dbt_run_results": "success",
        "dot_sync_duckdb": "upstream_failed",
        "dot_sync_dbt": "upstream_failed",
    }
    assert dot.state.sync_log == []
    [push] = calls(dot, "POST", "/api/dbt/run_results")
    assert dbt_statuses(push)[ORDERS_TEST] == "fail"
    incidents = dot.state.space().snapshot()["incidents"]
    assert [(i["table"], i["status"]) for i in incidents] == [("orders", "open")]


# ----------------------------------------------------------------------------- incidents


def test_check_results_open_and_resolve_incidents(
    airflow: AirflowSession, dot: EmulatorServer
) -> None:
    dag_run = run(airflow, "dot_test_dags", "dot_test_incidents")

    assert states(dag_run) == {"incidents": "success"}
    assert returned(dag_run, "incidents") == {
        "opened": 1,
        "resolved": 1,
        "resolutions_refused": 0,
    }
    incidents = {i["table"]: i for i in dot.state.space().snapshot()["incidents"]}
    assert incidents["analytics.main.orders"]["status"] == "open"
    assert incidents["analytics.main.orders"]["url"].startswith("http")


def test_a_resolution_lost_to_an_outage_fails_the_task_after_the_new_incidents(
    airflow: AirflowSession, dot: EmulatorServer
) -> None:
    # The resolution (sent first) meets a rate limit longer than the client waits.
    dot.state.faults = [
        FaultRule(
            path="/api/quality/incidents", kind="status", status=429, retry_after=600, times=1
        )
    ]

    dag_run = run(airflow, "dot_test_dags", "dot_test_incidents")

    assert states(dag_run) == {"incidents": "success"}
    assert tries(dag_run, "incidents") == 2  # the first try failed after the new incidents
    statuses = [e["status"] for e in calls(dot, "POST", "/api/quality/incidents")]
    assert statuses == [429, 200, 200, 200]


# ----------------------------------------------------------------------------- questions


def test_a_deferred_question_is_answered_through_its_trigger(
    airflow: AirflowSession, dot: EmulatorServer
) -> None:
    dag_run = run(airflow, "dot_test_dags", "dot_test_question")

    assert states(dag_run) == {"ask": "success", "ask_in_worker": "success"}
    deferred, waited = returned(dag_run, "ask"), returned(dag_run, "ask_in_worker")
    for answer in (deferred, waited):
        assert answer["outcome"] == "answered" and answer["answer"]
    assert tries(dag_run, "ask") == 1  # resumed after the trigger, not retried
    polls = calls(dot, "GET", f"/api/c2/{deferred['chat_id']}")
    asked = [e for e in calls(dot, "POST", "/api/agentic") if deferred["chat_id"] in str(e["body"])]
    assert len(asked) == 1 and polls  # asked once; the trigger read the answer


def test_a_question_not_answered_in_time_fails_without_asking_again(
    airflow: AirflowSession, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Against a Dot that thinks for a minute: with the session's (0.5 s), a busy machine
    can start the trigger after the answer came, and its one read past the deadline finds it."""
    with EmulatorServer(EmulatorConfig(answer_delay_s=60.0), port=0) as slow:
        connection = {"conn_type": "dot", "host": slow.url, "password": ADMIN_TOKEN}
        monkeypatch.setenv("AIRFLOW_CONN_DOT_DEFAULT", json.dumps(connection))

        dag_run = run(airflow, "dot_test_dags", "dot_test_question_timeout")

        assert states(dag_run) == {"ask": "failed"}
        assert tries(dag_run, "ask") == 1
        assert len(calls(slow, "POST", "/api/agentic")) == 1


# ----------------------------------------------------------------------------- README


def test_the_readme_dag_exports_and_syncs(
    airflow: AirflowSession, dot: EmulatorServer, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.chdir(tmp_path)  # its warehouse is a relative path

    dag_run = run(airflow, "readme_dag", "dot_daily", DAYS[0])

    assert states(dag_run) == {"dot_history": "success", "dot_sync": "success"}
    assert (tmp_path / "warehouse.duckdb").exists()


# ----------------------------------------------------------------------------- the token


def test_the_token_is_in_no_task_log_and_nothing_airflow_stored(
    airflow: AirflowSession, dot: EmulatorServer, capfd: pytest.CaptureFixture[str]
) -> None:
    """What a person can read after runs that succeeded, failed with Dot's answer in the
    message, and deferred: the task logs (printed by `dag.test()`), and every table of
    Airflow's DB (rendered templates, XComs, trigger arguments, the serialized DAGs)."""
    dot.state.faults = [FaultRule(path="/api/sync/*", kind="status", status=503, phase="after")]
    run(airflow, "dot_test_dags", "dot_test_sync")
    dot.state.faults = []
    run(airflow, "dot_test_dags", "dot_test_question")
    run(airflow, "dot_test_dags", "dot_test_incidents")

    logged = "".join(capfd.readouterr())
    assert "Outcome unknown for snowflake/prod" in logged  # the failure's message was logged
    assert "Dot quality incidents: 1 incident(s) opened" in logged
    assert ADMIN_TOKEN not in logged
    from airflow.settings import engine
    from sqlalchemy import MetaData, select

    tables = MetaData()
    tables.reflect(bind=engine)
    with engine.connect() as db:
        stored = {
            table.name: " ".join(map(str, db.execute(select(table)).fetchall()))
            for table in tables.sorted_tables
        }
    assert stored["rendered_task_instance_fields"] and stored["xcom"]
    assert [name for name, text in stored.items() if ADMIN_TOKEN in text] == []


# ----------------------------------------------------------------------------- the hooks


def test_the_hook_checks_its_connection_and_finds_an_environment_by_name(
    airflow: AirflowSession, dot: EmulatorServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    from dot_orchestration.airflow.hooks import DotHook
    from dot_orchestration.client import DotUnknownEnvironmentError

    def connection(**extra: Any) -> DotHook:
        conn = {"conn_type": "dot", "host": dot.url, "password": ADMIN_TOKEN, "extra": extra}
        monkeypatch.setenv("AIRFLOW_CONN_DOT_CHECKED", json.dumps(conn))
        return DotHook("dot_checked")

    with connection(environment_name="staging").get_client() as client:
        client.sync_connection("snowflake", "prod")
    assert dot.state.sync_log[-1].environment == "staging"
    assert ADMIN_TOKEN not in repr(connection())
    for extra, problem in [
        ({"environment_name": "nope"}, "no environment 'nope'"),
        ({"environment": "nope"}, "no environment id 'nope'"),
    ]:
        with pytest.raises(DotUnknownEnvironmentError, match=problem):  # noqa: SIM117
            with connection(**extra).get_client():
                pytest.fail("a client for an environment Dot does not list")
    with (
        pytest.raises(ValueError, match="unknown extras region"),
        connection(region="eu").get_client(),
    ):
        pass


def test_each_task_links_to_dots_web_app_without_the_token(
    airflow: AirflowSession, dot: EmulatorServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The operators' extra link: the connection's base URL, or its region's app."""
    from airflow.models.taskinstancekey import TaskInstanceKey

    from dot_orchestration.airflow.operators import DotLink

    [sync] = airflow.dag("dot_test_dags", "dot_test_sync").tasks
    key = TaskInstanceKey("dot_test_sync", "sync", "manual", 1)
    assert [link.name for link in sync.operator_extra_links] == ["Dot"]
    assert DotLink().get_link(sync, ti_key=key) == dot.url
    conn = {"conn_type": "dot", "host": "eu", "password": ADMIN_TOKEN}  # a region
    monkeypatch.setenv("AIRFLOW_CONN_DOT_DEFAULT", json.dumps(conn))
    assert DotLink().get_link(sync, ti_key=key) == "https://eu.getdot.ai"


# ----------------------------------------------------------------------------- imports

#: Run in a fresh interpreter: without Airflow, the provider's info still loads and its
#: hooks name the extra; with it (stand-ins: only the names matter here), the operators
#: load without Dagster.
_IMPORTS = """
import importlib, sys, types
sys.modules["airflow"] = None
from dot_orchestration.airflow import get_provider_info
assert get_provider_info()["package-name"] == "dot-orchestration"
try:
    importlib.import_module("dot_orchestration.airflow.operators")
except ImportError as error:
    print(type(error).__name__, error)
del sys.modules["airflow"]
for name in ("airflow", "airflow.sdk", "airflow.sdk.exceptions", "airflow.triggers.base"):
    module = sys.modules[name] = types.ModuleType(name)
    module.__getattr__ = lambda attribute: type(attribute, (), {})
importlib.import_module("dot_orchestration.airflow.operators")
print("dagster imported:", "dagster" in sys.modules)
"""


def test_the_provider_names_its_extra_and_imports_no_dagster() -> None:
    result = subprocess.run(
        [sys.executable, "-c", _IMPORTS], capture_output=True, text=True, check=True, timeout=60
    )
    missing, dagster = result.stdout.splitlines()
    assert missing.startswith("MissingExtraError the Dot Airflow provider: missing")
    assert "pip install 'dot-orchestration[airflow]'" in missing
    assert dagster == "dagster imported: False"
