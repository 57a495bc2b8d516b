"""A feature whose extra is missing says which extra to install.

The real proof is the core-only venvs of `test_release_sets.py`; this runs the same probe
in the development venv with the optional modules blocked (`sys.modules[name] = None`
makes their import fail as if absent), so it runs in seconds on every change.
"""

import sys

import pytest
from _probe import assert_core_only, run_probe

from dot_orchestration._extras import MissingExtraError, extra_required


def test_without_the_optional_modules_every_feature_names_its_extra() -> None:
    assert_core_only(run_probe(sys.executable, "--block"))


def test_a_missing_module_becomes_the_pip_line_of_its_extra() -> None:
    with pytest.raises(MissingExtraError) as raised, extra_required("duckdb", feature="X"):
        import dot_orchestration_no_such_module  # noqa: F401

    assert str(raised.value).startswith("X: missing the optional dependencies")
    assert "pip install 'dot-orchestration[duckdb]'" in str(raised.value)
    assert raised.value.name == "dot_orchestration_no_such_module"
    assert isinstance(raised.value, ImportError)


def test_an_installed_module_that_fails_to_import_keeps_its_own_error() -> None:
    with (
        pytest.raises(ImportError, match="broken build") as raised,
        extra_required("duckdb", feature="X"),
    ):
        raise ImportError("broken build")
    assert not isinstance(raised.value, MissingExtraError)
