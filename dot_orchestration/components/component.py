"""`DotComponent`: every recurring Dot operation of a code location, in one `defs.yaml`.

A thin YAML front over the Python API. Each section of the file is validated by the
settings class the Python API already uses (see `settings.py`) and handed to the same
factories a Python user calls: `build_dot_sync_definitions`, `build_dot_catalogue_asset`,
`load_dot_dashboard_specs`, `build_dot_history_definitions`, `build_dot_notes_definitions`,
`build_dot_monitoring_definitions`, `build_dot_environment_definitions`,
`build_dot_question_definitions`, and their schedules and checks. Nothing
here syncs, exports or reconciles.

A new operation is a new section: its settings class in `settings.py`, an entry in
`ATTRIBUTES`, and a method of `_DefinitionsBuild` calling its factories.

The dbt models a connection reads come from other components of the project: `upstream`
lists their paths in the defs folder, the component builds their definitions through
Dagster (`ComponentLoadContext.build_defs`, cached, so the dbt project is loaded once) and
resolves `dbt_select` through the dbt assets' own manifest and translator, exactly as the
Python API does with `@dbt_assets`. What the dbt assets themselves owe Dot (run results
pushed after each build, the history export upstream of the models reading it) is done
where they are built: `DotDbtProjectComponent` (`dbt_project.py`).

Mistakes found while building (an unknown dbt model, a catalogue file with a bad entry)
are reported like Dagster's own resolution errors: file, line, field, and the Python API's
message saying what to fix.
"""

import operator
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cache, cached_property, reduce
from pathlib import Path
from typing import Any

from dagster import (
    AssetKey,
    AssetsDefinition,
    AssetSelection,
    AssetSpec,
    Component,
    ComponentLoadContext,
    Definitions,
    ResolutionContext,
    Resolver,
)
from dagster.components.resolved.scopes import LoadContextScope
from dagster.components.scaffold.scaffold import scaffold_with
from dagster.components.utils.translation import TranslationFn, TranslationFnResolver
from pydantic import BaseModel, Field, create_model
from typing_extensions import Self

from dot_orchestration._compat import SourcePositionTree
from dot_orchestration.catalogue import (
    CatalogueFile,
    ExposuresState,
    SingleAsset,
    build_dot_catalogue_definitions,
)
from dot_orchestration.catalogue.defs_state import ExposuresDefsState
from dot_orchestration.components._yaml import SchemaOnce, YamlFront, located_error
from dot_orchestration.components.scaffolder import DotComponentScaffolder
from dot_orchestration.components.settings import (
    CatalogueSettings,
    ConfluenceSettings,
    EnvironmentSettings,
    ExposuresSettings,
    HistorySettings,
    MonitoringSettings,
    QuestionSettings,
    SyncSettings,
)
from dot_orchestration.components.translation import DotAssetProps, Translation, template_vars
from dot_orchestration.environments import (
    build_dot_environment_definitions,
    deployment_environment,
    scoped_dot_resource,
    with_dbt_targets,
)
from dot_orchestration.history import build_dot_history_definitions
from dot_orchestration.monitoring import build_dot_monitoring_definitions
from dot_orchestration.notes import build_dot_notes_definitions
from dot_orchestration.questions import build_dot_question_definitions
from dot_orchestration.resources import DotResource
from dot_orchestration.syncs import (
    UpstreamError,
    build_dot_sync_definitions,
    dbt_assets_of,
    sync_assets_of,
    tables_read_by_dot,
)
from dot_orchestration.transforms.catalogue import CatalogueError

