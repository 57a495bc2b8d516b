"""Run every recurring Dot (getdot.ai) operation from Dagster.

This module stays import-light: the core (`dot_orchestration.client`, `.confluence`,
`.transforms`, `.emulator`) must be importable without Dagster.
"""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("dot-orchestration")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0.0.0"

__all__ = ["__version__"]
