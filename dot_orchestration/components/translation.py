"""The `translation:` field: one function over every asset spec a `DotComponent` makes.

Like dagster-dbt's and dagster-fivetran's components, the YAML `translation:` (key,
key_prefix, group_name, owners, tags, kinds, metadata, description, automation_condition,
...) is applied to each spec the Python API would produce, with templates seeing the base
`spec` and what the asset stands for (`operation`, `connection`, `exposure`, `note_sync`,
`history`, or all of them as `props`).

It is applied where the Python API takes a decision about a spec, so that every key
depending on it agrees: through the translator seam where a factory has one (syncs, Dot
dashboards, Confluence notes), which is only ever `get_asset_spec`: the factories read
keys (duplicate detection included) from the spec it returns, so a translated key is the
key everywhere. For the others, through the `key=` argument plus `map_asset_specs` for
the single-asset factories (catalogue, exposures snapshot, history), which keeps checks,
jobs and schedules built from them pointing at the translated key.
"""

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from dagster import AssetKey, AssetsDefinition, AssetSpec
from dagster.components.utils.translation import TranslationFn

from dot_orchestration.catalogue import DotDashboardProps, DotExposure, DotExposureTranslator
from dot_orchestration.history import DotHistorySettings, DotHistoryTranslator
from dot_orchestration.notes import ConfluenceNotesTranslator, ConfluenceNoteSync
from dot_orchestration.syncing import DotConnection
from dot_orchestration.syncs import DotSyncProps, DotSyncTranslator

Operation = Literal["sync", "catalogue", "dashboard", "exposures_snapshot", "history", "notes"]


@dataclass(frozen=True)
class DotAssetProps:
    """What one Dot asset stands for; `translation:` templates see it as `props`."""

    operation: Operation
    connection: DotConnection | None = None
    exposure: DotExposure | None = None
    note_sync: ConfluenceNoteSync | None = None
    history: DotHistorySettings | None = None


def template_vars(props: DotAssetProps) -> Mapping[str, Any]:
    """The names a `translation:` template can use besides `spec`."""
    return {
        "props": props,
        "operation": props.operation,
        "connection": props.connection,
        "exposure": props.exposure,
        "note_sync": props.note_sync,
        "history": props.history,
    }


@dataclass(frozen=True)
class Translation:
    """The component's translation function, or none: the Python API's specs unchanged."""

    fn: TranslationFn[DotAssetProps] | None = None

    def __call__(self, spec: AssetSpec, props: DotAssetProps) -> AssetSpec:
        return self.fn(spec, props) if self.fn else spec

    def sync_translator(self) -> DotSyncTranslator:
        return _SyncTranslator(self)

    def exposure_translator(self) -> DotExposureTranslator:
        return _ExposureTranslator(self)

    def notes_translator(self) -> ConfluenceNotesTranslator:
        return _NotesTranslator(self)

    def history_translator(self) -> DotHistoryTranslator:
        return _HistoryTranslator(self)

    def single_asset(
        self, build: Callable[[AssetKey | None], AssetsDefinition], props: DotAssetProps
    ) -> AssetsDefinition:
        """Build a one-asset factory's asset at its translated key, then apply the rest.

        `build(None)` must build with the factory's default key, `build(key)` at `key`.
        """
        built = build(None)
        if self.fn is None:
            return built
        (base,) = built.specs
        wanted = self(base, props)
        if wanted.key != base.key:
            built = build(wanted.key)
        return built.map_asset_specs(lambda spec: _attributes_of(wanted, spec))


def _attributes_of(wanted: AssetSpec, built: AssetSpec) -> AssetSpec:
    """`wanted` on the rebuilt asset: its attributes, the rebuilt spec's key (the same)."""
    return wanted.replace_attributes(key=built.key)


class _SyncTranslator(DotSyncTranslator):
    def __init__(self, translation: Translation) -> None:
        self._translation = translation

    def get_asset_spec(self, props: DotSyncProps) -> AssetSpec:
        base = super().get_asset_spec(props)
        return self._translation(base, DotAssetProps("sync", connection=props.connection))


class _ExposureTranslator(DotExposureTranslator):
    def __init__(self, translation: Translation) -> None:
        self._translation = translation

    def get_asset_spec(self, props: DotDashboardProps) -> AssetSpec:
        base = super().get_asset_spec(props)
        return self._translation(base, DotAssetProps("dashboard", exposure=props.exposure))


class _NotesTranslator(ConfluenceNotesTranslator):
    def __init__(self, translation: Translation) -> None:
        self._translation = translation

    def get_asset_spec(self, sync: ConfluenceNoteSync) -> AssetSpec:
        base = super().get_asset_spec(sync)
        return self._translation(base, DotAssetProps("notes", note_sync=sync))


class _HistoryTranslator(DotHistoryTranslator):
    def __init__(self, translation: Translation) -> None:
        self._translation = translation

    def get_asset_spec(self, settings: DotHistorySettings) -> AssetSpec:
        base = super().get_asset_spec(settings)
        return self._translation(base, DotAssetProps("history", history=settings))


__all__ = ["DotAssetProps", "Operation", "Translation", "template_vars"]