#: How each attribute of `defs.yaml` is read. Dagster's `Resolvable` would derive this from
#: the field annotations, but it refuses pydantic settings with constrained fields (the
#: Python API's); each front validates with the settings class itself instead.
ATTRIBUTES: dict[str, Resolver] = {
    "workspace": YamlFront.of(DotResource).resolver(
        "Where Dot is and how to talk to it (the `dot` resource of every Dot asset). "
        "`api_token` must be an environment reference such as '{{ env.DOT_API_KEY }}'.",
        examples=[{"api_token": "{{ env.DOT_API_KEY }}", "region": "eu"}],
    ),
    "upstream": Resolver.default(
        model_field_type=list[str],
        description="Paths, relative to the defs folder, of the components whose assets Dot "
        "reads: the dbt component (for `dbt_select`, the sync schedule and the dashboards' "
        "lineage) and BI integrations (for the catalogue and `asset_keys`).",
        examples=[["dbt"]],
    ),
    "sync": YamlFront.of(SyncSettings).resolver(
        "Dot connections re-synced after the dbt models they read."
    ),
    "catalogue": YamlFront.of(CatalogueSettings).resolver(
        "Dot's external assets kept in step with catalogue files and BI dashboards."
    ),
    "exposures": YamlFront.of(ExposuresSettings).resolver(
        "Dot's shared dashboards downstream of their dbt models."
    ),
    "history": YamlFront.of(HistorySettings).resolver(
        "Dot's conversation history exported to the warehouse, day by day."
    ),
    "confluence": YamlFront.of(ConfluenceSettings).resolver("Confluence pages kept as Dot notes."),
    "monitoring": YamlFront.of(MonitoringSettings).resolver(
        "Freshness from this component's schedules, alerts to Slack / Teams and Dot "
        "quality incidents."
    ),
    "environment": YamlFront.of(EnvironmentSettings).resolver(
        "The Dot environment this deployment works in: production (default), a fixed id, "
        "or one per branch deployment, pointed at the dbt dev target, checked and merged "
        "by a confirmed job. The syncs then refresh it instead of production.",
        examples=[{"mode": "per_branch", "targets": {"CONNECTION_ID": {"schema": "dbt_dev"}}}],
    ),
    "questions": YamlFront.of(QuestionSettings).list_resolver(
        "Questions Dot answers as assets, on a cron or after the assets they read, and the "
        "checks of their answers (`expect`).",
        examples=[[{"name": "weekly_revenue", "question": "Summarize revenue last week"}]],
    ),
    "translation": TranslationFnResolver(template_vars_for_translation_fn=template_vars),
}


class _ResolvedFromYaml(Component):
    """How `DotComponent` is read from `defs.yaml`: below `StateBackedComponent` in its
    bases, whose `load` calls this one and then registers the component's state key."""

    @classmethod
    def load(cls, attributes: BaseModel | None, context: ComponentLoadContext) -> Self:
        """Each attribute resolved by its resolver, at its own path of the file."""
        scoped = context.with_rendering_scope({"context": LoadContextScope(context)})
        at = scoped.resolution_context.at_path("attributes")
        if attributes is None:
            raise located_error(at, "`attributes:` with at least a `workspace` is required")
        values = {
            name: resolver.execute(context=at, model=attributes, field_name=name)
            for name, resolver in ATTRIBUTES.items()
            if name in attributes.model_fields_set
        }
        return cls(**values)


