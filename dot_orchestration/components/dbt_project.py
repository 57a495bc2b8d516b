"""`DotDbtProjectComponent`: dagster-dbt's `DbtProjectComponent`, plus what Dot needs from
the dbt assets, which only the component building them may change.

In a `dg` project the dbt component owns the dbt assets: the Dot component reads them (its
`upstream`) but cannot change how they run or what they depend on. Two things of the
Python example live there, so they live here:

- **Run results to Dot.** After each dbt invocation, the artifacts go to Dot (as
  `push_dbt_run_results` does in the Python example's `@dbt_assets`), however the build
  ended: a failed build is exactly when Dot must mark the dashboards on it.
- **The history export upstream of the models reading it.** The dbt sources reading the
  export's tables are mapped onto the history asset (as `DotHistoryDbtTranslator` does),
  so those models are downstream of the export in the graph and in the daily run.
"""

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from functools import cached_property
from pathlib import Path
from typing import Annotated, Any, cast

from dagster import (
    AssetExecutionContext,
    AssetsDefinition,
    AssetSpec,
    ComponentLoadContext,
    Definitions,
    HookContext,
    HookDefinition,
    Resolver,
    failure_hook,
    success_hook,
)
from dagster_dbt import (
    DagsterDbtTranslatorSettings,
    DbtCliInvocation,
    DbtCliResource,
    DbtProject,
    DbtProjectComponent,
)

from dot_orchestration._compat import replace_assets
from dot_orchestration.components._yaml import YamlFront
from dot_orchestration.components.settings import HistoryTables
from dot_orchestration.dbt_run_results import push_dbt_run_results
from dot_orchestration.history import DotHistoryDbtTranslator

#: The resource the push uses: the one `DotComponent` defines from its `workspace`.
DOT_RESOURCE_KEY = "dot"


@dataclass
class DotDbtProjectComponent(DbtProjectComponent):
    """A dbt project as Dagster assets, like `dagster_dbt.DbtProjectComponent` (every
    attribute of it works the same), that also tells Dot about each build and puts Dot's
    history export upstream of the models reading it.

    .. code-block:: yaml

        type: dot_orchestration.DotDbtProjectComponent
        attributes:
          project: "{{ context.project_root }}/../dbt_project"
          # After every dbt invocation, its run_results.json and manifest.json go to Dot
          # (POST /api/dbt/run_results), through the `dot` resource of the code location:
          # the one the DotComponent's `workspace` defines. A Dot outage is logged and
          # never fails the build. `false`: no push, and no `dot` resource needed.
          push_run_results: true
          # The dbt sources reading the DotComponent's history tables (matched by schema
          # and table) become its history asset. Same fields as its `history` section:
          # schema_name, conversations_table, messages_table, key; `{}` for the defaults.
          dot_history: {}

    The mapping happens before this component's `translation:`, so a translation that
    changes source keys changes the history sources' too: leave them as they are.
    """

    push_run_results: Annotated[
        bool,
        Resolver.default(
            description="Push each invocation's run_results.json and manifest.json to Dot "
            "(open and resolve its data incidents), through the code location's `dot` "
            "resource (the DotComponent's `workspace`). A Dot outage never fails the build."
        ),
    ] = True
    # A forward reference, so that Dagster takes the YAML model from the resolver: it
    # refuses a pydantic class with constrained fields as a field's type (see _yaml.py).
    dot_history: Annotated[
        "HistoryTables | None",
        YamlFront.of(HistoryTables).resolver(
            "The DotComponent's history export: the dbt sources reading its tables become "
            "its asset, so the models reading them run after it. The fields its `history` "
            "section sets (schema_name, conversations_table, messages_table, key); `{}` "
            "for the defaults.",
            examples=[{}, {"schema_name": "dot_history"}],
        ),
    ] = None

    def __post_init__(self) -> None:
        """Both history tables map to one asset, which dagster-dbt refuses unless asked."""
        if self.dot_history is not None:
            # dagster-dbt's component default (code references on) when YAML sets `null`.
            settings = self.translation_settings or DagsterDbtTranslatorSettings(
                enable_code_references=True
            )
            # The field is typed as dagster-dbt's component subclass of these settings, which
            # it does not export and which differs only in the code-references default above.
            self.translation_settings = replace(  # type: ignore[assignment]
                settings, enable_duplicate_source_asset_keys=True
            )

    @cached_property
    def _history_sources(self) -> DotHistoryDbtTranslator | None:
        """Which dbt sources are the history tables: the Python API's own matching."""
        return DotHistoryDbtTranslator(self.dot_history) if self.dot_history is not None else None

    def get_asset_spec(
        self, manifest: Mapping[str, Any], unique_id: str, project: DbtProject | None
    ) -> AssetSpec:
        """dagster-dbt's spec; a source reading the history tables at the history key."""
        spec = super().get_asset_spec(manifest, unique_id, project)
        if self.dot_history is None or self._history_sources is None:
            return spec
        key = self._history_sources.get_asset_key(self.get_resource_props(manifest, unique_id))
        return spec.replace_attributes(key=key) if key == self.dot_history.asset_key else spec

    def build_defs_from_state(
        self, context: ComponentLoadContext, state_path: Path | None
    ) -> Definitions:
        """dagster-dbt's definitions; with the push, the dbt step is followed by a hook that
        requires `dot` (so a code location without it fails at load) and pushes."""
        defs = super().build_defs_from_state(context, state_path)
        if not self.push_run_results:
            return defs
        hooks = _push_hooks()
        assets = cast(list[AssetsDefinition], defs.assets or [])
        return replace_assets(defs, [asset.with_hooks(hooks) for asset in assets])

    def execute(self, context: AssetExecutionContext, dbt: DbtCliResource) -> Iterator[Any]:
        """dagster-dbt's execution, remembering each dbt invocation for the push hook,
        which runs after the step whether dbt succeeded or failed."""
        if not self.push_run_results:
            yield from super().execute(context, dbt)
            return
        recorded = _RecordedDbt(dbt, _PENDING.setdefault(_step_of(context), []))
        yield from super().execute(context, cast(DbtCliResource, recorded))


