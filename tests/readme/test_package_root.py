"""`from dot_orchestration import DotResource` and the other names a README reader starts
with: each is the object its module defines, and importing the package root alone still
imports no Dagster (the core stays usable without it)."""

import importlib
import subprocess
import sys

import pytest

import dot_orchestration

ROOT_NAMES = {
    "CatalogueSettings": "dot_orchestration.catalogue",
    "ExposuresSettings": "dot_orchestration.catalogue",
    "build_dot_catalogue_definitions": "dot_orchestration.catalogue",
    "ConfluenceResource": "dot_orchestration.resources",
    "DotComponent": "dot_orchestration.components",
    "DotConnection": "dot_orchestration.syncing",
    "DotDbtProjectComponent": "dot_orchestration.components",
    "DotNotesSettings": "dot_orchestration.notes",
    "DotResource": "dot_orchestration.resources",
    "SyncSettings": "dot_orchestration.syncs",
    "build_dot_notes_definitions": "dot_orchestration.notes",
    "build_dot_sync_definitions": "dot_orchestration.syncs",
}


@pytest.mark.parametrize(("name", "module"), ROOT_NAMES.items())
def test_a_root_name_is_its_modules_object(name: str, module: str) -> None:
    assert getattr(dot_orchestration, name) is getattr(importlib.import_module(module), name)
    assert name in dot_orchestration.__all__
    assert name in dir(dot_orchestration)  # `dg` finds the components through dir()


def test_an_unknown_root_name_is_an_attribute_error() -> None:
    with pytest.raises(AttributeError, match="DotResorce"):
        _ = dot_orchestration.DotResorce  # type: ignore[attr-defined]


def test_importing_the_package_root_imports_no_dagster() -> None:
    code = "import sys, dot_orchestration; assert 'dagster' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)
