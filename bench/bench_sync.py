"""Sync 200 Dot connections in one Dagster run vs. the obvious script, against the emulator.

Every sync answers after 200 ms of injected latency. The obvious script (what teams run
from cron today) calls the sync URLs one after another with `requests`; the Dagster run
materializes the 200 sync assets of one `build_dot_sync_assets` definition, whose step
fans the calls out over a bounded pool. It runs on an in-memory instance and on SQLite
files (`dagster dev`'s default), and with `--postgres` on a Postgres instance too (a
throwaway local cluster, as in the reliability tests: fsync off, so it shows Dagster's
cost per event without the disk's). A last run adds rate limiting (429 with `Retry-After`
on a share of the calls) to show it slows the run down without failing it.

Run: `.venv/bin/python bench/bench_sync.py [--connections 200] [--latency-ms 200] [--postgres]`.
"""

from __future__ import annotations

import argparse
import logging
import os
import time
from contextlib import nullcontext
from datetime import datetime
from typing import Any

import httpx
import requests
from _support import QUIET_RUN, emulator_process, journal, measure, postgres_cluster, set_faults
from dagster import (
    AssetSelection,
    DagsterInstance,
    Definitions,
    asset,
    define_asset_job,
    instance_for_test,
)

from dot_orchestration.resources import DotResource
from dot_orchestration.syncs import DotConnection, SyncSettings, build_dot_sync_assets

TOKEN = "dot-emulator-admin"
IN_MEMORY = "in-memory instance"


@asset(key=["warehouse", "orders"])
def orders() -> None:
    """Stands in for the dbt models every connection reads."""


def obvious_script(url: str, ids: list[str]) -> None:
    """What a cron script does: one POST after another."""
    for cid in ids:
        requests.post(
            f"{url}/api/sync/snowflake/{cid}", headers={"API-KEY": TOKEN}, timeout=30
        ).raise_for_status()


def dagster_run(
    url: str, ids: list[str], concurrency: int, storage: dict[str, Any] | None = None
) -> None:
    """One run materializing every sync asset: on an in-memory instance, or on one of
    `instance_for_test` with `storage` overrides (`{}`: SQLite files)."""
    connections = [
        DotConnection(type="snowflake", id=cid, asset_keys=("warehouse/orders",)) for cid in ids
    ]
    syncs = build_dot_sync_assets(SyncSettings(connections=connections), upstream=[orders])
    job = define_asset_job("syncs", selection=AssetSelection.assets(syncs))
    defs = Definitions(
        assets=[orders, syncs],
        jobs=[job],
        resources={
            "dot": DotResource(
                api_token=TOKEN, base_url=url, max_concurrency=concurrency, initial_backoff_s=0.1
            )
        },
    )
    with (
        nullcontext(DagsterInstance.ephemeral())
        if storage is None
        else instance_for_test(overrides=storage)
    ) as instance:
        cpu_started = time.process_time()
        result = defs.resolve_job_def("syncs").execute_in_process(
            instance=instance, run_config=QUIET_RUN
        )
        cpu = time.process_time() - cpu_started
        assert result.success
    # What the instance stored, counted without reading it back (that would add to the
    # time measured): the run's events, and the materialization and check of each sync
    # asset that Dagster plans (writes) when it creates the run.
    events = len(result.all_events) + len(syncs.keys) + len(syncs.check_keys)
    print(
        f"  the run: {cpu:.2f} s CPU in this process, {events} events stored "
        f"({events / len(ids):.1f} per synced connection)"
    )


def sync_span(url: str) -> float:
    """Seconds from the first sync request to the last sync response, from the journal."""
    calls = [e for e in journal(url) if e["path"].startswith("/api/sync/")]
    starts = [datetime.fromisoformat(e["ts"]).timestamp() for e in calls]
    ends = [s + (e["duration_ms"] or 0) / 1000 for s, e in zip(starts, calls, strict=True)]
    return max(ends) - min(starts)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--connections", type=int, default=200)
    parser.add_argument("--latency-ms", type=int, default=200)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument(
        "--postgres",
        action="store_true",
        help="also run on a Postgres instance (a throwaway local cluster, fsync off)",
    )
    args = parser.parse_args()
    ids = [f"conn_{i:04d}" for i in range(args.connections)]
    sync_calls: dict[str, Any] = {"method": "POST", "path": "/api/sync/*"}
    latency = {**sync_calls, "kind": "timeout", "latency_ms": args.latency_ms}

    with emulator_process() as url:
        print(f"{args.connections} syncs, {args.latency_ms} ms latency each, cpu={os.cpu_count()}")
        set_faults(url, [latency])
        script_s, script_mib = measure(
            "obvious script (sequential requests)", lambda: obvious_script(url, ids)
        )
        set_faults(url, [latency])
        run_s: dict[str, float] = {}
        with postgres_cluster(args.postgres) as cluster:
            instances: dict[str, dict[str, Any] | None] = {IN_MEMORY: None, "SQLite instance": {}}
            if cluster is not None:
                instances["Postgres instance"] = {"storage": cluster.dagster_storage()}
            for label, storage in instances.items():
                httpx.delete(f"{url}/_emulator/journal")
                dagster_s, dagster_mib = measure(
                    f"Dagster run, {label} (max_concurrency={args.concurrency})",
                    lambda storage=storage: dagster_run(url, ids, args.concurrency, storage),
                )
                run_s[label] = dagster_s
                calls_s = sync_span(url)
                print(
                    f"  ratio Dagster / script: time {dagster_s / script_s:.3f}, peak memory "
                    f"{dagster_mib / max(script_mib, 0.01):.1f}x; its {args.connections} sync "
                    f"calls spanned {calls_s:.2f} s ({calls_s / script_s:.3f} of the script); "
                    "the rest is Dagster's per-event bookkeeping"
                )

        httpx.delete(f"{url}/_emulator/journal")
        rate_limited = {**sync_calls, "kind": "status", "status": 429, "rate": 0.2}
        rate_limited["retry_after"] = 0.5
        set_faults(url, [rate_limited, latency])
        # Each retried call logs a warning; the summary below counts them instead.
        logging.getLogger("dot_orchestration").setLevel(logging.ERROR)
        limited_s, _ = measure(
            "Dagster run, in-memory instance, 20% of calls answered 429",
            lambda: dagster_run(url, ids, args.concurrency),
        )
        calls = sum(1 for e in journal(url) if e["path"].startswith("/api/sync/"))
        print(
            f"rate-limited run succeeded: {limited_s / run_s[IN_MEMORY]:.2f}x slower, "
            f"{calls} calls for {args.connections} syncs ({calls - args.connections} retried)"
        )


if __name__ == "__main__":
    main()
