"""The Dagster layer imports dagster-dbt (and with it dbt-core) only where dbt is used.

`import dagster_dbt` costs more CPU than `import dagster` itself (it imports dbt-core): a
code location without dbt, each of its run and step workers, and each subprocess of this
suite would pay it for nothing. The operations' modules must not import it; the dbt
features import it when used, and their names still resolve from where they always did.
"""

import subprocess
import sys
import textwrap

import dagster_dbt

import dot_orchestration
import dot_orchestration.components
import dot_orchestration.history

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

#: Imports each module in a fresh interpreter (this one has dbt already) and prints the
#: first one after which dagster-dbt or dbt is loaded.
_PROBE = textwrap.dedent(
    """
    import importlib, sys
    for name in sys.argv[1:]:
        importlib.import_module(name)
        loaded = sorted({"dagster_dbt", "dbt"} & set(sys.modules))
        if loaded:
            print(name, "imports", ", ".join(loaded))
            break
    """
)


def test_the_operations_modules_leave_dbt_unimported() -> None:
    probe = subprocess.run(
        [sys.executable, "-c", _PROBE, *DBT_FREE_MODULES],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    assert probe.stdout == "", probe.stdout


def test_the_dbt_names_resolve_where_they_always_did() -> None:
    translator = dot_orchestration.history.DotHistoryDbtTranslator
    component = dot_orchestration.components.DotDbtProjectComponent

    assert issubclass(translator, dagster_dbt.DagsterDbtTranslator)
    assert issubclass(component, dagster_dbt.DbtProjectComponent)
    assert dot_orchestration.DotDbtProjectComponent is component
    assert "DotDbtProjectComponent" in dir(dot_orchestration.components)
