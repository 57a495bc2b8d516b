"""`make dev`: the Dagster UI on the demo's setup, with both emulators running beside it.

Uses the same `.demo/` instance and DuckDB file as `make demo`, so the runs, assets and
syncs of the last demo are what the UI shows first.
"""

import argparse
import contextlib
import os
import subprocess
import sys
from collections.abc import Sequence

from dot_demo.definitions import REPO_ROOT, ExampleSettings
from dot_demo.demo import running_emulators


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="make dev", description=__doc__)
    parser.add_argument("--port", type=int, default=3000, help="port of the Dagster UI")
    args = parser.parse_args(argv)
    settings = ExampleSettings.from_env()
    os.environ.setdefault("DOT_DAGSTER_UI_URL", f"http://localhost:{args.port}")
    with running_emulators(settings):
        dagster = os.path.join(os.path.dirname(sys.executable), "dagster")
        command = [dagster, "dev", "-w", str(REPO_ROOT / "workspace.yaml"), "-p", str(args.port)]
        with contextlib.suppress(KeyboardInterrupt):
            return subprocess.call(command, cwd=REPO_ROOT)
    return 0


if __name__ == "__main__":
    sys.exit(main())
