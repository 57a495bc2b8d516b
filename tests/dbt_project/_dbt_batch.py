"""Run several dbt invocations one after the other in one process, so dbt is imported once.

    python _dbt_batch.py JOBS_JSON

JOBS_JSON holds a list of jobs, ``{"name": str, "workdir": str, "args": [...], "env": {...}}``,
optionally ``"parse_state"``: an earlier job's ``partial_parse.msgpack``, copied into
``<workdir>/target`` first (dbt reuses it if it matches). For each job this sets ``env`` in
``os.environ`` and makes ``workdir`` the working directory (where a relative DuckDB path
lands), runs ``dbtRunner().invoke(args)`` (dbt's programmatic entry point, the same code
path as the CLI), puts both back and writes ``<workdir>/invocation.json``:
``{"success": bool, "exception": str | null, "result": [str] | null}``; ``result`` holds
what ``dbt ls`` listed. Artifacts (``run_results.json``, ``manifest.json``) and logs land
wherever ``args`` say.

Used by test_dbt_project.py: dbt's start-up costs more than building this small project,
and a separate process keeps dbt's global state out of the pytest process.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import traceback
from pathlib import Path
from typing import Any


def _release_duckdb() -> None:
    """Close the DuckDB file dbt-duckdb keeps open after an invocation.

    dbt-duckdb caches its DuckDB instance in a class attribute for the life of the process
    (closed at exit); in a long-lived process that would keep the file locked while the
    tests read it.
    """
    try:
        from dbt.adapters.duckdb.connections import DuckDBConnectionManager
    except ImportError:  # not a DuckDB target
        return
    env = getattr(DuckDBConnectionManager, "_ENV", None)
    if env is not None and hasattr(env, "close"):
        env.close()
    DuckDBConnectionManager.close_all_connections()


def _run(job: dict[str, Any]) -> dict[str, Any]:
    from dbt.cli.main import dbtRunner

    if "parse_state" in job:  # an earlier job's saved parse, for dbt to check and reuse
        target = Path(job["workdir"], "target")
        target.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(job["parse_state"], target / "partial_parse.msgpack")
    saved = {key: os.environ.get(key) for key in job["env"]}
    os.environ.update(job["env"])
    cwd = os.getcwd()
    os.chdir(job["workdir"])
    try:
        res = dbtRunner().invoke(job["args"])
    except Exception:  # dbtRunner reports failures in its result; this is a crash
        return {"success": False, "exception": traceback.format_exc(), "result": None}
    finally:
        os.chdir(cwd)
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        _release_duckdb()
    listed = res.result if isinstance(res.result, list) else None
    return {
        "success": bool(res.success),
        "exception": None if res.exception is None else str(res.exception),
        "result": [str(item) for item in listed] if listed is not None else None,
    }


def main(jobs_file: str) -> int:
    for job in json.loads(Path(jobs_file).read_text()):
        outcome = _run(job)
        # write-then-rename: a reader polling for the file never sees half of it
        partial = Path(job["workdir"], "invocation.json.partial")
        partial.write_text(json.dumps(outcome))
        partial.replace(partial.with_suffix(""))
        print(f"[dbt batch] {job['name']}: success={outcome['success']}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
