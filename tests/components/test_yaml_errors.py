"""A bad `defs.yaml` fails the load at its file, line and field, saying what to fix.

Each case writes one mistake into an otherwise valid file (the workspace of `WORKSPACE`
is lines 4-9) and loads the project the way `dg` does.
"""

from pathlib import Path

import pytest
from dagster.components.testing import DefsFolderSandbox

from dot_orchestration.emulator import EmulatorServer

from ._support import WORKSPACE, load_error, write_dot_yaml

CATALOGUE = "catalogue: {dagster_assets: true}\n"


def sync_of(select: str, *, upstream: str = "upstream: [dbt]\n") -> str:
    return (
        f"{upstream}sync:\n  connections:\n    - type: duckdb\n      id: dot_demo\n"
        f"      dbt_select: {select}\n"
    )


HISTORY = "history:\n  start_date: 2025-03-01\n"
POSTGRES = (
    "  postgres:\n    host: db\n    dbname: analytics\n    user: dot\n    password: hunter2\n"
)

CASES = {
    # case: (attributes, line, field path, what the message must say)
    "history without a warehouse": (
        WORKSPACE + HISTORY,
        10,
        "attributes.history",
        "set exactly one of `warehouse`",
    ),
    "literal Postgres password": (
        WORKSPACE + HISTORY + POSTGRES,
        16,
        "attributes.history.postgres.password",
        "a secret must be a reference to an environment variable",
    ),
    "unknown field": (
        WORKSPACE.replace("max_attempts", "max_atempts") + CATALOGUE,
        7,
        "attributes.workspace.max_atempts",
        "Extra inputs are not permitted",
    ),
    "wrong type": (
        WORKSPACE.replace("max_attempts: 2", "max_attempts: lots") + CATALOGUE,
        7,
        "attributes.workspace.max_attempts",
        "Input should be a valid integer",
    ),
    "literal secret": (
        WORKSPACE.replace('"{{ env.DOT_API_KEY }}"', "dot-0123456789abcdef") + CATALOGUE,
        5,
        "attributes.workspace.api_token",
        "a secret must be a reference to an environment variable",
    ),
    "unknown dbt model": (
        WORKSPACE + sync_of("tag:dot orderz"),
        15,
        "attributes.sync.connections.0.dbt_select",
        "dbt selection 'orderz' matches no dbt model",
    ),
    "no dbt upstream": (
        WORKSPACE + sync_of("tag:dot", upstream=""),
        14,
        "attributes.sync.connections.0.dbt_select",
        "e.g. `upstream: [dbt]`",
    ),
    "miscased connection type": (
        WORKSPACE + sync_of("tag:dot").replace("type: duckdb", "type: DuckDB"),
        13,
        "attributes.sync.connections.0.type",
        "write it as 'duckdb'",
    ),
    "unknown removal policy": (
        WORKSPACE + "catalogue: {dagster_assets: true, on_removed: sometimes}\n",
        10,
        "attributes.catalogue.on_removed",
        "Input should be 'deactivate', 'delete' or 'keep'",
    ),
    "region and base_url": (
        WORKSPACE + "  region: eu\n" + CATALOGUE,
        4,
        "attributes.workspace",
        "set exactly one of `region`",
    ),
    "missing catalogue file": (
        WORKSPACE + "catalogue:\n  files: [nowhere.yaml]\n",
        11,
        "attributes.catalogue.files.0",
        "nowhere.yaml",
    ),
    "misspelt field of an answer check": (
        WORKSPACE
        + "questions:\n  - name: revenue\n    question: Revenue last month?\n    expect:\n"
        "      - {kind: number, name: n, sql: select 1, warehouse: {path: x.duckdb}}\n"
        "      - {kind: phrases, name: p, requird: [revenue]}\n",
        15,
        "attributes.questions.0.expect.1",
        "requird",
    ),
    "question named twice": (
        WORKSPACE + "questions:\n  - {name: q, question: a}\n  - {name: q, question: b}\n",
        10,
        "attributes.questions",
        "questions named twice: q",
    ),
    "upstream pointing at itself": (
        WORKSPACE + "upstream: [dot]\n" + CATALOGUE,
        10,
        "attributes.upstream.0",
        "is this component",
    ),
}


@pytest.mark.parametrize("case", list(CASES))
def test_a_bad_defs_yaml_names_file_line_and_field(
    case: str, project: DefsFolderSandbox, dot_env: EmulatorServer
) -> None:
    attributes, line, field, says = CASES[case]
    defs_yaml: Path = write_dot_yaml(project, attributes)

    message = load_error(project)

    assert f"{defs_yaml}:{line}" in message, message
    assert field in message, message
    assert says in message, message
