"""`python -m dot_orchestration.emulator [--port N ...]`: `dot-orchestration emulator`."""

import sys

from dot_orchestration.cli import main

sys.exit(main(["emulator", *sys.argv[1:]]))
