"""Where the tables live is a setting: exactly one warehouse, and another kind of warehouse
is a settings subclass naming its field in `warehouse_fields`."""

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from typing import ClassVar

import pytest
from dagster import AssetSelection, DagsterInstance, Definitions, EnvVar, define_asset_job
from pydantic import ValidationError

from dot_orchestration.emulator import ADMIN_TOKEN, EmulatorServer
from dot_orchestration.history import (
    BigQueryWarehouse,
    DatabricksWarehouse,
    DotHistorySettings,
    DuckDBWarehouse,
    HistorySchedule,
    PartitionWarehouse,
    PostgresWarehouse,
    RedshiftWarehouse,
    SnowflakeWarehouse,
    build_dot_history_definitions,
)
from dot_orchestration.resources import DotResource
from dot_orchestration.warehouse import DuckDBLocation, DuckDBSession, read_partition


class CountingWarehouse(PartitionWarehouse):
    """Another warehouse, as a user writes one: here DuckDB under a different resource,
    counting the sessions it hands out in a file (the step may run in another process)."""

    file: str
    sessions_log: str

    @contextmanager
    def session(self, *, read_only: bool = False) -> Iterator[DuckDBSession]:
        with Path(self.sessions_log).open("a", encoding="utf-8") as log:
            log.write("read\n" if read_only else "write\n")
        with DuckDBLocation(path=Path(self.file)).session(read_only=read_only) as session:
            yield session


class CountingHistorySettings(DotHistorySettings):
    warehouse_fields: ClassVar[tuple[str, ...]] = ("warehouse", "postgres", "counting")
    counting: CountingWarehouse | None = None


def test_exactly_one_warehouse_is_asked_for_by_name() -> None:
    with pytest.raises(ValidationError, match="set exactly one of `warehouse`"):
        DotHistorySettings(start_date=date(2025, 1, 1))
    postgres = PostgresWarehouse(host="db", dbname="analytics", user="dot", password="secret")
    with pytest.raises(ValidationError, match="2 are set: warehouse, postgres") as caught:
        DotHistorySettings(
            start_date=date(2025, 1, 1),
            warehouse=DuckDBWarehouse(path="a.duckdb"),
            postgres=postgres,
        )
    assert "secret" not in str(caught.value)
    with pytest.raises(ValidationError, match=r"`postgres` .* and `counting`"):
        CountingHistorySettings(start_date=date(2025, 1, 1))


BUILT_IN = {
    "warehouse": DuckDBWarehouse(path="a.duckdb"),
    "postgres": PostgresWarehouse(host="db", dbname="analytics", user="dot", password="pw"),
    "snowflake": SnowflakeWarehouse(
        account="org-acct", user="dot", database="analytics", password=EnvVar("SF_PASSWORD")
    ),
    "redshift": RedshiftWarehouse(host="rs", dbname="analytics", user="dot", password="pw"),
    "bigquery": BigQueryWarehouse(project="analytics"),
    "databricks": DatabricksWarehouse(
        server_hostname="dbc", http_path="/sql/1.0/warehouses/1", access_token=EnvVar("DBX")
    ),
}


@pytest.mark.parametrize("field", list(BUILT_IN))
def test_every_built_in_warehouse_is_one_field_and_the_same_definitions(field: str) -> None:
    """The warehouse is a resource swap: the same assets, checks and jobs whichever it is."""
    dot = Definitions(resources={"dot": DotResource(api_token=EnvVar("DOT_API_KEY"), region="eu")})
    settings = DotHistorySettings(start_date=date(2025, 1, 1), **{field: BUILT_IN[field]})
    assert settings.partition_warehouse() is BUILT_IN[field]
    defs = Definitions.merge(build_dot_history_definitions(settings), dot)
    duckdb = Definitions.merge(
        build_dot_history_definitions(
            DotHistorySettings(start_date=date(2025, 1, 1), warehouse=BUILT_IN["warehouse"])
        ),
        dot,
    )
    graph, expected = defs.resolve_asset_graph(), duckdb.resolve_asset_graph()
    assert graph.get_all_asset_keys() == expected.get_all_asset_keys()
    assert graph.asset_check_keys == expected.asset_check_keys


def test_a_warehouse_of_your_own_receives_the_export(
    dot: EmulatorServer, tmp_path: Path, session_instance: DagsterInstance
) -> None:
    db, log = tmp_path / "own.duckdb", tmp_path / "sessions.log"
    settings = CountingHistorySettings(
        start_date=date(2025, 3, 1),
        key=("own_warehouse_test", "history"),
        counting=CountingWarehouse(file=str(db), sessions_log=str(log)),
    )
    defs = Definitions.merge(
        build_dot_history_definitions(settings),
        Definitions(
            jobs=[define_asset_job("export", AssetSelection.assets(settings.asset_key))],
            resources={"dot": DotResource(api_token=ADMIN_TOKEN, base_url=dot.url)},
        ),
    )
    result = defs.resolve_job_def("export").execute_in_process(
        instance=session_instance, partition_key="2025-03-02", raise_on_error=False
    )

    assert result.success
    truth = dot.state.history_truth(date(2025, 3, 2), date(2025, 3, 3))
    stored = read_partition(
        db, schema="dot_history", table="conversations", partition_column="partition_date"
    )
    assert stored["conversation_id"].tolist() == list(truth.chat_ids)
    # the IO manager wrote through it, and the checks read through it
    assert log.read_text(encoding="utf-8").split() == ["write", "read"]


def test_a_downstream_without_its_daily_run_is_refused_naming_the_fix() -> None:
    place = {"start_date": date(2025, 1, 1), "warehouse": DuckDBWarehouse(path="a.duckdb")}
    with pytest.raises(ValueError, match=r"set the settings' `schedule`"):
        build_dot_history_definitions(
            DotHistorySettings(**place), downstream=AssetSelection.keys("usage")
        )
    yaml_only = HistorySchedule(downstream_dbt_select="tag:dot_usage")
    with pytest.raises(ValueError, match=r"in Python pass the models instead: downstream="):
        build_dot_history_definitions(DotHistorySettings(**place, schedule=yaml_only))
