"""Dagster components for Dot: `DotComponent`, configured in `defs.yaml`, scaffolded by `dg`.

Registered for `dg` through the `dagster_dg_cli.registry_modules` entry point, so
`dg list components` shows it and `dg scaffold defs dot_orchestration.DotComponent dot`
writes a commented `defs.yaml`.
"""

from dot_orchestration.components.component import DotComponent
from dot_orchestration.components.scaffolder import DotComponentScaffolder, DotScaffoldParams
from dot_orchestration.components.translation import DotAssetProps

__all__ = ["DotAssetProps", "DotComponent", "DotComponentScaffolder", "DotScaffoldParams"]
