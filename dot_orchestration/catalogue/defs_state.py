"""Dot's exposures as Dagster defs state, for a `DotComponent` whose `exposures` section has
no `state_path`.

Dagster 1.13's `StateBackedComponent` is what the exposures file and its command re-did:
state fetched ahead of loading (`dg utils refresh-defs-state`, or `dagster dev` with
`refresh_if_dev`), stored where Dagster keeps defs state (`management_type`:
LOCAL_FILESYSTEM in the project, shipped with the image; VERSIONED_STATE_STORAGE in the
instance's defs state storage; LEGACY_CODE_SERVER_SNAPSHOTS fetched at each code server
start), and handed to `build_defs_from_state` at load. Loading itself never calls Dot.

`ExposuresDefsState` is the part of `DotComponent` that does it: the key, the fetch, and the
choice to skip Dagster's state altogether when the exposures live in a file (the Python
API's way, kept in YAML through `state_path`) or there is no `exposures` section.
"""

import logging
from datetime import datetime, timezone
from pathlib import Path

from dagster import ComponentLoadContext, Definitions
from dagster.components import DefsStateConfig, DefsStateConfigArgs, StateBackedComponent

from dot_orchestration.catalogue.settings import ExposuresSettings
from dot_orchestration.catalogue_runs import fetch_exposures_state
from dot_orchestration.resources import DotResource
from dot_orchestration.transforms.exposures import (
    ExposuresState,
    read_exposures_state,
    write_exposures_state,
)

logger = logging.getLogger(__name__)

#: How a person refreshes Dagster's defs state (what a missing state's warning says).
REFRESH_DEFS_STATE = "`dg utils refresh-defs-state`"
#: The key of components that keep nothing in Dagster's defs state: their refresh writes an
#: empty state without calling Dot, so sharing one key among them is harmless.
NO_STATE_KEY = "DotComponent[no exposures state]"


class ExposuresDefsState(StateBackedComponent):
    """`StateBackedComponent` for the exposures of a `DotComponent` (see the module
    docstring); the component implements `build_defs_from_state`."""

    workspace: DotResource
    exposures: ExposuresSettings | None

    @property
    def keeps_exposures_in_defs_state(self) -> bool:
        """An `exposures` section without `state_path`."""
        return self.exposures is not None and self.exposures.state_path is None

    @property
    def defs_state_config(self) -> DefsStateConfig:
        """`exposures.defs_state` (default LOCAL_FILESYSTEM, `refresh_if_dev` off), keyed by
        the dbt connection.

        Not by where Dot is: the URL and the environment are rendered from the environment,
        which may differ between the build step that refreshes and the code server that
        loads. Two components reading different Dot organisations in one project set
        `defs_state.key` (Dagster warns about a shared key)."""
        exposures = self.exposures
        if exposures is None or not self.keeps_exposures_in_defs_state:
            return DefsStateConfig.from_args(
                DefsStateConfigArgs.local_filesystem(), default_key=NO_STATE_KEY
            )
        args = exposures.defs_state or DefsStateConfigArgs.local_filesystem()
        if "refresh_if_dev" not in args.model_fields_set:
            # Every `dg` command and `dagster dev` count as dev: refreshing there would make
            # `dg check defs` call Dot (and need its token), so only an explicit opt-in does.
            args = args.model_copy(update={"refresh_if_dev": False})
        scope = exposures.connection_id or "all"
        return DefsStateConfig.from_args(args, default_key=f"DotComponent[exposures {scope}]")

    def write_state_to_path(self, state_path: Path) -> None:
        """Fetch Dot's exposures into `state_path` (`dg utils refresh-defs-state` calls it);
        a component without exposures state writes an empty one and calls nobody."""
        if self.exposures is None or not self.keeps_exposures_in_defs_state:
            now = datetime.now(timezone.utc).isoformat(timespec="seconds")
            write_exposures_state(ExposuresState(fetched_at=now, exposures=[]), state_path)
            return
        resource = self.workspace.process_config_and_initialize()
        with resource.get_client() as client:
            state = fetch_exposures_state(client, connection_id=self.exposures.connection_id)
        write_exposures_state(state, state_path)
        logger.info("Dot exposures state %s: %s", self.defs_state_config.key, state.summary())

    def build_defs(self, context: ComponentLoadContext) -> Definitions:
        """Through Dagster's defs state only when the exposures are kept there, so a
        component without them never refreshes anything under `dagster dev`."""
        if not self.keeps_exposures_in_defs_state:
            return self.build_defs_from_state(context, state_path=None)
        return super().build_defs(context)

    def exposures_state(self, state_path: Path | None) -> ExposuresState | None:
        """The exposures Dagster handed over, for `build_defs_from_state`: None when they
        live in a file or nowhere; no dashboards (and a warning) before the first refresh."""
        if not self.keeps_exposures_in_defs_state:
            return None
        key = self.defs_state_config.key
        if state_path is not None:
            state = read_exposures_state(state_path, refresh_hint=REFRESH_DEFS_STATE)
            if state is not None:
                return state
        else:
            logger.warning(
                "No Dagster defs state for %s yet: no Dot dashboards in the asset graph. "
                "Fetch it with %s.",
                key,
                REFRESH_DEFS_STATE,
            )
        return ExposuresState(fetched_at="", exposures=[])


__all__ = ["NO_STATE_KEY", "REFRESH_DEFS_STATE", "ExposuresDefsState"]
