"""A job whose steps and hooks write their process ids, for `test_compat`: reconstructed
in each step's own process by the multiprocess executor, so it lives in a module."""

import os
from pathlib import Path

from dagster import (
    Definitions,
    HookContext,
    JobDefinition,
    asset,
    define_asset_job,
    failure_hook,
    success_hook,
)


def _write(folder: str, name: str) -> None:
    (Path(folder) / name).write_text(str(os.getpid()))


@success_hook
def _after_success(context: HookContext) -> None:
    _write(os.environ["HOOKED_JOB_DIR"], f"hook-{context.op.name}")


@failure_hook
def _after_failure(context: HookContext) -> None:
    _write(os.environ["HOOKED_JOB_DIR"], f"hook-{context.op.name}")


@asset
def built() -> None:
    _write(os.environ["HOOKED_JOB_DIR"], "step-built")


@asset
def broken() -> None:
    _write(os.environ["HOOKED_JOB_DIR"], "step-broken")
    raise RuntimeError("the build failed")


def hooked_job() -> JobDefinition:
    hooks = {_after_success, _after_failure}
    defs = Definitions(
        assets=[built.with_hooks(hooks), broken.with_hooks(hooks)],
        jobs=[define_asset_job("hooked", selection=[built, broken])],
    )
    return defs.get_job_def("hooked")
