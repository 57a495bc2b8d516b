"""How a connection becomes an asset spec: the one seam users subclass.

Everything about a sync asset's identity (its key, group, owners, tags, automation) comes
from `DotSyncTranslator.get_asset_spec(props)`: duplicate detection, checks, jobs and the
component's `translation:` all read the key from the spec, so a subclass that renames the
key renames it everywhere.
"""

import re
from dataclasses import dataclass
from functools import cache

from dagster import AssetDep, AssetKey, AssetSpec

from dot_orchestration._compat import NamespacedMetadataSet
from dot_orchestration.syncing import DotConnection
from dot_orchestration.syncs.condition import sync_after_upstream_condition

_KEY_PART = re.compile(r"[^A-Za-z0-9_]")
#: The check each sync asset carries: did Dot accept this run's sync call?
SYNC_ACCEPTED_CHECK = "dot_sync_accepted"


class DotConnectionMetadata(NamespacedMetadataSet):
    """Carried in each sync asset's spec, read back at execution: nothing else remembers ids."""

    connection_type: str | None = None
    connection_id: str | None = None

    @classmethod
    def namespace(cls) -> str:
        return "dot"


@dataclass(frozen=True)
class DotSyncProps:
    """What one sync asset stands for: the connection and the upstream keys it reads
    (resolved and checked before the translator is asked)."""

    connection: DotConnection
    deps: tuple[AssetKey, ...]


class DotSyncTranslator:
    """The seam for renaming keys, groups, owners and tags of the sync assets; subclass it
    and override `get_asset_spec` (call `super()` and `replace_attributes` what you change).
    Keep `DotConnectionMetadata` in the spec's metadata: the step reads the ids from it."""

    def get_asset_spec(self, props: DotSyncProps) -> AssetSpec:
        """The spec Dagster shows for one connection's sync, at `dot/sync/<type>/<id>`
        (characters Dagster keys cannot hold replaced by `_`)."""
        connection = props.connection
        return AssetSpec(
            key=AssetKey(["dot", "sync", connection.type, _KEY_PART.sub("_", connection.id)]),
            deps=[_dep_on(key) for key in props.deps],
            description=connection.description or _describe(connection),
            group_name="dot",
            kinds={"dot", connection.type},
            owners=list(connection.owners),
            tags={"dot/operation": "sync"},
            metadata={
                **DotConnectionMetadata(
                    connection_type=connection.type, connection_id=connection.id
                )
            },
            automation_condition=sync_after_upstream_condition(),
        )


@cache
def _dep_on(key: AssetKey) -> AssetDep:
    """One `AssetDep` per upstream key, shared by every connection reading it (it is
    immutable): given keys, Dagster builds one per key and spec, and connections reading
    a tag share most of theirs (~0.1 s of CPU for 50 connections on 2,000 models)."""
    return AssetDep(key)


def _describe(connection: DotConnection) -> str:
    return (
        f"Tells Dot to re-sync its {connection.type} connection `{connection.id}` after "
        "the upstream models were rebuilt, so Dot answers from the new data. Dot only "
        f"says it accepted the sync (check `{SYNC_ACCEPTED_CHECK}`). On failure the "
        "check names Dot's status: 401/403 means the token expired or lost its role "
        "(renew DOT_API_KEY), 404 that the connection id is wrong in Dot. A timeout, "
        "a dropped connection or a 5xx leaves the outcome unknown: the request may "
        "have reached Dot, so it is never re-sent automatically; look at the "
        "connection in Dot and re-materialize the asset if it did not sync (dbt "
        "need not re-run)."
    )


__all__ = ["SYNC_ACCEPTED_CHECK", "DotConnectionMetadata", "DotSyncProps", "DotSyncTranslator"]
