"""The Dagster-free half of monitoring stays Dagster-free: another orchestrator imports
`dot_orchestration.notify` (alert text, Slack delivery, Dot incident reports) without it."""

import subprocess
import sys


def test_notify_imports_no_dagster() -> None:
    probe = (
        "import sys, dot_orchestration.notify; "
        "print(sorted(m for m in sys.modules if m.split('.')[0].startswith('dagster')))"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True
    ).stdout
    assert out.strip() == "[]"
