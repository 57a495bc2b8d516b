"""The Dot token appears nowhere Dagster keeps or shows anything, in either auth mode.

The pipeline runs against a hostile Dot (retries, failures) with the canary token, on an
instance that also routes httpx's, httpcore's and the package's own Python logs into the
event log at DEBUG: the setting a team turns on to debug a flaky API, and the one where
URL auth (token in the query string) would leak if anything did. Then every place is
searched: every event and run record (serialized), every file of the instance (its SQLite
stores and the compute logs), dbt's target directories of these runs, everything written to
stdout and stderr, and the full text of every error raised to the caller.
"""

from __future__ import annotations

import json
import os
import traceback
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from dagster import DagsterInstance, serialize_value

from ._pipeline import (
    CANARY_TOKEN,
    WIKI_USER,
    Deployment,
    World,
    deployed,
    deployment_env,
    dot_run_config,
)
from ._traffic import HOSTILE_DOT, Control, fault_rules

LEAK_FAULT_SEED = int(os.environ.get("DOT_RELIABILITY_LEAK_SEED", "2714"))
#: Every failure that makes the client retry or give up, minus the timeouts (they only
#: make the run wait); retries are fast, since their timing cannot leak anything.
FAILING_DOT = tuple(entry for entry in HOSTILE_DOT if entry.rule["kind"] != "timeout")
#: Both credentials the pipeline holds, as bytes to search for.
SECRETS = {"Dot token": CANARY_TOKEN.encode(), "Confluence token": WIKI_USER.api_token.encode()}
DEBUG_PYTHON_LOGS = {
    "python_logs": {
        "managed_python_loggers": ["httpx", "httpcore", "dot_orchestration"],
        "python_log_level": "DEBUG",
    }
}
#: Sources that are empty when nothing failed (header auth on a healthy pipeline).
MAY_BE_EMPTY = frozenset({"raised errors"})
#: What proves the token was really sent in each mode, as the journal records it.
AUTH_SEEN = {"header": "x-api-key", "url": "url"}


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
    """The per-run dbt target directories of these runs (`<op>-<run_id[:8]>-…` under the
    example's `dbt_runs_dir`)."""
    runs = deployment.settings.dbt_runs_dir
    return [
        path
        for attempt in deployment.attempts
        for path in runs.glob(f"*-{attempt.result.run_id[:8]}-*")
        if path.is_dir()
    ]


def raised_error_texts(
    deployment: Deployment, run_config: dict[str, Any]
) -> Iterator[tuple[str, str]]:
    """Re-run what each failed run left unmaterialized with `raise_on_error=True`: the
    exception the caller gets, with its whole chain and traceback. Only the unfinished
    assets (all of the step's when every one was materialized): a failed sync must not
    cost another dbt build."""
    job = deployment.defs.resolve_implicit_global_asset_job_def()
    for attempt in deployment.attempts:
        if attempt.result.success:
            continue
        step, defs = attempt.step, deployment.defs
        assets = step.unmaterialized_by(attempt.result, defs) or step.asset_keys(defs)
        try:
            job.execute_in_process(
                instance=deployment.instance,
                run_config=run_config,
                asset_selection=list(assets),
                tags=dict(step.tags),
            )
        except Exception as error:  # the point is to read whatever was raised
            yield f"raised by {step.name}", "".join(traceback.format_exception(error))
            yield f"repr of what {step.name} raised", repr(error) + repr(vars(error))


def searchable_sources(
    deployment: Deployment, run_config: dict[str, Any]
) -> dict[str, list[tuple[str, str | bytes]]]:
    """Everything Dagster kept of the deployment's runs, by where it is kept."""
    return {
        "event log": list(event_log_texts(deployment.instance)),
        "compute logs": list(file_texts(compute_log_dir(deployment.instance))),
        "instance files": list(file_texts(deployment.instance_dir)),
        "dbt target dirs": [
            item for path in dbt_target_dirs(deployment) for item in file_texts(path)
        ],
        "raised errors": list(raised_error_texts(deployment, run_config)),
    }


def hits(texts: Iterator[tuple[str, str | bytes]]) -> tuple[list[str], int]:
    """Where a secret occurs (`<secret> in <text>`), and how many texts were searched."""
    found, searched = [], 0
    for name, text in texts:
        searched += 1
        data = text if isinstance(text, bytes) else text.encode()
        found += [f"{secret} in {name}" for secret, value in SECRETS.items() if value in data]
    return found, searched


@pytest.mark.timeout(180)
@pytest.mark.parametrize("auth_mode", ["header", "url"])
def test_the_token_appears_nowhere(
    auth_mode: str,
    control: Control,
    world: World,
    tmp_path: Path,
    capfd: pytest.CaptureFixture[str],
    record_property: Any,
) -> None:
    control.set_faults(fault_rules(FAILING_DOT), seed=LEAK_FAULT_SEED)
    fast_retries = dot_run_config(auth_mode=auth_mode, initial_backoff_s=0.01, max_backoff_s=0.1)
    env = deployment_env(tmp_path, world, auth_mode=auth_mode)
    with deployed(tmp_path, env, instance_overrides=DEBUG_PYTHON_LOGS) as deployment:
        deployment.run(run_config=fast_retries)
        sources = searchable_sources(deployment, fast_retries)
    output = capfd.readouterr()
    sources["stdout/stderr"] = [("stdout", output.out), ("stderr", output.err)]

    journal = control.journal()
    searched = {name: hits(iter(texts)) for name, texts in sources.items()}
    print(f"\ntoken leak scan ({auth_mode} auth, fault seed {LEAK_FAULT_SEED}):")
    for name, (found, count) in searched.items():
        print(f"  {name}: {count} searched, {len(found)} hits")
        record_property(f"{auth_mode}: {name} searched", count)
    record_property(f"{auth_mode}: fault seed", LEAK_FAULT_SEED)
    record_property(f"{auth_mode}: failed steps", json.dumps(deployment.failed_steps()))

    assert any(e["auth"] == AUTH_SEEN[auth_mode] and e["status"] == 200 for e in journal), (
        f"no call used {auth_mode} auth successfully: the scan would prove nothing"
    )
    event_log = "\n".join(str(text) for _, text in sources["event log"])
    assert "HTTP Request:" in event_log, "httpx's request lines never reached the event log"
    if auth_mode == "url":  # the URLs that carried the token were logged, redacted
        assert "api_token=***" in event_log
    empty = [
        name for name, (_, count) in searched.items() if not count and name not in MAY_BE_EMPTY
    ]
    assert not empty, f"nothing to search in {empty}: the scan would prove nothing"
    leaks = {name: found for name, (found, _) in searched.items() if found}
    assert not leaks, f"the token leaked ({auth_mode} auth): {leaks}"
