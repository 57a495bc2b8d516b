"""The example's dbt project and models, as the sync tests build them (one parse per
session), for the environments whose targets come from the dbt build."""

from sync.conftest import dbt_defs, dbt_project

__all__ = ["dbt_defs", "dbt_project"]
