"""Dagster components for Dot, configured in `defs.yaml`, scaffolded by `dg`.

`DotComponent` runs every Dot operation; `DotDbtProjectComponent` is dagster-dbt's
`DbtProjectComponent` plus what Dot needs from the dbt assets (run results pushed to Dot,
the history export upstream of the models reading it). Registered for `dg` through the
`dagster_dg_cli.registry_modules` entry point, so `dg list components` shows them and
`dg scaffold defs dot_orchestration.DotComponent dot` writes a commented `defs.yaml`.

`DotDbtProjectComponent` is imported on first use: it subclasses dagster-dbt's component,
and `import dagster_dbt` imports dbt-core (seconds of CPU), which a code location whose
`DotComponent` has no dbt upstream, and each run worker of one, never needs. `dg`'s
discovery still finds it: it lists `dir()` and asks for each name.
"""

from typing import TYPE_CHECKING

from dot_orchestration.components.component import DotComponent
from dot_orchestration.components.scaffolder import DotComponentScaffolder, DotScaffoldParams
from dot_orchestration.components.translation import DotAssetProps

if TYPE_CHECKING:  # what type checkers see; at run time `__getattr__` imports it
    from dot_orchestration.components.dbt_project import (
        DotDbtProjectComponent as DotDbtProjectComponent,
    )


def __getattr__(name: str) -> object:
    if name == "DotDbtProjectComponent":
        from dot_orchestration.components.dbt_project import DotDbtProjectComponent

        return DotDbtProjectComponent
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted([*globals(), "DotDbtProjectComponent"])


__all__ = [
    "DotAssetProps",
    "DotComponent",
    "DotComponentScaffolder",
    "DotDbtProjectComponent",
    "DotScaffoldParams",
]
