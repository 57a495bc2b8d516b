"""One run of the catalogue operation against Dot, without Dagster.

Two things Dot's catalogue needs from outside, each over a `DotClient` so an orchestrator
(Dagster's assets in `dot_orchestration.catalogue`, the command line, an Airflow task) only
decides when to run it:

- **Reconcile the external assets.** Read the sources (`ExternalAssetSource`: a
  `CatalogueFile`, BI dashboards, your own) and Dot's list, apply the plan of
  `transforms.catalogue` over at most `max_concurrency` threads, then read Dot's list once
  more: Dot documents no reply to an import or a deletion, so a write counts only once the
  list shows it, and one that does not show fails like a refused one
  (`DotEffectNotObservedError`). A failed write never stops the others.
- **Refresh the exposures state.** Fetch Dot's dbt exposures and write them to a file when
  they changed (`transforms.exposures` holds the state itself).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from dot_orchestration.client import DotClient, DotEffectNotObservedError, DotError, ExternalAsset
from dot_orchestration.transforms.catalogue import (
    DEFAULT_ID_PREFIX,
    Change,
    DesiredAsset,
    ReconcilePlan,
    RemovalPolicy,
    UnreadableListingError,
    check_reconcile_settings,
    collect_desired,
    load_catalogue,
    parse_listed_assets,
    plan_reconcile,
    unobserved_writes,
    validate_entries,
)
from dot_orchestration.transforms.exposures import (
    ExposuresState,
    exposures_state,
    read_exposures_state,
    write_exposures_state,
)

#: The command that writes an exposures state file outside Dagster.
REFRESH_COMMAND = "`dot-orchestration refresh-exposures --state PATH`"


@runtime_checkable
class ExternalAssetSource(Protocol):
    """Anything that says which external assets Dot should know: the hook for own sources.

    `name` appears in error messages and in the run's table. `external_assets()` runs in
    the reconcile step (it may call an API) and returns `ExternalAsset`s or mappings of
    their fields; ids are moved into the owned namespace afterwards.
    """

    name: str

    def external_assets(self) -> Iterable[ExternalAsset | Mapping[str, Any]]: ...


class CatalogueFile:
    """A YAML catalogue in the user's repo: checked when built (definitions load), re-read
    each run.

    Building fails on the first problem, naming the file, the entry and the field, so a bad
    edit never reaches a run.
    """

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        self.name = f"catalogue {self.path.name}"
        load_catalogue(self.path)

    def external_assets(self) -> list[ExternalAsset]:
        return load_catalogue(self.path)


def check_sources(sources: Sequence[object], id_prefix: str, on_removed: str) -> None:
    """Refuse a configuration no run could reconcile: no source, an object that is not a
    source, a blank prefix, an unknown removal policy."""
    if not sources:
        raise ValueError("the Dot catalogue has no sources: give a catalogue file or assets")
    for source in sources:
        if not isinstance(source, ExternalAssetSource):
            raise TypeError(
                f"{source!r} is not a Dot catalogue source; give it a `name` and an "
                "`external_assets()` method returning ExternalAssets or mappings"
            )
    check_reconcile_settings(id_prefix, on_removed)


@dataclass(frozen=True)
class CatalogueRun:
    """What one reconcile did: the plan, the failed writes by id, and Dot's list as last
    read (after the writes, or the one the plan was made from when nothing was written;
    None when it could not be read), so a check need not read it again."""

    plan: ReconcilePlan
    failures: Mapping[str, DotError]
    listed: list[ExternalAsset] | None


def collect_source_assets(
    sources: Sequence[ExternalAssetSource], *, id_prefix: str
) -> list[DesiredAsset]:
    """Every source's assets, validated, with ids in the owned namespace."""
    return collect_desired(
        (
            (source.name, validate_entries(list(source.external_assets()), origin=source.name))
            for source in sources
        ),
        id_prefix=id_prefix,
    )


def reconcile_dot_catalogue(
    client: DotClient,
    sources: Sequence[ExternalAssetSource],
    *,
    id_prefix: str = DEFAULT_ID_PREFIX,
    on_removed: RemovalPolicy = "deactivate",
    max_concurrency: int = 8,
) -> CatalogueRun:
    """Read the sources and Dot's list, apply the plan, verify it.

    What would make the plan wrong raises before anything is written: a bad source
    (`CatalogueError`), a list Dot could not give (`DotError`) or that cannot be read
    (`UnreadableListingError`). Failed writes are returned, not raised, so that every
    other write still happens; each keeps its typed `DotError`, so a caller can tell a
    refused token from an unavailable Dot.
    """
    desired = collect_source_assets(sources, id_prefix=id_prefix)
    return apply_catalogue(
        client, desired, id_prefix=id_prefix, on_removed=on_removed, max_concurrency=max_concurrency
    )


