"""Every ```python block of README.md runs as written, against the emulators.

Each block is cut out of the README and compiled under the README's name with its own
line numbers, so a traceback points at `README.md:<line>`; it runs in a fresh namespace
with what a reader has after the README's setup (`reader_env`: `DOT_API_KEY` and
`DOT_BASE_URL` at the Dot emulator, `CONFLUENCE_*` at the Confluence emulator, a checkout
whose example dbt project is parsed). A block that builds `defs` must load as a code
location does, and Dot's assets in it are materialized: one run per partitioning, on its
latest partition.

A block right after `<!-- readme-test: import-only -->` needs a real external service (a
Postgres server, say): it runs and its definitions must load, but nothing is materialized.
"""

import re
import textwrap
import traceback
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from dagster import AssetKey, DagsterInstance, Definitions, PartitionsDefinition

README = Path(__file__).resolve().parents[2] / "README.md"
IMPORT_ONLY = "<!-- readme-test: import-only -->"
_FENCE = re.compile(r"^(?P<indent>[ \t]*)```(?P<info>\S*)\s*$")


@dataclass(frozen=True)
class Block:
    """One fenced ```python block: where its code starts in the README, and the code."""

    line: int
    code: str
    import_only: bool

    @property
    def where(self) -> str:
        return f"README.md:{self.line}"


def python_blocks(text: str) -> list[Block]:
    """The README's ```python blocks, indented ones (inside a list item) included."""
    lines = text.splitlines()
    blocks, index = [], 0
    while index < len(lines):
        opening = _FENCE.match(lines[index])
        if opening is None:
            index += 1
            continue
        end = next(
            (i for i in range(index + 1, len(lines)) if lines[i].strip() == "```"), len(lines)
        )
        if opening["info"] == "python":
            before = [line.strip() for line in lines[:index] if line.strip()]
            blocks.append(
                Block(
                    line=index + 2,
                    code=textwrap.dedent("\n".join(lines[index + 1 : end])),
                    import_only=bool(before) and before[-1] == IMPORT_ONLY,
                )
            )
        index = end + 1
    return blocks


BLOCKS = python_blocks(README.read_text(encoding="utf-8"))


def run_block(block: Block) -> dict[str, Any]:
    """Execute the block in a fresh namespace; a failure names its README line."""
    namespace: dict[str, Any] = {"__name__": "readme_snippet"}
    code = "\n" * (block.line - 1) + block.code  # tracebacks show the README's line numbers
    try:
        exec(compile(code, str(README), "exec"), namespace)
    except Exception:
        pytest.fail(f"{block.where}: the block fails as written:\n{traceback.format_exc()}")
    return namespace


def dot_assets_by_partitioning(
    defs: Definitions,
) -> dict[PartitionsDefinition | None, list[AssetKey]]:
    """Dot's materializable assets of `defs` (keys under `dot/`), by partitioning."""
    graph = defs.resolve_asset_graph()
    groups: dict[PartitionsDefinition | None, list[AssetKey]] = defaultdict(list)
    for key in sorted(graph.materializable_asset_keys):
        if key.path[0] == "dot":
            groups[graph.get(key).partitions_def].append(key)
    return groups


def materialize_dot_assets(block: Block, defs: Definitions, instance: DagsterInstance) -> None:
    groups = dot_assets_by_partitioning(defs)
    assert groups, f"{block.where}: `defs` has no Dot asset to run"
    for partitions, keys in groups.items():
        job = defs.resolve_implicit_job_def_def_for_assets(keys)
        assert job is not None, f"{block.where}: no job materializes {keys}"
        partition = {"partition_key": partitions.get_last_partition_key()} if partitions else {}
        result = job.execute_in_process(
            instance=instance, asset_selection=keys, raise_on_error=False, **partition
        )
        failures = [
            str(event.step_failure_data.error) for event in result.get_step_failure_events()
        ]
        assert result.success, f"{block.where}: materializing {keys} failed:\n" + "\n".join(
            failures
        )


def test_the_readme_has_python_blocks() -> None:
    assert len(BLOCKS) >= 3, BLOCKS


@pytest.mark.parametrize("block", BLOCKS, ids=[block.where for block in BLOCKS])
def test_a_readme_block_runs_as_written(
    block: Block, reader_env: Path, instance: DagsterInstance
) -> None:
    namespace = run_block(block)
    defs = namespace.get("defs")
    if defs is None:
        return
    assert isinstance(defs, Definitions), f"{block.where}: `defs` is a {type(defs).__name__}"
    try:
        Definitions.validate_loadable(defs)
    except Exception:
        pytest.fail(f"{block.where}: `defs` does not load:\n{traceback.format_exc()}")
    if not block.import_only:
        materialize_dot_assets(block, defs, instance)
