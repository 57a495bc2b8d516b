"""Run `_probe_layer.py` in another interpreter and check its report (shared by the tests
of the release-set venvs and of the development venv)."""

import json
import subprocess
from pathlib import Path
from typing import Any

PROBE = Path(__file__).with_name("_probe_layer.py")


def run_probe(python: Path | str, *args: str) -> dict[str, Any]:
    """The probe's JSON report, run by `python` outside any source tree."""
    result = subprocess.run(
        [str(python), str(PROBE), *args], capture_output=True, text=True, cwd=PROBE.parent.parent
    )
    assert result.returncode == 0, result.stderr
    report: dict[str, Any] = json.loads(result.stdout)
    return report


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
