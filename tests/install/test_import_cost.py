"""Loading definitions imports neither dbt where dbt is not used, nor the data libraries.

`import dagster_dbt` costs more CPU than `import dagster` itself (it imports dbt-core): a
code location without dbt, each of its run and step workers, and each subprocess of this
suite would pay it for nothing. The operations' modules must not import it; the dbt
features import it when used, and their names still resolve from where they always did.

pandas and numpy (and pyarrow, DuckDB) are needed only when a step reads, checks or writes
rows, and bs4 and markdownify only when a note sync converts a page, not to load
definitions: they cost each loading process ~0.7 CPU s (the example's definitions after
Dagster and dagster-dbt: 1.26 s with them, 0.57 s without). The modules using them import
them on first use (`dot_orchestration._lazy`).
"""

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import dagster_dbt
import pandas

import dot_demo
import dot_orchestration
import dot_orchestration.components
import dot_orchestration.history
from dot_orchestration._lazy import LazyModule

#: What a code location without dbt imports: every operation's module, the resources, the
#: YAML component and the run-results push (called from a dbt step, imported by any).
DBT_FREE_MODULES = [
    "dot_orchestration.resources",
    "dot_orchestration.history",
    "dot_orchestration.notes",
    "dot_orchestration.monitoring",
    "dot_orchestration.catalogue",
    "dot_orchestration.environments",
    "dot_orchestration.syncs",
    "dot_orchestration.questions",
    "dot_orchestration.components",
    "dot_orchestration.dbt_run_results",
]

#: What loading definitions leaves unimported: every operation's module and the example's
#: definitions (which use dbt, but read, check and write no rows while loading).
DATA_FREE_MODULES = [*DBT_FREE_MODULES, "dot_demo.definitions"]
DATA_LIBRARIES = "pandas,numpy,pyarrow,duckdb,bs4,markdownify"
#: Where `dot_demo` is (the suite's `pythonpath`, which a subprocess does not inherit).
EXAMPLES = str(Path(dot_demo.__file__).resolve().parents[1])

#: Imports each module in a fresh interpreter (this one has them all already) and prints
#: the first one after which any of the comma-separated top-level modules is loaded.
_PROBE = textwrap.dedent(
    """
    import importlib, sys
    watched = set(sys.argv[1].split(","))
    for name in sys.argv[2:]:
        importlib.import_module(name)
        loaded = sorted(watched & set(sys.modules))
        if loaded:
            print(name, "imports", ", ".join(loaded))
            break
    """
)


def first_importer(watched: str, modules: list[str]) -> str:
    """The probe's report: empty when none of `modules` imports any of `watched`."""
    probe = subprocess.run(
        [sys.executable, "-c", _PROBE, watched, *modules],
        env={**os.environ, "PYTHONPATH": EXAMPLES},
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    return probe.stdout


def test_the_operations_modules_leave_dbt_unimported() -> None:
    assert first_importer("dagster_dbt,dbt", DBT_FREE_MODULES) == ""


def test_loading_definitions_leaves_the_data_libraries_unimported() -> None:
    assert first_importer(DATA_LIBRARIES, DATA_FREE_MODULES) == ""


def test_the_dbt_names_resolve_where_they_always_did() -> None:
    translator = dot_orchestration.history.DotHistoryDbtTranslator
    component = dot_orchestration.components.DotDbtProjectComponent

    assert issubclass(translator, dagster_dbt.DagsterDbtTranslator)
    assert issubclass(component, dagster_dbt.DbtProjectComponent)
    assert dot_orchestration.DotDbtProjectComponent is component
    assert "DotDbtProjectComponent" in dir(dot_orchestration.components)


def test_a_stand_in_gives_way_to_the_module_at_its_first_use() -> None:
    namespace: dict[str, object] = {}
    namespace["pd"] = stand_in = LazyModule("pandas", namespace, "pd")

    assert stand_in.Timestamp is pandas.Timestamp
    assert namespace["pd"] is pandas  # later reads skip the stand-in
