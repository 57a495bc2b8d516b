"""Run every recurring Dot (getdot.ai) operation from Dagster.

This module stays import-light: the core (`dot_orchestration.client`, `.confluence`,
`.transforms`, `.emulator`) must be importable without Dagster. The names a code location
starts with are re-exported lazily and import Dagster only when asked for: the resources
(`from dot_orchestration import DotResource`), the connection syncs, the deployment's Dot
environment, the questions asked of Dot, and the components `DotComponent` and
`DotDbtProjectComponent` (the names `dg` and `defs.yaml` use). Every other factory lives
in the module of its operation (`dot_orchestration.history`, `.notes`, ...).
"""

import importlib
from importlib.metadata import PackageNotFoundError, version
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # what type checkers and IDEs see; at run time `__getattr__` imports
    from dot_orchestration.catalogue import CatalogueSettings as CatalogueSettings
    from dot_orchestration.catalogue import ExposuresSettings as ExposuresSettings
    from dot_orchestration.catalogue import (
        build_dot_catalogue_definitions as build_dot_catalogue_definitions,
    )
    from dot_orchestration.components import DotComponent as DotComponent
    from dot_orchestration.components import DotDbtProjectComponent as DotDbtProjectComponent
    from dot_orchestration.environments import DotEnvironmentSettings as DotEnvironmentSettings
    from dot_orchestration.environments import (
        build_dot_environment_definitions as build_dot_environment_definitions,
    )
    from dot_orchestration.notes import DotNotesSettings as DotNotesSettings
    from dot_orchestration.notes import build_dot_notes_definitions as build_dot_notes_definitions
    from dot_orchestration.questions import DotQuestion as DotQuestion
    from dot_orchestration.questions import (
        build_dot_question_definitions as build_dot_question_definitions,
    )
    from dot_orchestration.resources import ConfluenceResource as ConfluenceResource
    from dot_orchestration.resources import DotResource as DotResource
    from dot_orchestration.syncing import DotConnection as DotConnection
    from dot_orchestration.syncs import SyncSettings as SyncSettings
    from dot_orchestration.syncs import build_dot_sync_definitions as build_dot_sync_definitions

try:
    __version__ = version("dot-orchestration")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0.0.0"

#: Public names imported on first use, and the module that defines each.
_LAZY = {
    "CatalogueSettings": "dot_orchestration.catalogue",
    "ExposuresSettings": "dot_orchestration.catalogue",
    "build_dot_catalogue_definitions": "dot_orchestration.catalogue",
    "ConfluenceResource": "dot_orchestration.resources",
    "DotComponent": "dot_orchestration.components",
    "DotConnection": "dot_orchestration.syncing",
    "DotDbtProjectComponent": "dot_orchestration.components",
    "DotEnvironmentSettings": "dot_orchestration.environments",
    "DotNotesSettings": "dot_orchestration.notes",
    "DotQuestion": "dot_orchestration.questions",
    "DotResource": "dot_orchestration.resources",
    "SyncSettings": "dot_orchestration.syncs",
    "build_dot_environment_definitions": "dot_orchestration.environments",
    "build_dot_notes_definitions": "dot_orchestration.notes",
    "build_dot_question_definitions": "dot_orchestration.questions",
    "build_dot_sync_definitions": "dot_orchestration.syncs",
}


def __getattr__(name: str) -> object:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    """Lists the lazy names too: `dg` finds components by walking `dir()` of the module."""
    return sorted([*globals(), *_LAZY])


__all__ = ["__version__", *_LAZY]
