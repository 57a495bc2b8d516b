"""`make demo`: the main job end to end on the embedded defaults, then a short summary.

Starts the Dot emulator on a free loopback port, points the example definitions at it
(token and URL as environment variables, exactly as a real deployment would set them),
builds the example dbt project into DuckDB through Dagster on a persistent instance in
`.demo/`, and reports what Dot was asked to do. `make dev` opens the UI on the same state.
"""

from __future__ import annotations

import os
import shutil
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager

from dagster import AssetKey, DagsterInstance, Definitions

from dot_orchestration.client import DotClient
from dot_orchestration.confluence_notes import NOTES_POOL
from dot_orchestration.definitions import EXAMPLE_NOTE_SYNC, ExampleSettings, build_definitions
from dot_orchestration.dot_exposures import refresh_dot_exposures
from dot_orchestration.emulator import ADMIN_TOKEN, EmulatorConfig, EmulatorServer
from dot_orchestration.emulator.confluence import DEFAULT_USERS as CONFLUENCE_USERS
from dot_orchestration.emulator.confluence import ConfluenceEmulatorServer

CATALOGUE_KEY = AssetKey(["dot", "external_assets"])
NOTES_KEY = AssetKey(["dot", "notes", EXAMPLE_NOTE_SYNC.name])
NOTES_JOB = f"dot_notes_{EXAMPLE_NOTE_SYNC.name}_job"


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
def running_emulators(settings: ExampleSettings) -> Iterator[EmulatorServer]:
    """Dot and Confluence emulators on free ports, the environment pointing at them.

    Dot's exposures are fetched before definitions load, as a deployment's build step
    would, so Dot's dashboards show up in the lineage graph.
    """
    (settings.demo_home / "dagster_home").mkdir(parents=True, exist_ok=True)
    with EmulatorServer(EmulatorConfig(seed=42)) as dot, ConfluenceEmulatorServer() as wiki:
        os.environ.update(demo_environment(settings, dot, wiki))
        print(f"Dot emulator on {dot.url}, Confluence emulator on {wiki.url}")
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
    """`dbt build → Dot syncs` as the nightly schedule runs it, then catalogue and notes."""
    everything = defs.resolve_implicit_global_asset_job_def()
    runs = (
        (defs.resolve_job_def("dbt_build_then_dot_sync"), None),
        (everything, [CATALOGUE_KEY]),
        (defs.resolve_job_def(NOTES_JOB), None),
    )
    return all(
        job.execute_in_process(
            instance=instance, asset_selection=selection, raise_on_error=False
        ).success
        for job, selection in runs
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
                f"  synced {key.to_user_string():<32} in {meta.get('duration_s', '?')} s "
                f"({meta.get('attempts', '?')} attempt(s))"
                if meta
                else f"  NOT synced {key.to_user_string()}"
            )
    lines.append(counts_line("Dot catalogue", instance, CATALOGUE_KEY, CATALOGUE_COUNTS))
    lines.append(counts_line("Confluence notes", instance, NOTES_KEY, NOTES_COUNTS))
    lines += [
        f"DuckDB warehouse: {settings.duckdb_path}",
        f"Dagster instance: {settings.demo_home / 'dagster_home'}",
        "Open the UI on the same setup: make dev",
    ]
    return lines


CATALOGUE_COUNTS = ("created", "updated", "unchanged", "deactivated")
NOTES_COUNTS = ("pages_synced", "pages_unchanged", "pages_removed", "dot_writes")


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
    return f"  {label}: " + ", ".join(f"{n} {meta[n]}" for n in names if n in meta)


def main() -> int:
    settings = ExampleSettings.from_env()
    prepare_home(settings)
    with running_emulators(settings):
        defs = build_definitions(ExampleSettings.from_env())
        instance = DagsterInstance.get()
        # Note writers read-modify-write Dot's notes: one at a time (see README, pools).
        instance.event_log_storage.set_concurrency_slots(NOTES_POOL, 1)
        started = time.monotonic()
        ok = run_main_job(defs, instance)
        for line in summarise(defs, instance, settings, time.monotonic() - started):
            print(line)
    if not ok:
        print("The main job FAILED; see the run in the UI (make dev).", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
