"""`make demo`: the main job end to end on the embedded defaults, then a short summary.

Starts the Dot emulator on a free loopback port, points the example definitions at it
(token and URL as environment variables, exactly as a real deployment would set them),
builds the example dbt project into DuckDB through Dagster on a persistent instance in
`.demo/`, and reports what Dot was asked to do. `make dev` opens the UI on the same state.

`--strict` runs the same job against the emulator's strict profile, which serves only what
Dot's documentation describes (see docs/ARCHITECTURE.md, "Where the emulator guesses").
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path

import duckdb
from dagster import (
    AssetCheckKey,
    AssetKey,
    DagsterInstance,
    Definitions,
    ExecuteInProcessResult,
    RunRequest,
    build_schedule_context,
)

from dot_demo.definitions import (
    DUCKDB_POOL,
    EXAMPLE_HISTORY,
    EXAMPLE_NOTE_SYNC,
    ExampleSettings,
    build_definitions,
    example_questions,
)
from dot_orchestration.catalogue import refresh_dot_exposures
from dot_orchestration.client import DotClient
from dot_orchestration.emulator import ADMIN_TOKEN, EmulatorConfig, EmulatorServer
from dot_orchestration.emulator.confluence import DEFAULT_USERS as CONFLUENCE_USERS
from dot_orchestration.emulator.confluence import ConfluenceEmulatorServer
from dot_orchestration.emulator.rules import load_answer_rules
from dot_orchestration.notes import NOTES_POOL

CATALOGUE_KEY = AssetKey(["dot", "external_assets"])
NOTES_KEY = AssetKey(["dot", "notes", EXAMPLE_NOTE_SYNC.name])
NOTES_JOB = f"dot_notes_{EXAMPLE_NOTE_SYNC.name}_job"
HISTORY_SCHEDULE = f"{EXAMPLE_HISTORY.name}_daily"
#: How the Dot emulator answers the example's questions: from the example warehouse.
ANSWER_RULES = Path(__file__).with_name("answer_rules.yaml")
#: Steps that must not overlap: notes are read-modify-written, DuckDB has one writer.
POOL_LIMITS = {NOTES_POOL: 1, DUCKDB_POOL: 1}


def demo_environment(
    settings: ExampleSettings, dot: EmulatorServer, wiki: ConfluenceEmulatorServer
) -> dict[str, str]:
    """The variables a real deployment sets; here they point at the emulators and `.demo/`."""
    analyst = CONFLUENCE_USERS[0]
    return {
        "DOT_BASE_URL": dot.url,
        "DOT_API_KEY": ADMIN_TOKEN,
        "CONFLUENCE_BASE_URL": wiki.url,
        "CONFLUENCE_EMAIL": analyst.email,
        "CONFLUENCE_API_TOKEN": analyst.api_token,
        "DAGSTER_HOME": str(settings.demo_home / "dagster_home"),
        "DOT_DEMO_DUCKDB_PATH": str(settings.duckdb_path),
    }


@contextmanager
def running_emulators(
    settings: ExampleSettings, *, strict: bool = False
) -> Iterator[EmulatorServer]:
    """Dot (`strict`: in its strict profile) and Confluence emulators on free ports, the
    environment pointing at them.

    Dot's exposures are fetched before definitions load, as a deployment's build step
    would, so Dot's dashboards show up in the lineage graph. Dot answers the example's
    questions from the warehouse dbt builds (`answer_rules.yaml`), as it is when asked,
    and at once: the emulator's default half second of "thinking" per question would only
    make the demo wait.
    """
    (settings.demo_home / "dagster_home").mkdir(parents=True, exist_ok=True)
    config = EmulatorConfig(
        seed=42,
        strict=strict,
        answer_delay_s=0.0,
        answer_warehouse=settings.duckdb_path,
        answer_rules=load_answer_rules(ANSWER_RULES),
    )
    with EmulatorServer(config) as dot, ConfluenceEmulatorServer() as wiki:
        os.environ.update(demo_environment(settings, dot, wiki))
        profile = " (strict profile)" if strict else ""
        print(f"Dot emulator{profile} on {dot.url}, Confluence emulator on {wiki.url}")
        with DotClient(api_token=ADMIN_TOKEN, base_url=dot.url) as client:
            print(refresh_dot_exposures(client, settings.exposures_state).summary())
        yield dot


def prepare_home(settings: ExampleSettings) -> None:
    """A fresh `.demo/` each time, so two demos in a row show the same thing."""
    shutil.rmtree(settings.demo_home, ignore_errors=True)
    (settings.demo_home / "dagster_home").mkdir(parents=True)
    (settings.demo_home / "dagster_home" / "dagster.yaml").write_text(
        "telemetry:\n  enabled: false\n", encoding="utf-8"
    )


def run_main_job(defs: Definitions, instance: DagsterInstance) -> bool:
    """`dbt build → Dot syncs` as the nightly schedule runs it, then the catalogue, the
    notes, and this morning's history export with the usage models built from it."""
    everything = defs.resolve_implicit_global_asset_job_def()
    runs = (
        (defs.resolve_job_def("dbt_build_then_dot_sync"), None),
        (everything, [CATALOGUE_KEY]),
        (defs.resolve_job_def(NOTES_JOB), None),
    )
    ok = [
        job.execute_in_process(
            instance=instance, asset_selection=selection, raise_on_error=False
        ).success
        for job, selection in runs
    ]
    return all(ok) and run_schedule_tick(defs, instance, HISTORY_SCHEDULE).success


