"""Every asset of a code location as one job, rebuilt by name in each process that runs it.

The multiprocess executor starts every step in a new process, which must rebuild the job
from something it can import. `dagster.build_reconstructable_job` names `asset_job` and its
arguments (JSON values), so each step process loads the code location (`module:attribute`,
e.g. `dot_demo.definitions:defs`) as `dagster dev`, a code server or a run pod loads it,
and takes the job from it.

A process loads it once: Dagster asks a step process for the job twice (to plan the step,
then to run it), and the definitions are a function of the environment, which a process
keeps; building them again cost a second of CPU a step.
"""

from __future__ import annotations

import functools
import importlib
import os
from pathlib import Path

from dagster import AssetSelection, Definitions, JobDefinition, define_asset_job

#: The folder the step processes import this module (`reliability._code_location`) from.
IMPORT_ROOT = str(Path(__file__).resolve().parents[1])


def asset_job(module: str, attribute: str, job_name: str) -> JobDefinition:
    """Every asset (and check) of the definitions at `module:attribute` as one job named
    `job_name` (`_asset_job`), built once for the process's environment."""
    return _asset_job(module, attribute, job_name, tuple(sorted(os.environ.items())))


@functools.cache
def _asset_job(
    module: str, attribute: str, job_name: str, environment: tuple[tuple[str, str], ...]
) -> JobDefinition:
    """Every asset (and check) of the definitions at `module:attribute` as one job named
    `job_name`: the implicit asset job under a name of its own, since the one-job
    repository `build_reconstructable_job` wraps a job in refuses the reserved
    `__ASSET_JOB`. The definitions are a `Definitions`, or a `@dagster.definitions`
    function, loaded lazily (called) as Dagster loads it."""
    found = getattr(importlib.import_module(module), attribute)
    definitions = found if isinstance(found, Definitions) else found()
    assert isinstance(definitions, Definitions), f"{module}:{attribute} gave {definitions!r}"
    every_asset = define_asset_job(job_name, selection=AssetSelection.all())
    return Definitions.merge(definitions, Definitions(jobs=[every_asset])).resolve_job_def(job_name)
