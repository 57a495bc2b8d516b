"""Run `_probe_layer.py` in another interpreter and check its report (shared by the tests
of the release-set venvs and of the development venv)."""

import json
import os
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

PROBE = Path(__file__).with_name("_probe_layer.py")


@dataclass(frozen=True)
class ProbeRun:
    """What one run of the probe left: its report (None when it died before printing one),
    its exit status, and the rest of its output (Dagster's log, when it validated a code
    location, and any traceback)."""

    report: dict[str, Any] | None
    returncode: int
    log: str


def probe(python: Path | str, *args: str, cwd: Path | None = None, **env: str) -> ProbeRun:
    """Run the probe with `python`, outside any source tree (`cwd`, by default the tests'
    folder), with `env` added to this process's environment."""
    result = subprocess.run(
        [str(python), str(PROBE), *args],
        capture_output=True,
        text=True,
        cwd=cwd or PROBE.parent.parent,
        env={**os.environ, **env},
    )
    first, _, rest = result.stdout.partition("\n")
    if not first.startswith("{"):
        first, rest = "", result.stdout
    return ProbeRun(json.loads(first) if first else None, result.returncode, rest + result.stderr)


def run_probe(python: Path | str, *args: str) -> dict[str, Any]:
    """The probe's JSON report; the probe must succeed."""
    run = probe(python, *args)
    assert run.returncode == 0 and run.report is not None, run.log
    return run.report


def assert_core_only(report: dict[str, Any]) -> None:
    """The Dagster layer imported without loading any extra's module, and each feature
    whose module is absent failed with a `MissingExtraError` naming its extra's pip line
    (a feature whose module another package brought simply works)."""
    assert report["import_errors"] == {}
    assert report["optional_modules_loaded"] == []
    assert not all(feature["installed"] for feature in report["features"])
    for feature in report["features"]:
        outcome, extra = feature["outcome"], feature["extra"]
        if feature["installed"]:
            assert outcome == "no error", feature
            continue
        assert outcome.startswith("MissingExtraError"), feature
        assert f"pip install 'dot-orchestration[{extra}]'" in outcome, feature