def ask_questions(
    defs: Definitions, instance: DagsterInstance, settings: ExampleSettings
) -> ExecuteInProcessResult:
    """What the automation sensor and the weekly schedule run after the syncs: each
    question, and the checks of its answer on the models it names."""
    questions = example_questions(settings.duckdb_path)
    checks = {AssetCheckKey(q.target(e), e.name) for q in questions for e in q.expect}
    job = defs.resolve_implicit_global_asset_job_def().get_subset(
        asset_selection={q.asset_key for q in questions}, asset_check_selection=checks
    )
    return job.execute_in_process(instance=instance, raise_on_error=False)


def question_lines(
    instance: DagsterInstance, settings: ExampleSettings, asked: ExecuteInProcessResult
) -> list[str]:
    """Dot's answer to each question, and each answer check with both numbers."""
    lines = ["Asked Dot:"]
    for question in example_questions(settings.duckdb_path):
        meta = latest_metadata(instance, question.asset_key)
        answer = meta.get("dot/answer", "NOT answered")
        lines.append(f"  {question.name}: {answer}")
    for check in asked.get_asset_check_evaluations():
        numbers = {k: getattr(v, "value", v) for k, v in check.metadata.items()}
        verdict = "passed" if check.passed else "FAILED"
        lines.append(
            f"  check {check.check_name} on {check.asset_key.to_user_string()}: {verdict}, "
            f"Dot {numbers.get('dot_value', '?')} vs SQL {numbers.get('sql_value', '?')} "
            f"(tolerance {numbers.get('tolerance', '?')})"
        )
    return lines


def run_schedule_tick(
    defs: Definitions, instance: DagsterInstance, name: str
) -> ExecuteInProcessResult:
    """What the daemon does when the schedule fires now: evaluate it, run its request."""
    schedule = defs.resolve_schedule_def(name)
    now = datetime.now(timezone.utc)
    with build_schedule_context(instance=instance, scheduled_execution_time=now) as context:
        (request,) = [r for r in schedule.evaluate_tick(context).run_requests or ()]
    assert isinstance(request, RunRequest)
    return defs.resolve_job_def(schedule.job_name).execute_in_process(
        instance=instance, tags=request.tags, raise_on_error=False
    )


