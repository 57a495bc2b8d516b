"""Code-location load with 2,000 dbt models and 50 Dot connections vs. bare `@dbt_assets`.

A generated dbt project (a tree of `--models` trivial models, tagged into 20 groups) is
parsed once by dbt and cached under `~/.cache/dot-orchestration/bench-load-<models>`.
Each phase then runs in a fresh interpreter, as a code server loading the location does,
and is timed from its first import to loadable definitions (`Definitions.validate_loadable`):

- bare: `@dbt_assets` on the manifest, nothing else (the limit);
- ours: the same plus `build_dot_sync_definitions` with `--connections` connections, each
  reading two models and a tag (`dbt_select`), with the automation sensor and the nightly
  job (excluding a tag), as the example wires them.

Each figure is the median of `--repeat` processes: wall seconds, CPU seconds (user and
system, the fairer figure on a machine other work shares) and peak RSS. Run:
`.venv/bin/python bench/bench_load.py [--models 2000] [--connections 50] [--repeat 3]`.
"""

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

GROUPS = 20
DBT = Path(sys.executable).with_name("dbt")

PROFILE = """bench:
  target: dev
  outputs:
    dev: {type: duckdb, path: bench.duckdb, threads: 1}
"""


def load(project: Path, models: int, connections: int, ours: bool) -> None:
    """One code-location load, timed from the first Dagster import; prints JSON."""
    started, cpu_started = time.perf_counter(), time.process_time()
    from dagster import AssetExecutionContext, Definitions
    from dagster_dbt import DbtCliResource, dbt_assets

    manifest = json.loads((project / "target" / "manifest.json").read_text())

    @dbt_assets(manifest=manifest)
    def bench_dbt(context: AssetExecutionContext, dbt: DbtCliResource) -> Iterator[Any]:
        yield from dbt.cli(["build"], context=context).stream()

    dbt = DbtCliResource(project_dir=str(project), dbt_executable=str(DBT))
    defs = Definitions(assets=[bench_dbt], resources={"dbt": dbt})
    if ours:
        from dot_orchestration.resources import DotResource
        from dot_orchestration.syncs import (
            DotConnection,
            SyncSchedule,
            SyncSettings,
            build_dot_sync_definitions,
        )

        def reads(i: int) -> str:
            """Two models and a tag: terms repeat across connections as tags do."""
            return f"model_{i * 37 % models} model_{(i * 53 + 1) % models} tag:group_{i % GROUPS}"

        conns = [
            DotConnection(type="snowflake", id=f"conn_{i}", dbt_select=reads(i))
            for i in range(connections)
        ]
        settings = SyncSettings(connections=conns, schedule=SyncSchedule(dbt_exclude="tag:group_0"))
        dot = DotResource(api_token="unused", region="app")
        defs = Definitions.merge(
            build_dot_sync_definitions(settings, upstream=[bench_dbt]),
            Definitions(assets=[bench_dbt], resources={"dbt": dbt, "dot": dot}),
        )
    Definitions.validate_loadable(defs)
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    seconds, cpu = time.perf_counter() - started, time.process_time() - cpu_started
    print(json.dumps({"seconds": seconds, "cpu_s": cpu, "rss_mib": rss}))


def generated_project(models: int) -> Path:
    """A dbt project of `models` models in a tree (model_i reads model_{(i-1)//2}), parsed."""
    root = Path.home() / ".cache" / "dot-orchestration" / f"bench-load-{models}"
    if (root / "target" / "manifest.json").exists():
        return root
    (root / "models").mkdir(parents=True, exist_ok=True)
    (root / "dbt_project.yml").write_text(
        "name: bench\nversion: '1.0.0'\nconfig-version: 2\nprofile: bench\n"
        "flags: {send_anonymous_usage_stats: false}\n"
    )
    (root / "profiles.yml").write_text(PROFILE)
    for i in range(models):
        body = (
            "select 1 as id" if i == 0 else f"select * from {{{{ ref('model_{(i - 1) // 2}') }}}}"
        )
        config = f"{{{{ config(tags=['group_{i % GROUPS}']) }}}}\n"
        (root / "models" / f"model_{i}.sql").write_text(config + body + "\n")
    subprocess.run(
        [str(DBT), "parse", "--quiet", "--profiles-dir", str(root)], cwd=root, check=True
    )
    return root


def phase(project: Path, models: int, connections: int, which: str) -> dict[str, float]:
    """One fresh interpreter loading the definitions; its own timing and peak RSS."""
    sizes = ["--models", str(models), "--connections", str(connections)]
    done = subprocess.run(
        [sys.executable, __file__, "--phase", which, *sizes],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"{which} phase failed:\n{done.stderr[-3000:]}")
    result: dict[str, float] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", type=int, default=2000)
    parser.add_argument("--connections", type=int, default=50)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--phase", choices=("bare", "ours"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    project = generated_project(args.models)
    if args.phase:
        load(project, args.models, args.connections, ours=args.phase == "ours")
        return
    load_before = os.getloadavg()[0]
    medians: dict[str, dict[str, float]] = {}
    print(
        f"{'phase':<6} {'wall s':>8} {'CPU s':>8} {'peak RSS MiB':>13}   (median of {args.repeat})"
    )
    # Interleaved, so a change in what else the machine runs weighs on both phases alike.
    runs: dict[str, list[dict[str, float]]] = {"bare": [], "ours": []}
    for _ in range(args.repeat):
        for which, done in runs.items():
            done.append(phase(project, args.models, args.connections, which))
    for which in runs:
        medians[which] = {
            figure: statistics.median(run[figure] for run in runs[which])
            for figure in ("seconds", "cpu_s", "rss_mib")
        }
        m = medians[which]
        print(f"{which:<6} {m['seconds']:8.2f} {m['cpu_s']:8.2f} {m['rss_mib']:13.1f}")
    ours, bare = medians["ours"], medians["bare"]
    print(
        f"ours / bare: wall {ours['seconds'] / bare['seconds']:.2f}x, CPU "
        f"{ours['cpu_s'] / bare['cpu_s']:.2f}x ({args.models} models, {args.connections} "
        f"connections; load average {load_before:.1f} before, {os.getloadavg()[0]:.1f} after)"
    )


if __name__ == "__main__":
    main()
