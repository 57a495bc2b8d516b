"""What the catalogue operation does, as settings: one class per concern, for Python and
for the `catalogue` and `exposures` sections of a `DotComponent`'s `defs.yaml` alike.

`build_dot_catalogue_definitions` takes them; the component validates its sections with
these very classes, so whatever YAML can switch (the schedule, names, pools, the snapshot
asset) Python can too, under the same field names.
"""

from dagster import DefaultScheduleStatus
from dagster.components import DefsStateConfigArgs
from pydantic import BaseModel, ConfigDict, Field, model_validator

from dot_orchestration.transforms.catalogue import DEFAULT_ID_PREFIX, RemovalPolicy

#: The pool of every step here that calls Dot, unless told otherwise (see README "Pools").
DEFAULT_POOL = "dot_api"


class _Settings(BaseModel):
    """Frozen and strict: a misspelt field is an error, in Python and in YAML."""

    model_config = ConfigDict(frozen=True, extra="forbid")


class CatalogueSchedule(_Settings):
    """A cron job reconciling the catalogue, and refreshing the exposures snapshot in the
    same run when there is one: the catalogue asset runs only when asked otherwise, so a
    team that edits its catalogue files by hand would reconcile by hand too."""

    cron_schedule: str = Field(default="0 5 * * *", description="When; default 05:00 daily.")
    timezone: str = Field(default="UTC", description="IANA zone of the cron; default UTC.")
    default_status: DefaultScheduleStatus = Field(
        default=DefaultScheduleStatus.STOPPED,
        description="RUNNING or STOPPED (default) when first deployed.",
    )
    name: str = Field(default="dot_catalogue_daily", description="The schedule's name.")


class CatalogueSettings(_Settings):
    """Dot's external assets kept in step with catalogue files and the Dagster graph."""

    files: tuple[str, ...] = Field(
        default=(),
        description="YAML catalogues (every field of Dot's ExternalAsset): absolute, or "
        "relative to the folder given to the factory (in YAML: this defs.yaml's folder).",
    )
    dagster_assets: bool = Field(
        default=True,
        description="Also the BI dashboards modelled upstream (Tableau, Looker, Power BI, "
        "Sigma, Metabase, Omni, or marked with DotExternalAssetMetadata).",
    )
    id_prefix: str = Field(
        default=DEFAULT_ID_PREFIX, description="Prefix of the ids this catalogue owns."
    )
    on_removed: RemovalPolicy = Field(
        default="deactivate", description="What happens to an owned asset no source lists."
    )
    group_name: str = Field(default="dot", description="The catalogue asset's group.")
    owners: tuple[str, ...] = Field(default=(), description="Its owners, e.g. `team:data`.")
    pool: str = Field(default=DEFAULT_POOL, description="The Dagster pool of its step.")
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


class ExposuresSettings(_Settings):
    """Dot's shared dashboards in the lineage graph, from state fetched ahead of loading."""

    state_path: str | None = Field(
        default=None,
        description="The exposures file (`dot-orchestration refresh-exposures` or the "
        "snapshot asset writes it), absolute or relative to the folder given to the factory "
        "(in YAML: this defs.yaml's folder). Required in Python. In YAML, leave it out to "
        "keep the exposures in Dagster's defs state instead, refreshed by "
        "`dg utils refresh-defs-state` (see `defs_state`).",
    )
    defs_state: DefsStateConfigArgs | None = Field(
        default=None,
        description="YAML without `state_path`: how Dagster stores the exposures "
        "(`management_type`: LOCAL_FILESYSTEM by default, VERSIONED_STATE_STORAGE, or "
        "LEGACY_CODE_SERVER_SNAPSHOTS to fetch at every code server start), its `key`, and "
        "`refresh_if_dev` (off unless set: every `dg` command counts as dev, and "
        "`dg check defs` must not need Dot).",
    )
    exposure_types: tuple[str, ...] = Field(
        default=("dashboard",), description="Which exposure types become assets."
    )
    snapshot_asset: bool | None = Field(
        default=None,
        description="Add the asset that refreshes the `state_path` file (single-host "
        "deployments); default: on with a `state_path`. Dagster's defs state is refreshed "
        "by `dg`, not by an asset.",
    )
    connection_id: str | None = Field(
        default=None, description="Only the exposures of this Dot dbt connection."
    )
    group_name: str = Field(default="dot", description="The snapshot asset's group.")
    owners: tuple[str, ...] = Field(default=(), description="Its owners, e.g. `team:data`.")
    pool: str = Field(default=DEFAULT_POOL, description="The Dagster pool of its step.")

    @model_validator(mode="after")
    def _state_is_a_file_or_dagsters(self) -> "ExposuresSettings":
        if self.state_path is not None and self.defs_state is not None:
            raise ValueError(
                "set `state_path` (a file you refresh) or `defs_state` (Dagster's defs "
                "state, refreshed by `dg utils refresh-defs-state`), not both"
            )
        if self.state_path is None and self.snapshot_asset:
            raise ValueError(
                "`snapshot_asset` writes the `state_path` file, and none is set: set "
                "`state_path`, or refresh Dagster's defs state with `dg utils "
                "refresh-defs-state` (or `defs_state: {management_type: "
                "LEGACY_CODE_SERVER_SNAPSHOTS}` to fetch at each code server start)"
            )
        return self

    @property
    def with_snapshot(self) -> bool:
        """Whether the snapshot asset is built: as set, else whenever there is a file."""
        return self.snapshot_asset if self.snapshot_asset is not None else bool(self.state_path)


__all__ = ["DEFAULT_POOL", "CatalogueSchedule", "CatalogueSettings", "ExposuresSettings"]