def apply_catalogue(
    client: DotClient,
    desired: Sequence[DesiredAsset],
    *,
    id_prefix: str,
    on_removed: RemovalPolicy,
    max_concurrency: int,
) -> CatalogueRun:
    """Plan `desired` against what Dot lists now, apply the writes, then list once more and
    verify them: a write Dot answered with a 2xx but does not show fails with
    `DotEffectNotObservedError`, naming what was sent and what Dot lists."""
    current = parse_listed_assets(client.list_external_assets())
    plan = plan_reconcile(desired, current, id_prefix=id_prefix, on_removed=on_removed)
    failures = _apply_writes(client, plan.writes, max_concurrency=max_concurrency)
    if not plan.writes:
        return CatalogueRun(plan, failures, current)
    accepted = [change for change in plan.writes if change.asset_id not in failures]
    listed = _list_after_writes(client)
    if accepted:
        failures.update(_verify_writes(accepted, listed))
    return CatalogueRun(plan, failures, listed if isinstance(listed, list) else None)


def _list_after_writes(client: DotClient) -> list[ExternalAsset] | Exception:
    """Dot's list after the writes, or why it could not be read."""
    try:
        return parse_listed_assets(client.list_external_assets())
    except (DotError, UnreadableListingError) as error:
        return error


def _verify_writes(
    accepted: Sequence[Change], listed: list[ExternalAsset] | Exception
) -> dict[str, DotError]:
    """The accepted writes Dot's list does not show, each as `DotEffectNotObservedError`."""
    if isinstance(listed, Exception):
        unobserved = {change.asset_id: f"nothing readable ({listed})" for change in accepted}
    else:
        unobserved = unobserved_writes(accepted, listed)
    by_id = {change.asset_id: change for change in accepted}
    return {
        asset_id: DotEffectNotObservedError(
            f"Dot answered 2xx to the {by_id[asset_id].action} of external asset {asset_id}, "
            f"but its list of external assets (read after the writes) shows {seen}. Next: "
            "look the asset up in Dot; re-materialize to write it again, and if Dot keeps "
            "storing it differently, report the difference (the catalogue compares every "
            "field Dot's ExternalAsset has).",
            expected={asset_id: by_id[asset_id].asset.model_dump(mode="json")},
            observed={asset_id: seen},
        )
        for asset_id, seen in unobserved.items()
    }


def _apply_writes(
    client: DotClient, writes: Sequence[Change], *, max_concurrency: int
) -> dict[str, DotError]:
    """Send the writes over at most `max_concurrency` threads; the error of each failure by id."""
    failures: dict[str, DotError] = {}
    if not writes:
        return failures
    workers = min(max_concurrency, len(writes))
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="dot-catalogue") as pool:
        futures = {pool.submit(_write, client, change): change for change in writes}
        for future in as_completed(futures):
            try:
                future.result()
            except DotError as error:
                failures[futures[future].asset_id] = error
    return failures


def _write(client: DotClient, change: Change) -> None:
    if change.action == "delete":
        client.delete_external_asset(change.asset_id)
    else:
        client.import_external_asset(change.asset)


# --------------------------------------------------------------------------- exposures


@dataclass(frozen=True)
class ExposuresRefresh:
    """What a refresh found and whether the state file changed."""

    state: ExposuresState
    path: Path
    changed: bool

    def summary(self) -> str:
        """One line for a command's output or a run log."""
        return f"{self.state.summary()}; {self.path} {'updated' if self.changed else 'unchanged'}"


def fetch_exposures_state(client: DotClient, *, connection_id: str | None = None) -> ExposuresState:
    """Dot's exposures now (`ValueError` if Dot's answer is not an exposures document)."""
    document = client.get_dbt_exposures(format="json", connection_id=connection_id)
    return exposures_state(document, connection_id=connection_id)


def refresh_dot_exposures(
    client: DotClient, state_path: Path, *, connection_id: str | None = None
) -> ExposuresRefresh:
    """Fetch Dot's exposures and write them to `state_path` if they changed, so a committed
    file changes only when Dot's exposures do."""
    state = fetch_exposures_state(client, connection_id=connection_id)
    previous = (
        read_exposures_state(state_path, refresh_hint=REFRESH_COMMAND)
        if state_path.exists()
        else None
    )
    changed = not state.same_exposures(previous)
    if changed:
        write_exposures_state(state, state_path)
    return ExposuresRefresh(state, state_path, changed)


__all__ = [
    "REFRESH_COMMAND",
    "CatalogueFile",
    "CatalogueRun",
    "ExposuresRefresh",
    "ExternalAssetSource",
    "apply_catalogue",
    "check_sources",
    "collect_source_assets",
    "fetch_exposures_state",
    "reconcile_dot_catalogue",
    "refresh_dot_exposures",
]
