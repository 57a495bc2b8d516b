"""Dagster components for Dot, configured in `defs.yaml`, scaffolded by `dg`.

`DotComponent` runs every Dot operation; `DotDbtProjectComponent` is dagster-dbt's
`DbtProjectComponent` plus what Dot needs from the dbt assets (run results pushed to Dot,
the history export upstream of the models reading it). Registered for `dg` through the
`dagster_dg_cli.registry_modules` entry point, so `dg list components` shows them and
`dg scaffold defs dot_orchestration.DotComponent dot` writes a commented `defs.yaml`.
"""

from dot_orchestration.components.component import DotComponent
from dot_orchestration.components.dbt_project import DotDbtProjectComponent
from dot_orchestration.components.scaffolder import DotComponentScaffolder, DotScaffoldParams
from dot_orchestration.components.translation import DotAssetProps

__all__ = [
    "DotAssetProps",
    "DotComponent",
    "DotComponentScaffolder",
    "DotDbtProjectComponent",
    "DotScaffoldParams",
]
