"""The sections of a `DotComponent`'s `defs.yaml`, one per Dot operation, and the Dot
section of a `DotDbtProjectComponent`'s.

Each section is a pydantic model in the style of the Python API's own settings, and holds
exactly what its factory takes: the component passes the fields a file sets as keyword
arguments, so the factory's defaults apply to the rest and live in one place. Where the
Python API already has a settings class (`SyncSettings`, `DotHistorySettings`,
`DotNotesSettings`, `DotResource`, `ConfluenceResource`, `DuckDBWarehouse`,
`AlertChannels`, `MonitoringSettings`), a section uses it as it is: its validators are
the YAML's validators.
"""

from dagster import DefaultScheduleStatus
from pydantic import BaseModel, ConfigDict, Field, model_validator

from dot_orchestration.components._yaml import YamlFront
from dot_orchestration.history import (
    DotHistorySettings,
    DotHistoryTables,
    HistoryFreshness,
    HistorySchedule,
    PostgresWarehouse,
)
from dot_orchestration.monitoring import AlertChannels, MonitoringSettings
from dot_orchestration.notes import (
    ConfluenceResource,
    DotNotesSettings,
    NoteSchedule,
    NoteSensor,
)
from dot_orchestration.resources import DotResource
from dot_orchestration.syncs import SyncSchedule, SyncSettings
from dot_orchestration.transforms.catalogue import RemovalPolicy

# Secrets never take a value from defs.yaml: only an `{{ env.NAME }}` reference (EnvVar).
YamlFront.declare_secrets(DotResource, "api_token")
YamlFront.declare_secrets(ConfluenceResource, "api_token", "personal_access_token")
YamlFront.declare_secrets(AlertChannels, "slack_token", "teams_webhook_url")
YamlFront.declare_secrets(PostgresWarehouse, "password")


class _Section(BaseModel):
    """Frozen and strict, like the Python API's settings: a misspelt field is an error."""

    model_config = ConfigDict(frozen=True, extra="forbid")


# --------------------------------------------------------------------------- catalogue


class CatalogueSchedule(_Section):
    """A cron job reconciling the catalogue, and refreshing the exposures snapshot in the
    same run when the `exposures` section has one.

    The catalogue asset has no schedule in the Python API: it runs when asked, so a team
    that edits its catalogue files by hand would otherwise reconcile by hand too. The
    defaults are the Python example's (`dot_catalogue_daily`).
    """

    cron_schedule: str = Field(default="0 5 * * *", description="When; default 05:00 daily.")
    timezone: str = Field(default="UTC", description="IANA zone of the cron; default UTC.")
    default_status: DefaultScheduleStatus = Field(
        default=DefaultScheduleStatus.STOPPED,
        description="RUNNING or STOPPED (default) when first deployed.",
    )
    name: str = Field(default="dot_catalogue_daily", description="The schedule's name.")


class CatalogueSettings(_Section):
    """Dot's external assets kept in step with catalogue files and the Dagster graph."""

    files: tuple[str, ...] = Field(
        default=(),
        description="YAML catalogues (every field of Dot's ExternalAsset), relative to this "
        "defs.yaml's folder or absolute.",
    )
    dagster_assets: bool = Field(
        default=True,
        description="Also the BI dashboards modelled in the upstream components (Tableau, "
        "Looker, Power BI, Sigma, Metabase, Omni, or marked with DotExternalAssetMetadata).",
    )
    id_prefix: str | None = Field(
        default=None, description="Prefix of the ids this catalogue owns; default `dagster:`."
    )
    on_removed: RemovalPolicy | None = Field(
        default=None, description="What happens to an owned asset no source lists any more."
    )
    group_name: str | None = Field(default=None, description="The asset's group; default dot.")
    owners: tuple[str, ...] | None = Field(
        default=None, description="The asset's owners, e.g. `team:data`."
    )
    schedule: CatalogueSchedule | None = Field(
        default=None, description="A cron job reconciling the catalogue: set it to enable."
    )

    @model_validator(mode="after")
    def _has_a_source(self) -> "CatalogueSettings":
        if not self.files and not self.dagster_assets:
            raise ValueError(
                "the catalogue has no source: list catalogue `files` or keep `dagster_assets`"
            )
        return self


# --------------------------------------------------------------------------- exposures


class ExposuresSettings(_Section):
    """Dot's shared dashboards in the lineage graph, from a cached exposures file."""

    state_path: str = Field(
        description="The exposures file (`dot-orchestration refresh-exposures` writes it), "
        "relative to this defs.yaml's folder or absolute. Only this file is read at load."
    )
    exposure_types: tuple[str, ...] | None = Field(
        default=None, description="Which exposure types become assets; default dashboards."
    )
    snapshot_asset: bool = Field(
        default=True,
        description="Add the asset that refreshes the file (single-host deployments).",
    )
    connection_id: str | None = Field(
        default=None, description="Only the exposures of this Dot dbt connection."
    )
    group_name: str | None = Field(
        default=None, description="The snapshot asset's group; default dot."
    )
    owners: tuple[str, ...] | None = Field(
        default=None, description="The snapshot asset's owners, e.g. `team:data`."
    )


# --------------------------------------------------------------------------- history

#: The `history` section is the Python API's settings class (schedule, freshness and the
#: warehouse are nested settings of it), so YAML and Python switch the same things.
HistorySettings = DotHistorySettings

#: The dbt component's `dot_history:`: where the `history` section's export writes, so the
#: dbt sources reading those tables become its asset. Same fields and defaults as there.
HistoryTables = DotHistoryTables


# --------------------------------------------------------------------------- confluence


#: The notes operation's settings are its section, as they are: `DotNotesSettings` (with its
#: `NoteSensor` and `NoteSchedule`) is what `build_dot_notes_definitions` takes in Python.
ConfluenceSettings = DotNotesSettings


# --------------------------------------------------------------------------- monitoring


# The `monitoring` section is `MonitoringSettings` of `dot_orchestration.monitoring` itself
# (imported above): one class, so whatever YAML can switch, Python can too.
__all__ = [
    "CatalogueSchedule",
    "CatalogueSettings",
    "ConfluenceSettings",
    "ExposuresSettings",
    "HistoryFreshness",
    "HistorySchedule",
    "HistorySettings",
    "HistoryTables",
    "MonitoringSettings",
    "NoteSchedule",
    "NoteSensor",
    "SyncSchedule",
    "SyncSettings",
]
