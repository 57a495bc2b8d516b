"""Where a deployment keeps or shows anything, searched for its secrets.

The token-leak tests search two deployments: the calm run (header auth; `conftest.calm_run`
scans it while its instance is open) and runs with URL auth against a failing Dot
(`test_token_leak.py`). Both run on an instance that routes httpx's, httpcore's and the
package's own Python logs into the event log at DEBUG: the setting a team turns on to debug
a flaky API, and the one where URL auth (token in the query string) would leak if anything
did.
"""

from __future__ import annotations

import io
import os
import sys
import tempfile
import traceback
from collections.abc import Iterator, Mapping
from contextlib import contextmanager, redirect_stderr, redirect_stdout
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from dagster import DagsterInstance, serialize_value

from ._pipeline import CANARY_TOKEN, WIKI_USER, Deployment

#: Both credentials the pipeline holds, as bytes to search for.
SECRETS = {"Dot token": CANARY_TOKEN.encode(), "Confluence token": WIKI_USER.api_token.encode()}
DEBUG_PYTHON_LOGS = {
    "python_logs": {
        "managed_python_loggers": ["httpx", "httpcore", "dot_orchestration"],
        "python_log_level": "DEBUG",
    }
}
#: The source that is empty when nothing failed (the calm run).
RAISED_ERRORS = "raised errors"
#: The source that is empty when no run built dbt.
DBT_FOLDERS = "dbt target dirs"

Sources = dict[str, list[tuple[str, str | bytes]]]


def event_log_texts(instance: DagsterInstance) -> Iterator[tuple[str, str]]:
    """Every run record and every event of every run, serialized as Dagster stores them."""
    for run in instance.get_runs():
        yield f"run {run.run_id}", serialize_value(run)
        for entry in instance.all_logs(run.run_id):
            yield (
                f"event {entry.dagster_event_type or 'log'} of {run.run_id}",
                serialize_value(entry),
            )


def compute_log_dir(instance: DagsterInstance) -> Path:
    """Where the instance's compute log manager writes captured stdout/stderr."""
    manager_data = instance.compute_log_manager.inst_data
    return (
        Path(manager_data.config_dict["base_dir"])
        if manager_data
        else Path(instance.root_directory)
    )


def file_texts(directory: Path) -> Iterator[tuple[str, bytes]]:
    for path in sorted(directory.rglob("*")):
        if path.is_file():
            yield str(path), path.read_bytes()


def dbt_target_dirs(deployment: Deployment) -> list[Path]:
    """The per-run dbt target directories of the deployment's runs (`<op>-<run_id[:8]>-…`
    under the example's `dbt_runs_dir`)."""
    runs = deployment.settings.dbt_runs_dir
    return [
        path
        for run in deployment.instance.get_runs()
        for path in runs.glob(f"*-{run.run_id[:8]}-*")
        if path.is_dir()
    ]


def raised_error_texts(
    deployment: Deployment, run_config: Mapping[str, Any]
) -> Iterator[tuple[str, str]]:
    """Re-run what each failed run left unmaterialized with `raise_on_error=True`, under
    whatever faults Dot has now: the exception the caller gets, with its whole chain and
    traceback. Only the unfinished assets (all of the step's when every one was
    materialized): a failed sync must not cost another dbt build."""
    job = deployment.defs.resolve_implicit_global_asset_job_def()
    for attempt in list(deployment.attempts):
        if attempt.result.success:
            continue
        step, defs = attempt.step, deployment.defs
        assets = step.unmaterialized_by(attempt.result, defs) or step.asset_keys(defs)
        try:
            job.execute_in_process(
                instance=deployment.instance,
                run_config=dict(run_config),
                asset_selection=list(assets),
                tags=dict(step.tags),
            )
        except Exception as error:  # the point is to read whatever was raised
            yield f"raised by {step.name}", "".join(traceback.format_exception(error))
            yield f"repr of what {step.name} raised", repr(error) + repr(vars(error))


def searchable_sources(deployment: Deployment, run_config: Mapping[str, Any]) -> Sources:
    """Everything Dagster kept of the deployment's runs, by where it is kept; the failed
    runs are re-run for the errors raised to the caller first, so what those re-runs
    kept is searched too."""
    raised = list(raised_error_texts(deployment, run_config))
    return {
        "event log": list(event_log_texts(deployment.instance)),
        "compute logs": list(file_texts(compute_log_dir(deployment.instance))),
        "instance files": list(file_texts(deployment.instance_dir)),
        DBT_FOLDERS: [item for path in dbt_target_dirs(deployment) for item in file_texts(path)],
        RAISED_ERRORS: raised,
    }


def hits(texts: Iterator[tuple[str, str | bytes]]) -> tuple[list[str], int]:
    """Where a secret occurs (`<secret> in <text>`), and how many texts were searched."""
    found, searched = [], 0
    for name, text in texts:
        searched += 1
        data = text if isinstance(text, bytes) else text.encode()
        found += [f"{secret} in {name}" for secret, value in SECRETS.items() if value in data]
    return found, searched


@dataclass
class Output:
    """What a block wrote to stdout and stderr."""

    out: str = ""
    err: str = ""


@contextmanager
def captured_output() -> Iterator[Output]:
    """Everything the block writes to stdout and stderr, as `capfd` captures a test's (a
    session fixture cannot use `capfd`): file descriptors 1 and 2, which child processes
    inherit, and `sys.stdout`/`sys.stderr` pointed at them, so Python's writes and the
    log handlers created in the block land there too."""
    output = Output()
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        sys.stdout.flush()
        sys.stderr.flush()
        saved = {1: os.dup(1), 2: os.dup(2)}
        os.dup2(out.fileno(), 1)
        os.dup2(err.fileno(), 2)
        try:
            with (
                _text_stream(1) as stdout,
                _text_stream(2) as stderr,
                redirect_stdout(stdout),
                redirect_stderr(stderr),
            ):
                yield output
        finally:
            for fd, copy in saved.items():
                os.dup2(copy, fd)
                os.close(copy)
        for file, name in ((out, "out"), (err, "err")):
            file.seek(0)
            setattr(output, name, file.read().decode(errors="replace"))


@contextmanager
def _text_stream(fd: int) -> Iterator[io.TextIOWrapper]:
    """A text stream writing straight through to `fd`, left open when it closes."""
    stream = io.TextIOWrapper(io.FileIO(fd, "w", closefd=False), write_through=True)
    try:
        yield stream
    finally:
        stream.flush()
        stream.detach()
