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
from collections.abc import Mapping

from dagster import AssetKey, DagsterInstance, Definitions

from dot_orchestration.client import DotClient
from dot_orchestration.definitions import ExampleSettings, build_definitions
from dot_orchestration.dot_exposures import refresh_dot_exposures
from dot_orchestration.emulator import ADMIN_TOKEN, EmulatorConfig, EmulatorServer

CATALOGUE_KEY = AssetKey(["dot", "external_assets"])


def demo_environment(settings: ExampleSettings, emulator_url: str) -> dict[str, str]:
    """The variables a real deployment sets; here they point at the emulator and `.demo/`."""
    return {
        "DOT_BASE_URL": emulator_url,
        "DOT_API_KEY": ADMIN_TOKEN,
        "DAGSTER_HOME": str(settings.demo_home / "dagster_home"),
        "DOT_DEMO_DUCKDB_PATH": str(settings.duckdb_path),
    }


def prepare_home(settings: ExampleSettings) -> None:
    """A fresh `.demo/` each time, so two demos in a row show the same thing."""
    shutil.rmtree(settings.demo_home, ignore_errors=True)
    (settings.demo_home / "dagster_home").mkdir(parents=True)
    (settings.demo_home / "dagster_home" / "dagster.yaml").write_text(
        "telemetry:\n  enabled: false\n", encoding="utf-8"
    )


def refresh_exposures(settings: ExampleSettings, emulator_url: str) -> str:
    """Fetch Dot's dashboards before definitions load, as a deployment's build step would."""
    with DotClient(api_token=ADMIN_TOKEN, base_url=emulator_url) as client:
        return refresh_dot_exposures(client, settings.exposures_state).summary()


def run_main_job(defs: Definitions, instance: DagsterInstance) -> bool:
    """`dbt build → Dot syncs` as the nightly schedule runs it, then Dot's catalogue."""
    job = defs.resolve_job_def("dbt_build_then_dot_sync")
    if not job.execute_in_process(instance=instance, raise_on_error=False).success:
        return False
    everything = defs.resolve_implicit_global_asset_job_def()
    return everything.execute_in_process(
        instance=instance, asset_selection=[CATALOGUE_KEY], raise_on_error=False
    ).success


def summarise(
    defs: Definitions, instance: DagsterInstance, settings: ExampleSettings, seconds: float
) -> list[str]:
    """What synced and how long it took, where the data is, and how to look at it."""
    lines = [f"Main job finished in {seconds:.1f} s."]
    for key in sorted(defs.resolve_all_asset_keys(), key=AssetKey.to_user_string):
        if key.path[:2] != ["dot", "sync"]:
            continue
        event = instance.get_latest_materialization_event(key)
        meta: Mapping[str, object] = (
            event.asset_materialization.metadata if event and event.asset_materialization else {}
        )
        if meta:
            duration = getattr(meta["duration_s"], "value", "?")
            attempts = getattr(meta["attempts"], "value", "?")
            lines.append(
                f"  synced {key.to_user_string():<32} in {duration} s ({attempts} attempt(s))"
            )
        else:
            lines.append(f"  NOT synced {key.to_user_string()}")
    lines.append(catalogue_summary(instance))
    lines += [
        f"DuckDB warehouse: {settings.duckdb_path}",
        f"Dagster instance: {settings.demo_home / 'dagster_home'}",
        "Open the UI on the same setup: make dev",
    ]
    return lines


def catalogue_summary(instance: DagsterInstance) -> str:
    """The reconcile counts of Dot's external-asset catalogue."""
    event = instance.get_latest_materialization_event(CATALOGUE_KEY)
    if event is None or event.asset_materialization is None:
        return "  Dot catalogue NOT reconciled"
    meta = event.asset_materialization.metadata
    counts = ", ".join(
        f"{name} {meta[name].value}"
        for name in ("created", "updated", "unchanged", "deactivated")
        if name in meta
    )
    return f"  Dot catalogue reconciled: {counts}"


def main() -> int:
    settings = ExampleSettings.from_env()
    prepare_home(settings)
    with EmulatorServer(EmulatorConfig(seed=42), port=0) as emulator:
        os.environ.update(demo_environment(settings, emulator.url))
        print(f"Dot emulator listening on {emulator.url}")
        print(refresh_exposures(settings, emulator.url))
        defs = build_definitions(ExampleSettings.from_env())
        instance = DagsterInstance.get()
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