@scaffold_with(DotComponentScaffolder)
@dataclass
class DotComponent(ExposuresDefsState, _ResolvedFromYaml):
    """Dot (getdot.ai) for this code location: connection syncs after dbt builds, the
    external-asset catalogue, Dot dashboards in the lineage graph, the conversation history
    export, Confluence notes, alerts and Dot quality incidents, questions Dot answers as
    assets and the checks of their answers, each an optional section of `defs.yaml`.

    With a `monitoring` section, each asset one of its schedules refreshes (the syncs,
    the history, the notes, the catalogue and its exposures snapshot) gets a freshness
    policy of one schedule interval plus `freshness_grace_minutes`, through the
    `build_dot_monitoring_definitions` the Python example calls (the section is its
    `MonitoringSettings`); `schedule_freshness: false` turns that off. The dbt
    component's assets keep their own policies: their checks are watched all the same.

    Scaffold it with `dg scaffold defs dot_orchestration.DotComponent dot`. From Python,
    construct it with the settings classes: `DotComponent(workspace=DotResource(...),
    sync=SyncSettings(connections=[DotConnection(...)]))`.
    """

    workspace: DotResource
    upstream: Sequence[str] = ()
    sync: SyncSettings | None = None
    catalogue: CatalogueSettings | None = None
    exposures: ExposuresSettings | None = None
    history: HistorySettings | None = None
    confluence: ConfluenceSettings | None = None
    monitoring: MonitoringSettings | None = None
    environment: EnvironmentSettings | None = None
    questions: Sequence[QuestionSettings] = ()
    translation: TranslationFn[DotAssetProps] | None = None

    @classmethod
    def get_model_cls(cls) -> type[BaseModel]:
        """The schema of `attributes:` (what Dagster, `dg check defs` and IDEs validate)."""
        return _attributes_model()

    def build_defs_from_state(
        self, context: ComponentLoadContext, state_path: Path | None
    ) -> Definitions:
        """Every section's definitions; `state_path` holds Dot's exposures when Dagster
        keeps them (an `exposures` section without `state_path`, see `ExposuresDefsState`)."""
        return _DefinitionsBuild(self, context, self.exposures_state(state_path)).definitions()


@cache
def _attributes_model() -> type[BaseModel]:
    """`ATTRIBUTES` as one model: only `workspace` is required."""
    fields: dict[str, Any] = {}
    for name, resolver in ATTRIBUTES.items():
        optional: dict[str, Any] = (
            {}
            if name == "workspace"
            else {"default": [] if name in ("upstream", "questions") else None}
        )
        info = Field(description=resolver.description, examples=resolver.examples, **optional)
        fields[name] = (resolver.model_field_type, info)
    return create_model("DotComponentModel", __base__=SchemaOnce, **fields)


@dataclass(frozen=True)
class _Upstream:
    """The assets of the `upstream` components, as the Python API's factories take them."""

    assets: tuple[AssetsDefinition, ...]

    @cached_property
    def dbt(self) -> list[AssetsDefinition]:
        return dbt_assets_of(self.assets)


