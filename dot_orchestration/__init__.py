"""Run every recurring Dot (getdot.ai) operation from Dagster.

This module stays import-light: the core (`dot_orchestration.client`, `.confluence`,
`.transforms`, `.emulator`) must be importable without Dagster. The Dagster components are
re-exported lazily, as `dot_orchestration.DotComponent` and
`dot_orchestration.DotDbtProjectComponent` (the names `dg` and `defs.yaml` use), and
import Dagster only when asked for.
"""

import importlib
from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("dot-orchestration")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0.0.0"

#: Public names imported on first use, and the module that defines each.
_LAZY = {
    "DotComponent": "dot_orchestration.components",
    "DotDbtProjectComponent": "dot_orchestration.components",
}


def __getattr__(name: str) -> object:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    """Lists the lazy names too: `dg` finds components by walking `dir()` of the module."""
    return sorted([*globals(), *_LAZY])


__all__ = ["__version__"]