def summarise(
    defs: Definitions, instance: DagsterInstance, settings: ExampleSettings, seconds: float
) -> list[str]:
    """What synced and how long it took, where the data is, and how to look at it."""
    lines = [f"Main job finished in {seconds:.1f} s."]
    for key in sorted(defs.resolve_all_asset_keys(), key=AssetKey.to_user_string):
        if key.path[:2] == ["dot", "sync"]:
            meta = latest_metadata(instance, key)
            lines.append(
                f"  synced {key.to_user_string():<32} in {meta.get('dot/sync_duration_s', '?')} s "
                f"({meta.get('dot/sync_attempts', '?')} attempt(s))"
                if meta
                else f"  NOT synced {key.to_user_string()}"
            )
    lines.append(counts_line("Dot catalogue", instance, CATALOGUE_KEY, CATALOGUE_COUNTS))
    lines.append(counts_line("Confluence notes", instance, NOTES_KEY, NOTES_COUNTS))
    lines += history_lines(instance, settings)
    lines += [
        f"DuckDB warehouse: {settings.duckdb_path}",
        f"Dagster instance: {settings.demo_home / 'dagster_home'}",
        "Open the UI on the same setup: make dev",
    ]
    return lines


CATALOGUE_COUNTS = ("dot/created", "dot/updated", "dot/unchanged", "dot/deactivated")
NOTES_COUNTS = tuple(
    f"dot/{name}" for name in ("pages_synced", "pages_unchanged", "pages_removed", "note_writes")
)


def history_lines(instance: DagsterInstance, settings: ExampleSettings) -> list[str]:
    """The days the history export landed, and what `dot_usage_daily` made of them."""
    records = instance.fetch_materializations(EXAMPLE_HISTORY.asset_key, limit=10).records
    lines = ["  Dot history exported:"]
    for record in sorted(records, key=lambda r: r.partition_key or ""):
        meta = record.asset_materialization.metadata if record.asset_materialization else {}
        counts = {name: getattr(meta.get(name), "value", "?") for name in HISTORY_COUNTS}
        lines.append(
            f"    {record.partition_key}: " + ", ".join(f"{v} {k}" for k, v in counts.items())
        )
    with duckdb.connect(str(settings.duckdb_path), read_only=True) as warehouse:
        usage = warehouse.sql(
            "select activity_date, daily_active_users, round(good_review_share, 2) "
            "from dot_usage_daily order by activity_date"
        ).fetchall()
    lines += [
        f"  dot_usage_daily {day}: {users} active users, {share:.0%} of reviewed ones good"
        for day, users, share in usage
    ]
    return lines


HISTORY_COUNTS = ("conversations", "messages")


def latest_metadata(instance: DagsterInstance, key: AssetKey) -> dict[str, object]:
    """The plain values of an asset's latest materialization metadata ({} if none)."""
    event = instance.get_latest_materialization_event(key)
    if event is None or event.asset_materialization is None:
        return {}
    return {k: getattr(v, "value", v) for k, v in event.asset_materialization.metadata.items()}


def counts_line(label: str, instance: DagsterInstance, key: AssetKey, names: Sequence[str]) -> str:
    """One summary line of counts from an asset's latest materialization."""
    meta = latest_metadata(instance, key)
    if not meta:
        return f"  {label}: NOT materialized"
    return f"  {label}: " + ", ".join(
        f"{n.removeprefix('dot/')} {meta[n]}" for n in names if n in meta
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="make demo", description=__doc__.splitlines()[0])
    parser.add_argument(
        "--strict", action="store_true", help="the Dot emulator's strict profile (documented only)"
    )
    args = parser.parse_args(argv)
    settings = ExampleSettings.from_env()
    prepare_home(settings)
    with running_emulators(settings, strict=args.strict):
        defs = build_definitions(ExampleSettings.from_env())
        instance = DagsterInstance.get()
        for pool, limit in POOL_LIMITS.items():  # see README, "Pools"
            instance.event_log_storage.set_concurrency_slots(pool, limit)
        started = time.monotonic()
        ok = run_main_job(defs, instance)
        seconds = time.monotonic() - started
        asked = ask_questions(defs, instance, settings)
        for line in summarise(defs, instance, settings, seconds):
            print(line)
        for line in question_lines(instance, settings, asked):
            print(line)
        ok = ok and asked.success
    if not ok:
        print("The main job FAILED; see the run in the UI (make dev).", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
