"""Syncing Dot connections, without Dagster: which connection reads what, the sync calls
fanned out over a bounded thread pool, and what a failed call means for the person on call.

The Dagster layer (`dot_orchestration.syncs`) turns each connection into an asset and each
result below into a materialization or a failed check; an Airflow operator can run the
same calls and report the same outcomes from here, without importing Dagster.
"""

import time
import warnings
from collections.abc import Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass
from typing import Generic, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from dot_orchestration.client import (
    CONNECTION_TYPES,
    DotClient,
    DotError,
    DotOutcomeUnknownError,
    SyncAccepted,
    connection_type_problem,
)

#: Connection types that are no warehouse: Dot reads no tables through them.
NON_WAREHOUSE_TYPES: frozenset[str] = frozenset({"dbt", "looker"})

#: `unknown` when the sync may have reached Dot, `refused` when Dot or the client certainly
#: did not carry it out.
SyncOutcome = Literal["unknown", "refused"]

Target = TypeVar("Target")


class DotConnection(BaseModel):
    """A Dot connection and the upstream assets whose rebuild should trigger its sync.

    Name the upstream either with a dbt selection (`dbt_select="tag:dot"`, resolved through
    dagster-dbt's own translator, so keys are exactly what `@dbt_assets` produced) or with
    explicit `asset_keys` (for non-dbt upstreams), or both.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    type: str = Field(description="Dot connection type, e.g. snowflake, bigquery, postgres.")
    id: str = Field(min_length=1, description="The connection's id in Dot.")
    dbt_select: str | None = Field(default=None, description="dbt selection string.")
    dbt_exclude: str | None = Field(default=None, description="dbt exclusion string.")
    asset_keys: tuple[str, ...] = Field(
        default=(), description="Explicit upstream asset keys, '/'-separated paths."
    )
    description: str | None = None
    owners: tuple[str, ...] = ()

    @field_validator("type")
    @classmethod
    def _known_type(cls, value: str) -> str:
        """Any type Dot's URL can carry (Dot's spec takes any string); a miscased known
        type is an error, an unknown one a warning, since Dot may have added it."""
        problem = connection_type_problem(value)
        if problem is not None:
            raise ValueError(problem)
        if value not in CONNECTION_TYPES:
            warnings.warn(
                f"Dot connection type {value!r} is not one this package knows "
                f"({', '.join(CONNECTION_TYPES)}); it is sent to Dot as given. If Dot "
                "answers 404 or 422, check the type in Dot's connection settings.",
                UserWarning,
                stacklevel=2,
            )
        return value

    @model_validator(mode="after")
    def _has_upstream(self) -> "DotConnection":
        if not self.dbt_select and not self.asset_keys:
            raise ValueError(
                f"connection {self.type}/{self.id} names no upstream: set `dbt_select` "
                "(e.g. 'tag:dot') or `asset_keys`, so Dot syncs only after they are rebuilt"
            )
        return self

    @property
    def label(self) -> str:
        """How the connection is named in messages: `type/id`, as in Dot's sync URL."""
        return f"{self.type}/{self.id}"


@dataclass(frozen=True)
class SyncResult(Generic[Target]):
    """One connection's sync call, finished: accepted by Dot, or failed with `error`."""

    target: Target
    label: str
    seconds: float
    accepted: SyncAccepted | None = None
    error: DotError | None = None


def sync_connections(
    client: DotClient, targets: Mapping[Target, tuple[str, str]], *, max_concurrency: int
) -> Iterator[SyncResult[Target]]:
    """Sync each target's `(type, id)` connection, at most `max_concurrency` at a time,
    yielding each result as it finishes. A Dot error ends one call, never the others:
    every connection is tried exactly once (a sync is never re-sent here)."""
    if not targets:
        return
    with ThreadPoolExecutor(
        max_workers=min(max_concurrency, len(targets)), thread_name_prefix="dot-sync"
    ) as pool:
        futures = {
            pool.submit(_timed_sync, client, target, ctype, cid): target
            for target, (ctype, cid) in targets.items()
        }
        for future in as_completed(futures):
            yield future.result()


def _timed_sync(client: DotClient, target: Target, ctype: str, cid: str) -> SyncResult[Target]:
    started = time.monotonic()
    try:
        accepted = client.sync_connection(ctype, cid)
    except DotError as error:
        return SyncResult(target, f"{ctype}/{cid}", time.monotonic() - started, error=error)
    return SyncResult(target, f"{ctype}/{cid}", time.monotonic() - started, accepted=accepted)


def outcome_of(error: DotError) -> SyncOutcome:
    """Whether a failed sync may still have happened in Dot."""
    return "unknown" if isinstance(error, DotOutcomeUnknownError) else "refused"


def describe_failures(failures: Mapping[str, DotError], selected: int, *, rerun: str) -> str:
    """What failed, for the person on call: every failed connection by label and, for
    those whose outcome is unknown, what to check before re-running only them (`rerun`
    says how, in the orchestrator's words). Labels only: no error text, no token."""
    labels = sorted(failures)
    unknown = [label for label in labels if outcome_of(failures[label]) == "unknown"]
    description = f"{len(failures)} of {selected} Dot syncs failed: " + ", ".join(labels)
    if unknown:
        description += (
            f". Outcome unknown for {', '.join(unknown)}: the sync request may have reached "
            "Dot, so it was not re-sent; check those connections in Dot and re-run only "
            f"them if they did not sync ({rerun})."
        )
    return description


__all__ = [
    "NON_WAREHOUSE_TYPES",
    "DotConnection",
    "SyncOutcome",
    "SyncResult",
    "describe_failures",
    "outcome_of",
    "sync_connections",
]