class _DefinitionsBuild:
    """One `build_defs` call: each section handed to its factories, errors located."""

    def __init__(
        self,
        component: DotComponent,
        context: ComponentLoadContext,
        exposures_state: ExposuresState | None = None,
    ) -> None:
        self.component = component
        self.context = context
        self.exposures_state = exposures_state
        self.at = _yaml_context(context).at_path("attributes")
        self.translate = Translation(component.translation)
        self.upstream = _Upstream(tuple(self._upstream_assets()))

    def definitions(self) -> Definitions:
        self._deployment_environment()  # first: a per-branch mistake is its section's
        syncs = self._syncs()
        built = [
            self._environment(syncs),
            syncs,
            self._history(),
            self._confluence(),
            self._questions(),
        ]
        made = [
            asset
            for defs in built
            if defs
            for asset in defs.assets or ()
            if isinstance(asset, (AssetsDefinition, AssetSpec))
        ]
        built.append(self._catalogue(made))
        sections = [defs for defs in built if defs is not None]
        if not sections:
            raise located_error(
                self.at,
                "no Dot operation is configured: add a `sync`, `catalogue`, `exposures`, "
                "`history`, `confluence` or `questions` section",
            )
        own = Definitions.merge(*sections, Definitions(resources=self._resources()))
        settings = self.component.monitoring
        if settings is None:
            return own
        dot_tables: list[AssetKey] = []
        if syncs is not None:
            dot_tables = tables_read_by_dot(sync_assets_of(syncs))
        return build_dot_monitoring_definitions(
            own, settings, dot_tables=dot_tables, upstream=self.upstream.assets
        )

    # ----------------------------------------------------------------- upstream

    def _upstream_assets(self) -> list[AssetsDefinition]:
        assets: list[AssetsDefinition] = []
        for index, path in enumerate(self.component.upstream):
            defs = self._upstream_definitions(path, self.at.at_path("upstream").at_path(index))
            for item in defs.assets or ():
                if isinstance(item, AssetsDefinition):
                    assets.append(item)
                elif isinstance(item, AssetSpec):
                    assets.append(AssetsDefinition(specs=[item]))
        return assets

    def _upstream_definitions(self, path: str, at: ResolutionContext) -> Definitions:
        target = (self.context.defs_module_path / path).resolve()
        own = self.context.path.resolve()
        if target == own or target in own.parents:
            raise located_error(at, f"{path!r} is this component or a folder holding it")
        if not target.exists():
            raise located_error(
                at, f"nothing at {path!r} in the defs folder {self.context.defs_module_path}"
            )
        return self.context.build_defs(target)

    # ----------------------------------------------------------------- syncs

    def _syncs(self) -> Definitions | None:
        settings = self.component.sync
        if settings is None:
            return None
        at = self.at.at_path("sync")
        connections = at.at_path("connections")
        for index, connection in enumerate(settings.connections):
            if connection.dbt_select:
                where = connections.at_path(index).at_path("dbt_select")
                self._dbt_or_fail(where, "`dbt_select` selects dbt models")
        if settings.schedule is not None:
            self._dbt_or_fail(at.at_path("schedule"), "the sync schedule builds dbt")
        try:
            return build_dot_sync_definitions(
                settings,
                upstream=self.upstream.assets,
                translator=self.translate.sync_translator(),
                environment=self.component.environment,
            )
        except UpstreamError as error:  # the connection's field that does not resolve
            index = settings.connections.index(error.connection)
            where = connections.at_path(index).at_path(error.field)
            raise located_error(where, str(error)) from None
        except ValueError as error:  # what is left once each upstream resolved: duplicates
            raise located_error(connections, str(error)) from None

    def _dbt_or_fail(self, at: ResolutionContext, why: str) -> list[AssetsDefinition]:
        if not self.upstream.dbt:
            raise located_error(
                at,
                f"{why}, but no `upstream` component defines dbt assets: list the dbt "
                "component's path in the defs folder, e.g. `upstream: [dbt]`",
            )
        return self.upstream.dbt

    def _dbt_selection(self, select: str, at: ResolutionContext) -> AssetSelection:
        """A dbt selection over every upstream dbt definition, refused when it is empty.
        dagster-dbt is imported here: it imports dbt-core (seconds of CPU), which a
        component without dbt upstream never needs."""
        dbt = self._dbt_or_fail(at, "this selects dbt models")
        from dagster_dbt import build_dbt_asset_selection

        selection = reduce(
            operator.or_, (build_dbt_asset_selection([d], dbt_select=select) for d in dbt)
        )
        if not selection.resolve(self.upstream.assets):
            raise located_error(
                at, f"dbt selection {select!r} matches no dbt model of the upstream components"
            )
        return selection

    # ----------------------------------------------------------------- catalogue

    def _catalogue(self, made: Sequence[AssetsDefinition | AssetSpec]) -> Definitions | None:
        """The `catalogue` and `exposures` sections through the Python API's one factory;
        `made` (the other sections' assets) joins the upstream in the catalogue's graph."""
        catalogue, exposures = self.component.catalogue, self.component.exposures
        if catalogue is None and exposures is None:
            return None
        if catalogue is not None:
            at_files = self.at.at_path("catalogue").at_path("files")
            for index, path in enumerate(catalogue.files):
                self._check_catalogue_file(path, at_files.at_path(index))
        try:
            return build_dot_catalogue_definitions(
                catalogue,
                exposures=exposures,
                upstream=[*self.upstream.assets, *made],
                base_dir=self._path("."),
                exposures_state=self.exposures_state,
                dashboard_translator=self.translate.exposure_translator(),
                shape_asset=self._shape,
            )
        except ValueError as error:
            section = "catalogue" if catalogue is not None else "exposures"
            raise located_error(self.at.at_path(section), str(error)) from None

    def _check_catalogue_file(self, path: str, at: ResolutionContext) -> None:
        """A catalogue file read alone, so a bad entry points at its line of `files`."""
        try:
            CatalogueFile(self._path(path))
        except (CatalogueError, OSError) as error:
            raise located_error(at, str(error)) from None

    def _shape(
        self, build: Callable[[AssetKey | None], AssetsDefinition], operation: SingleAsset
    ) -> AssetsDefinition:
        """A one-asset factory's asset under the `translation:` of this component."""
        return self.translate.single_asset(build, DotAssetProps(operation))

    # ----------------------------------------------------------------- environment

    def _deployment_environment(self) -> None:
        """The `environment` section's deployment, decided at load: a per-branch one
        outside a branch deployment fails at the section, naming the variables seen."""
        settings = self.component.environment
        if settings is None:
            return
        try:
            deployment_environment(settings)
        except ValueError as error:
            raise located_error(self.at.at_path("environment"), str(error)) from None

    def _environment(self, syncs: Definitions | None) -> Definitions | None:
        """The Python API's definitions of the `environment` section (empty in
        production), its check after the syncs."""
        settings = self.component.environment
        if settings is None:
            return None
        if settings.targets_from_dbt:
            at = self.at.at_path("environment").at_path("targets_from_dbt")
            dbt = self._dbt_or_fail(at, "`targets_from_dbt` reads the dbt manifest")
            connections = self.component.sync.connections if self.component.sync else ()
            try:
                settings = with_dbt_targets(settings, connections, dbt)
            except (UpstreamError, ValueError) as error:
                raise located_error(at, str(error)) from None
        after = sync_assets_of(syncs).keys if syncs is not None else ()
        return build_dot_environment_definitions(settings, check_after=after)

    # ----------------------------------------------------------------- history

    def _history(self) -> Definitions | None:
        """The Python API's definitions of the `history` section; only the YAML's
        `downstream_dbt_select` is resolved here, through the dbt component's assets."""
        settings = self.component.history
        if settings is None:
            return None
        select = settings.schedule.downstream_dbt_select if settings.schedule else None
        at = self.at.at_path("history").at_path("schedule").at_path("downstream_dbt_select")
        return build_dot_history_definitions(
            settings,
            downstream=self._dbt_selection(select, at) if select else None,
            translator=self.translate.history_translator(),
        )

    # ----------------------------------------------------------------- confluence

    def _confluence(self) -> Definitions | None:
        """The Python API's `build_dot_notes_definitions`, resources included."""
        settings = self.component.confluence
        if settings is None:
            return None
        return build_dot_notes_definitions(settings, translator=self.translate.notes_translator())

    # ----------------------------------------------------------------- questions

    def _questions(self) -> Definitions | None:
        """The Python API's `build_dot_question_definitions` over the `questions` list; a
        name given twice is reported at the list."""
        questions = self.component.questions
        if not questions:
            return None
        try:
            return build_dot_question_definitions(questions)
        except ValueError as error:
            raise located_error(self.at.at_path("questions"), str(error)) from None

    # ----------------------------------------------------------------- resources

    def _resources(self) -> dict[str, object]:
        """`dot` addresses the `environment` section's environment (by id, or per branch by
        name), so notes, catalogue and questions work in it; the history export stays
        org-wide."""
        dot = self.component.workspace
        if self.component.environment is not None:
            dot = scoped_dot_resource(dot, self.component.environment)
        return {"dot": dot}

    def _path(self, path: str) -> Path:
        """A path from the file: absolute, or relative to the folder of this defs.yaml."""
        here = self.context.path if self.context.path.is_dir() else self.context.path.parent
        return Path(path) if Path(path).is_absolute() else here / path


def _yaml_context(context: ComponentLoadContext) -> ResolutionContext:
    """A resolution context that knows the lines of this component's defs.yaml (if any)."""
    source = getattr(context.component_decl, "source_tree", None)
    tree = getattr(source, "source_position_tree", None)
    return ResolutionContext.default(tree if isinstance(tree, SourcePositionTree) else None)


__all__ = ["DotComponent"]
