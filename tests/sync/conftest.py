"""What the sync tests share: the example's dbt project (its manifest parsed once) and its
models as `@dbt_assets`, for the tests whose subject is dbt's: a `dbt_select`, the nightly
`dbt build → Dot syncs` job."""

import pytest
from _dbt_builds import DbtHome
from dagster import AssetsDefinition
from dagster_dbt import DbtProject


@pytest.fixture(scope="session")
def dbt_project() -> DbtProject:
    # Imported here: the tests without dbt need not load the example.
    from dot_demo.definitions import ExampleSettings, prepared_dbt_project

    return prepared_dbt_project(ExampleSettings())


@pytest.fixture(scope="session")
def dbt_defs(dbt_project: DbtProject, dbt_home: DbtHome) -> AssetsDefinition:
    """The nightly build's models (the usage models left out, as in the example), building
    in the worker's dbt runs folder, where each build finds the last one's parse."""
    from dot_demo.definitions import build_example_dbt_assets

    return build_example_dbt_assets(dbt_project, push_run_results=False, runs_dir=dbt_home.runs_dir)