#: The dbt invocations of each running dbt step, by (run id, op name), until its hook pushes
#: them. `DbtProjectComponent` builds its op with no resource and offers no public way to add
#: one, but a hook may require resources and runs right after its step, in the step's
#: process: the step records what it ran here, the hook (which has `dot`) takes it.
_PENDING: dict[tuple[str, str], list[DbtCliInvocation]] = {}


def _step_of(context: AssetExecutionContext) -> tuple[str, str]:
    return (context.run.run_id, context.op_execution_context.op.name)


@dataclass
class _RecordedDbt:
    """The step's dbt resource, remembering the invocations it starts, so that the
    artifacts of the one `DbtProjectComponent.execute` runs can be pushed however it ends
    (with dbt's `raise_on_error`, a failed build raises before `execute` returns)."""

    dbt: DbtCliResource
    invocations: list[DbtCliInvocation] = field(default_factory=list)

    def cli(self, args: Sequence[str], **kwargs: Any) -> DbtCliInvocation:
        invocation = self.dbt.cli(args, **kwargs)
        self.invocations.append(invocation)
        return invocation

    def __getattr__(self, name: str) -> Any:
        return getattr(self.dbt, name)


def _push_recorded(context: HookContext) -> None:
    """Push the artifacts of every dbt invocation the step just ran to Dot."""
    for invocation in _PENDING.pop((context.run_id, context.op.name), []):
        push_dbt_run_results(context, getattr(context.resources, DOT_RESOURCE_KEY), invocation)


def _push_hooks() -> set[HookDefinition]:
    """The same push after a step that succeeded and after one that failed: a failed
    build is exactly when Dot must mark the dashboards on it."""
    required = {DOT_RESOURCE_KEY}
    return {
        success_hook(name="dot_push_dbt_run_results", required_resource_keys=required)(
            _push_recorded
        ),
        failure_hook(name="dot_push_dbt_run_results_of_failure", required_resource_keys=required)(
            _push_recorded
        ),
    }


__all__ = ["DOT_RESOURCE_KEY", "DotDbtProjectComponent"]
