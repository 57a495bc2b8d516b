"""Targets from the dbt target the deployment builds into: each warehouse connection's
models, as the manifest dagster-dbt loaded places them (database, schema)."""

import pytest
from dagster import AssetsDefinition

from dot_demo.definitions import EXAMPLE_CONNECTIONS
from dot_orchestration.environments import DotEnvironmentSettings, with_dbt_targets
from dot_orchestration.syncing import DotConnection

#: Where the example's dbt profile builds (dbt-duckdb: the file's name, schema `main`).
BUILT_INTO = {"database": "dot_demo", "schema": "main"}
UNTARGETED = DotEnvironmentSettings(mode="per_branch")


def test_each_warehouse_connection_reads_the_schema_its_models_are_built_into(
    dbt_defs: AssetsDefinition,
) -> None:
    settings = with_dbt_targets(UNTARGETED, EXAMPLE_CONNECTIONS, [dbt_defs])
    assert settings.targets == {"dot_demo": BUILT_INTO}  # the dbt connection has none
    assert settings.model_copy(update={"targets": {}}) == UNTARGETED


def test_explicit_targets_override_and_bigquery_names_its_levels(
    dbt_defs: AssetsDefinition,
) -> None:
    explicit = {"dot_demo": {"schema": "dbt_pr_{pull_request_id}"}}
    bigquery = DotConnection(type="bigquery", id="bq", dbt_select="tag:dot")
    settings = with_dbt_targets(
        UNTARGETED.model_copy(update={"targets": explicit}),
        [*EXAMPLE_CONNECTIONS, bigquery],
        [dbt_defs],
    )
    assert settings.targets == {
        **explicit,
        "bq": {"project": BUILT_INTO["database"], "dataset": BUILT_INTO["schema"]},
    }


def test_a_selection_matching_no_model_fails_at_load(dbt_defs: AssetsDefinition) -> None:
    typo = DotConnection(type="duckdb", id="c", dbt_select="tag:no_such_tag")
    with pytest.raises(ValueError, match="matches no dbt model"):
        with_dbt_targets(UNTARGETED, [typo], [dbt_defs])
