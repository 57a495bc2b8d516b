"""`make demo` against the strict profile: the main job passes when Dot serves only what its
documentation describes.

The demo runs as a user runs it (`python -m dot_demo.demo`, here with `--strict`), in a
process of its own with its own `.demo/` home, so nothing the default profile guesses
(reply bodies, note fields, numeric verdicts, the 404 for unknown environments) can carry
it. The default profile's run of the same job is the reliability suite's baseline
(`tests/reliability/conftest.py`) and `make demo` itself.
"""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.timeout(600)
def test_the_demo_passes_against_the_strict_profile(tmp_path: Path) -> None:
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("DOT_", "CONFLUENCE_"))},
        "DOT_DEMO_HOME": str(tmp_path / "demo"),
        "PYTHONPATH": os.pathsep.join(
            filter(None, [str(ROOT / "examples"), os.environ.get("PYTHONPATH")])
        ),
    }
    done = subprocess.run(
        [sys.executable, "-m", "dot_demo.demo", "--strict"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=580,
    )
    output = done.stdout + done.stderr
    assert done.returncode == 0, output[-4000:]
    assert "(strict profile)" in done.stdout
    assert "NOT synced" not in done.stdout and "NOT materialized" not in done.stdout, done.stdout
    assert re.search(r"synced dot/sync/\S+ +in [\d.]+ s \(1 attempt", done.stdout), done.stdout
    assert re.search(r"Dot catalogue: created [1-9]", done.stdout), done.stdout
    assert re.search(r"Confluence notes: pages_synced [1-9]", done.stdout), done.stdout
    assert re.search(r"\d{4}-\d\d-\d\d: [1-9]\d* conversations", done.stdout), done.stdout
    assert "dot_usage_daily" in done.stdout
