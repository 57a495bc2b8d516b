"""One Airflow per worker for the provider's tests (`airflow`): its home, a migrated
metadata DB, the DAGs folder, the connections to the session's emulators.

Airflow reads its configuration and sets up logging when it is first imported, in the
process that imports it. So nothing here, nor in the test modules, imports Airflow at
collection time: the fixture sets the environment first, then imports it with a migrated DB
(`migrated_db`); the module's tests share it. When they are done, what Airflow changed in
the process is put back (`ProcessState`), so the tests that run later on the same worker
see the suite's own environment, logging and warning filters.
"""

import json
import os
from collections.abc import Iterator

import pytest
from _airflow_home import (
    EXAMPLES,
    TEST_DAGS,
    AirflowSession,
    ProcessState,
    migrated_db,
    readme_dag,
)

from dot_orchestration.emulator import ADMIN_TOKEN, EmulatorServer
from dot_orchestration.emulator.confluence import DEFAULT_USERS, ConfluenceEmulatorServer


@pytest.fixture(scope="module")
def airflow(
    tmp_path_factory: pytest.TempPathFactory,
    dot_emulator_server: EmulatorServer,
    confluence_server: ConfluenceEmulatorServer,
) -> Iterator[AirflowSession]:
    """The worker's Airflow, its DB migrated, `dot_default` and `confluence_default`
    pointing at the session's emulators (admin token, the analyst's Cloud credentials)."""
    home = tmp_path_factory.mktemp("airflow_home")
    dags = home / "dags"
    dags.mkdir()
    for example in EXAMPLES.glob("*.py"):
        (dags / example.name).symlink_to(example)
    (dags / "dot_test_dags.py").symlink_to(TEST_DAGS)
    (dags / "readme_dag.py").write_text(readme_dag())
    analyst = DEFAULT_USERS[0]
    env = {
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__CORE__DAGS_FOLDER": str(dags),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW_CONN_DOT_DEFAULT": json.dumps(
            {"conn_type": "dot", "host": dot_emulator_server.url, "password": ADMIN_TOKEN}
        ),
        "AIRFLOW_CONN_CONFLUENCE_DEFAULT": json.dumps(
            {
                "conn_type": "confluence",
                "host": confluence_server.url,
                "login": analyst.email,
                "password": analyst.api_token,
            }
        ),
        "AIRFLOW_VAR_DOT_TEST_DUCKDB": str(home / "history.duckdb"),
        "DOT_DEMO_DUCKDB_PATH": str(home / "dot_demo.duckdb"),
    }
    saved = ProcessState.now()
    os.environ.update(env)
    try:
        migrated_db(home / "airflow.db")
        yield AirflowSession(home, dags, env)
    finally:
        saved.restore()
