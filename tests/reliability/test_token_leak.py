"""The Dot token appears nowhere Dagster keeps or shows anything, in either auth mode.

Two deployments are searched, each on an instance that also routes httpx's, httpcore's and
the package's own Python logs into the event log at DEBUG (`_token_scan`): the suite's calm
run with header auth (`conftest.calm_run`: the whole pipeline, distributed where
PostgreSQL runs, so step processes and their compute logs too), and runs with URL auth
(token in the query string, where a leak would happen if anything leaked) against a failing
Dot (retries, failures, errors raised to the caller). Dot accepts URL auth on three calls
(syncs, external-asset imports, the history export) and the client refuses it on the
others, so the URL-auth runs are the pipeline's runs without its two dbt builds: what
carries the token in its URL, and the refusals, whose errors are shown too. The builds send
Dot nothing in this mode (the run results need header auth) and leave in dbt's folders
what the calm run's scan searches.

Every place is searched: every event and run record (serialized), every file of the
instance (its SQLite stores and the compute logs), dbt's target directories of these runs,
everything written to stdout and stderr, and the full text of every error raised to the
caller. Header auth under every kind of failure is covered at the client
(tests/client/test_token_leak.py): what differs between the modes is where the client puts
the token, and the client's errors are what the Dagster layer shows.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

from ._calm import CalmRun
from ._pipeline import (
    CATALOGUE,
    EXPOSURES,
    HISTORY_EXPORT,
    NOTES,
    SYNCS,
    World,
    deployed,
    deployment_env,
    dot_run_config,
)
from ._token_scan import (
    DBT_FOLDERS,
    DEBUG_PYTHON_LOGS,
    RAISED_ERRORS,
    Sources,
    hits,
    searchable_sources,
)
from ._traffic import HOSTILE_DOT, Control, fault_rules

LEAK_FAULT_SEED = int(os.environ.get("DOT_RELIABILITY_LEAK_SEED", "2714"))
#: Every failure that makes the client retry or give up, minus the timeouts (they only
#: make the run wait); retries are fast, since their timing cannot leak anything.
FAILING_DOT = tuple(entry for entry in HOSTILE_DOT if entry.rule["kind"] != "timeout")
#: The pipeline's runs in order, without the dbt builds (see above).
URL_AUTH_RUNS = (SYNCS, CATALOGUE, NOTES, HISTORY_EXPORT, EXPOSURES)
#: What proves the token was really sent in each mode, as the journal records it.
AUTH_SEEN = {"header": "x-api-key", "url": "url"}


def assert_no_leak(
    auth_mode: str,
    sources: Sources,
    journal: list[dict[str, Any]],
    record_property: Any,
    *,
    may_be_empty: str,
) -> None:
    """The scan found something in every source but `may_be_empty`, and no secret
    anywhere."""
    searched = {name: hits(iter(texts)) for name, texts in sources.items()}
    print(f"\ntoken leak scan ({auth_mode} auth):")
    for name, (found, count) in searched.items():
        print(f"  {name}: {count} searched, {len(found)} hits")
        record_property(f"{auth_mode}: {name} searched", count)

    assert any(e["auth"] == AUTH_SEEN[auth_mode] and e["status"] == 200 for e in journal), (
        f"no call used {auth_mode} auth successfully: the scan would prove nothing"
    )
    event_log = "\n".join(str(text) for _, text in sources["event log"])
    assert "HTTP Request:" in event_log, "httpx's request lines never reached the event log"
    if auth_mode == "url":  # the URLs that carried the token were logged, redacted
        assert "api_token=***" in event_log
    empty = [name for name, (_, count) in searched.items() if not count and name != may_be_empty]
    assert not empty, f"nothing to search in {empty}: the scan would prove nothing"
    leaks = {name: found for name, (found, _) in searched.items() if found}
    assert not leaks, f"the token leaked ({auth_mode} auth): {leaks}"


def test_the_token_appears_nowhere_after_the_calm_run_with_header_auth(
    calm_run: CalmRun, record_property: Any
) -> None:
    journal = calm_run.outcome.traffic.entries
    # Nothing failed, so nothing was raised.
    assert_no_leak("header", calm_run.sources, journal, record_property, may_be_empty=RAISED_ERRORS)


def test_the_token_appears_nowhere_after_failures_with_url_auth(
    control: Control,
    world: World,
    tmp_path: Path,
    capfd: pytest.CaptureFixture[str],
    record_property: Any,
) -> None:
    control.set_faults(fault_rules(FAILING_DOT), seed=LEAK_FAULT_SEED)
    fast_retries = dot_run_config(auth_mode="url", initial_backoff_s=0.01, max_backoff_s=0.1)
    env = deployment_env(tmp_path, world, auth_mode="url")
    with deployed(tmp_path, env, instance_overrides=DEBUG_PYTHON_LOGS) as deployment:
        deployment.run(URL_AUTH_RUNS, run_config=fast_retries)
        sources = searchable_sources(deployment, fast_retries)
    output = capfd.readouterr()
    sources["stdout/stderr"] = [("stdout", output.out), ("stderr", output.err)]
    record_property("url: fault seed", LEAK_FAULT_SEED)
    record_property("url: failed steps", json.dumps(deployment.failed_steps()))
    # No dbt build, so no dbt folder.
    assert_no_leak("url", sources, control.journal(), record_property, may_be_empty=DBT_FOLDERS)
