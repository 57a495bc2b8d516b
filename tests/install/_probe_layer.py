"""Run in a separate interpreter by the packaging tests; prints one JSON object.

Imports every module of the Dagster layer, then uses each feature that needs an extra, and
reports what happened, so the tests can assert on it from the outside. Run it with the
Python of a core-only venv (the extras are absent), or with `--block` to make this
interpreter behave as if the optional modules were not installed.

`--validate FILE` then runs `dagster definitions validate -f FILE` in this interpreter, as
`python -m dagster` runs it (its log after the report, its exit status this process's): the
release-set tests check a code location loads without paying for a second interpreter
that imports Dagster and the layer again.
"""

import importlib
import importlib.util
import json
import runpy
import sys
from collections.abc import Callable

LAYER = (
    "dot_orchestration",
    "dot_orchestration.resources",
    "dot_orchestration.syncs",
    "dot_orchestration.history",
    "dot_orchestration.notes",
    "dot_orchestration.catalogue",
    "dot_orchestration.dbt_run_results",
    "dot_orchestration.monitoring",
    "dot_orchestration.components",
    "dot_orchestration.cli",
)
#: The modules the extras bring (BigQuery's by its own name: Dagster itself uses others of
#: the `google` namespace).
OPTIONAL_MODULES = (
    "fastapi",
    "uvicorn",
    "duckdb",
    "psycopg2",
    "slack_sdk",
    "dagster_msteams",
    "snowflake",
    "google.cloud.bigquery",
    "databricks",
)


def _import(submodule: str) -> Callable[[], object]:
    return lambda: importlib.import_module(f"dot_orchestration.{submodule}")


def _alert(channel: str) -> Callable[[], object]:
    def send() -> object:
        from dot_orchestration.monitoring import Alert, AlertChannels

        channels = AlertChannels(slack_token="xoxb-probe", slack_channel="#probe")
        sender = channels._post_to_slack if channel == "slack" else channels._post_to_teams
        return sender(Alert(title="probe", lines=(), link="http://127.0.0.1:9"))

    return send


def _history_write(warehouse: str) -> Callable[[], object]:
    """A session of the warehouse's resource, made but not entered: no connection."""

    def open_session() -> object:
        from dot_orchestration import history

        login = {"dbname": "x", "user": "x", "password": "x"}
        resources = {
            "duckdb": lambda: history.DuckDBWarehouse(path="probe.duckdb"),
            "postgres": lambda: history.PostgresWarehouse(host="127.0.0.1", port=9, **login),
            "redshift": lambda: history.RedshiftWarehouse(host="127.0.0.1", port=9, **login),
            "snowflake": lambda: history.SnowflakeWarehouse(
                account="x", user="x", database="x", password="x"
            ),
            "bigquery": lambda: history.BigQueryWarehouse(project="x"),
            "databricks": lambda: history.DatabricksWarehouse(
                server_hostname="127.0.0.1", http_path="/x", access_token="x"
            ),
        }
        return resources[warehouse]().session()

    return open_session


#: (extra, the module it brings, what is tried): without the module, each must fail naming
#: its extra; with it (dbt-postgres brings psycopg2, say), it must work.
FEATURES = (
    ("duckdb", "duckdb", "import warehouse._duckdb", _import("warehouse._duckdb")),
    ("duckdb", "duckdb", "DuckDBWarehouse.session()", _history_write("duckdb")),
    ("postgres", "psycopg2", "import warehouse._postgres", _import("warehouse._postgres")),
    ("postgres", "psycopg2", "PostgresWarehouse.session()", _history_write("postgres")),
    ("redshift", "psycopg2", "import warehouse._redshift", _import("warehouse._redshift")),
    ("redshift", "psycopg2", "RedshiftWarehouse.session()", _history_write("redshift")),
    ("snowflake", "snowflake", "import warehouse._snowflake", _import("warehouse._snowflake")),
    ("snowflake", "snowflake", "SnowflakeWarehouse(...)", _history_write("snowflake")),
    (
        "bigquery",
        "google.cloud.bigquery",
        "import warehouse._bigquery",
        _import("warehouse._bigquery"),
    ),
    (
        "bigquery",
        "google.cloud.bigquery",
        "BigQueryWarehouse.session()",
        _history_write("bigquery"),
    ),
    ("databricks", "databricks", "import warehouse._databricks", _import("warehouse._databricks")),
    (
        "databricks",
        "databricks",
        "DatabricksWarehouse.session()",
        _history_write("databricks"),
    ),
    ("emulator", "fastapi", "import emulator", _import("emulator")),
    ("emulator", "fastapi", "import emulator.confluence", _import("emulator.confluence")),
    ("slack", "slack_sdk", "AlertChannels: Slack alert", _alert("slack")),
    ("teams", "dagster_msteams", "AlertChannels: Teams alert", _alert("teams")),
)


def installed(module: str) -> bool:
    """Importable here (a module blocked with `--block` is not)."""
    if module in sys.modules:
        return sys.modules[module] is not None
    try:
        return importlib.util.find_spec(module) is not None
    except ModuleNotFoundError:  # a dotted name whose parent is absent (`google.cloud`)
        return False


def main() -> None:
    if "--block" in sys.argv:
        for name in OPTIONAL_MODULES:
            sys.modules[name] = None  # type: ignore[assignment]  # `import` now fails
    available = {module: installed(module) for _, module, _, _ in FEATURES}
    import_errors = {}
    for name in LAYER:
        try:
            importlib.import_module(name)
        except Exception as error:  # report every failure, not only the first
            import_errors[name] = f"{type(error).__name__}: {error}"
    loaded = [m for m in OPTIONAL_MODULES if sys.modules.get(m) is not None]
    features = []
    for extra, module, label, attempt in FEATURES:
        try:
            attempt()
            outcome = "no error"
        except Exception as error:
            outcome = f"{type(error).__name__}: {error}"
        features.append(
            {"extra": extra, "feature": label, "installed": available[module], "outcome": outcome}
        )
    report = {"import_errors": import_errors, "optional_modules_loaded": loaded}
    print(json.dumps({**report, "features": features}), flush=True)
    if "--validate" in sys.argv:
        location = sys.argv[sys.argv.index("--validate") + 1]
        sys.argv = ["dagster", "definitions", "validate", "-f", location]
        runpy.run_module("dagster", run_name="__main__", alter_sys=True)


if __name__ == "__main__":
    main()
