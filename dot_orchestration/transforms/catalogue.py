"""Dot's catalogue of external assets: what should be there, what is there, what to change.

Pure functions over `ExternalAsset` models, no HTTP and no Dagster, so the rules that decide
what gets written to Dot can be read and tested on their own.

**Sources.** A catalogue file is YAML with one key, `external_assets`, a list of entries
carrying the fields of Dot's `ExternalAsset` (id, subtype, folder, name, description, url,
active, view_count, last_accessed_at, dot_description). Every problem is reported with the
file, the entry (position and id) and the field, because the person fixing it has only the
file in front of them.

**Ownership.** Dot's `ExternalAsset` has no owner field, and Dot's own connectors (Looker,
Tableau, ...) import assets into the same list. So every asset this package writes gets an
id in a namespace, `dagster:` by default (`dagster:revenue-overview`), and only ids in that
namespace are ever deactivated or deleted. The prefix is visible in Dot's UI and API, needs
no state outside Dot, and survives a fresh Dagster instance. Two deployments that reconcile
the same Dot environment need two prefixes (`dagster:finance:`, `dagster:ops:`), or each
would deactivate the other's assets.

**Skip unchanged.** An asset is compared with what Dot lists right now through a content
hash of its canonical form: the fields Dot stores, with unset fields replaced by Dot's
defaults. A run whose sources match Dot therefore makes no write call at all, even on a
fresh Dagster instance that remembers nothing.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import ValidationError

from dot_orchestration.client import ExternalAsset

#: Id namespace of the assets this package creates; see "Ownership" above.
DEFAULT_ID_PREFIX = "dagster:"

#: What happens to an owned asset that no source lists any more.
RemovalPolicy = Literal["deactivate", "delete", "keep"]
REMOVAL_POLICIES: tuple[str, ...] = ("deactivate", "delete", "keep")

#: What a reconcile run does with one asset.
Action = Literal["create", "update", "unchanged", "deactivate", "delete", "keep"]
#: The actions that call Dot; the others only report.
WRITE_ACTIONS: frozenset[str] = frozenset({"create", "update", "deactivate", "delete"})

_CATALOGUE_KEY = "external_assets"
_FIELDS = tuple(ExternalAsset.model_fields)


class CatalogueError(ValueError):
    """Sources that cannot become Dot external assets; the message says where and how to fix."""


class UnreadableListingError(ValueError):
    """Dot's list of external assets has a shape this module cannot compare against."""


@dataclass(frozen=True)
class DesiredAsset:
    """An asset the sources want in Dot, with its id already in the owned namespace."""

    asset: ExternalAsset
    origin: str


@dataclass(frozen=True)
class Change:
    """One asset's fate in a run: `asset` is what gets written (for writes) or what is there."""

    action: Action
    asset: ExternalAsset
    origin: str | None
    content_hash: str

    @property
    def asset_id(self) -> str:
        return self.asset.id


@dataclass(frozen=True)
class ReconcilePlan:
    """Every change of one run, sorted by id so runs and their reports compare line by line."""

    changes: tuple[Change, ...]

    @property
    def writes(self) -> tuple[Change, ...]:
        """The changes that call Dot."""
        return tuple(change for change in self.changes if change.action in WRITE_ACTIONS)

    def count(self, action: Action) -> int:
        return sum(1 for change in self.changes if change.action == action)


class _CatalogueLoader(yaml.SafeLoader):
    """YAML's safe loader, except that timestamps stay the text that was written.

    Unquoted `last_accessed_at: 2025-01-06T08:30:00Z` would otherwise become a `datetime`
    and fail Dot's string field; Dot gets the text exactly as written instead.
    """


_CatalogueLoader.yaml_implicit_resolvers = {
    first: [rule for rule in rules if rule[0] != "tag:yaml.org,2002:timestamp"]
    for first, rules in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def load_catalogue(path: Path) -> list[ExternalAsset]:
    """The assets of a catalogue file, or `CatalogueError` naming file, entry and field."""
    try:
        with path.open(encoding="utf-8") as stream:
            document = yaml.load(stream, Loader=_CatalogueLoader)
    except OSError as error:
        raise CatalogueError(f"catalogue {path}: cannot be read ({error.strerror})") from None
    except yaml.YAMLError as error:
        raise CatalogueError(f"catalogue {path}: not valid YAML: {error}") from None
    if not isinstance(document, dict) or set(document) != {_CATALOGUE_KEY}:
        raise CatalogueError(
            f"catalogue {path}: expected a mapping with the single key `{_CATALOGUE_KEY}:` "
            "holding a list of assets (an empty list is `external_assets: []`)"
        )
    return validate_entries(document[_CATALOGUE_KEY], origin=f"catalogue {path}")


def validate_entries(entries: object, *, origin: str) -> list[ExternalAsset]:
    """Check raw entries (a catalogue's list, a hook's output) as Dot external assets.

    Ids must be unique and not blank. `origin` starts every message ("catalogue x.yaml",
    "source looker-extra") so that the reader knows which file or hook to open.
    """
    if not isinstance(entries, list):
        raise CatalogueError(f"{origin}: expected a list of assets, got {type(entries).__name__}")
    assets: list[ExternalAsset] = []
    first_index: dict[str, int] = {}
    for index, entry in enumerate(entries, start=1):
        asset = _validate_entry(entry, index=index, origin=origin)
        if asset.id in first_index:
            raise CatalogueError(
                f"{origin}: entry {index} repeats id {asset.id!r} of entry "
                f"{first_index[asset.id]}; ids identify assets in Dot, give each its own"
            )
        first_index[asset.id] = index
        assets.append(asset)
    return assets


def _validate_entry(entry: object, *, index: int, origin: str) -> ExternalAsset:
    if isinstance(entry, ExternalAsset):
        data: object = entry.model_dump()
    else:
        data = entry
    if not isinstance(data, Mapping):
        raise CatalogueError(
            f"{origin}: entry {index} must be a mapping of fields, got {type(entry).__name__}"
        )
    where = f"{origin}: entry {index}" + (f" (id {data['id']!r})" if data.get("id") else "")
    try:
        asset = ExternalAsset.model_validate(data)
    except ValidationError as error:
        raise CatalogueError(f"{where}: {_field_problems(error)}") from None
    if not asset.id.strip():
        raise CatalogueError(f"{where}: field 'id': must not be blank")
    return asset


def _field_problems(error: ValidationError) -> str:
    """Pydantic's problems as `field 'x': what`, naming the allowed fields for a typo."""
    problems = []
    for problem in error.errors(include_input=False, include_url=False):
        field = ".".join(str(part) for part in problem["loc"]) or "entry"
        if problem["type"] == "extra_forbidden":
            message = f"unknown field; Dot's ExternalAsset has {', '.join(_FIELDS)}"
        else:
            message = problem["msg"]
        problems.append(f"field {field!r}: {message}")
    return "; ".join(problems)


def owned_id(source_id: str, id_prefix: str) -> str:
    """The id in Dot of an asset a source calls `source_id`: in the owned namespace.

    Ids that already carry the prefix are kept, so a source may use either form.
    """
    return source_id if source_id.startswith(id_prefix) else f"{id_prefix}{source_id}"


def collect_desired(
    batches: Iterable[tuple[str, Sequence[ExternalAsset]]], *, id_prefix: str
) -> list[DesiredAsset]:
    """Every source's assets with owned ids; an id claimed by two sources names both."""
    check_reconcile_settings(id_prefix)
    claimed: dict[str, DesiredAsset] = {}
    for origin, assets in batches:
        for asset in assets:
            dot_id = owned_id(asset.id, id_prefix)
            if dot_id in claimed:
                raise CatalogueError(
                    f"id {dot_id!r} comes from both {claimed[dot_id].origin} and {origin}; "
                    "remove it from one of them or rename one"
                )
            claimed[dot_id] = DesiredAsset(asset.model_copy(update={"id": dot_id}), origin)
    return list(claimed.values())


def parse_listed_assets(listing: Any) -> list[ExternalAsset]:
    """Dot's `GET /api/external_assets` answer as models, fields beyond the spec dropped.

    Dot documents no response shape: a bare list and `{"external_assets": [...]}` are read.
    """
    items = listing.get(_CATALOGUE_KEY) if isinstance(listing, Mapping) else listing
    if not isinstance(items, list):
        raise UnreadableListingError(
            "Dot's external asset list is neither a list nor {'external_assets': [...]}: "
            f"got {type(listing).__name__}; nothing was written"
        )
    assets = []
    for index, item in enumerate(items, start=1):
        if not isinstance(item, Mapping):
            raise UnreadableListingError(f"Dot's external asset {index} is not an object")
        known = {name: item[name] for name in _FIELDS if item.get(name) is not None}
        try:
            assets.append(ExternalAsset.model_validate(known))
        except ValidationError as error:
            raise UnreadableListingError(
                f"Dot's external asset {index} ({item.get('id')!r}): {_field_problems(error)}"
            ) from None
    return assets


def content_hash(asset: ExternalAsset) -> str:
    """SHA-256 of the asset as Dot stores it: unset fields count as Dot's defaults.

    The client leaves None fields out of the request and Dot fills in its defaults
    (`view_count` 0, `active` true), so an asset declaring `view_count: null` and the same
    asset listed by Dot with 0 hash the same and are not rewritten on every run.
    """
    stored = ExternalAsset.model_validate(asset.model_dump(exclude_none=True))
    canonical = json.dumps(stored.model_dump(mode="json"), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def plan_reconcile(
    desired: Sequence[DesiredAsset],
    current: Sequence[ExternalAsset],
    *,
    id_prefix: str,
    on_removed: RemovalPolicy = "deactivate",
) -> ReconcilePlan:
    """What to write so that Dot holds `desired`, touching only owned ids.

    New ids are created, differing ones updated, equal ones left alone. An owned id that no
    source lists any more is deactivated (re-imported with `active: false`, unless it already
    is), deleted, or kept as it is, per `on_removed`. Ids outside the owned namespace — the
    assets Dot's connectors and people imported — never appear in the plan.
    """
    check_reconcile_settings(id_prefix, on_removed)
    in_dot = {asset.id: asset for asset in current}
    changes = [
        _desired_change(wanted, in_dot.get(wanted.asset.id), id_prefix) for wanted in desired
    ]
    wanted_ids = {wanted.asset.id for wanted in desired}
    for asset in current:
        if asset.id.startswith(id_prefix) and asset.id not in wanted_ids:
            change = _removed_change(asset, on_removed)
            if change is not None:
                changes.append(change)
    return ReconcilePlan(tuple(sorted(changes, key=lambda change: change.asset_id)))


def _desired_change(wanted: DesiredAsset, existing: ExternalAsset | None, id_prefix: str) -> Change:
    if not wanted.asset.id.startswith(id_prefix):
        raise ValueError(
            f"{wanted.origin}: id {wanted.asset.id!r} is outside the owned namespace "
            f"{id_prefix!r}; pass sources through collect_desired"
        )
    digest = content_hash(wanted.asset)
    if existing is None:
        action: Action = "create"
    elif content_hash(existing) == digest:
        action = "unchanged"
    else:
        action = "update"
    return Change(action, wanted.asset, wanted.origin, digest)


def _removed_change(asset: ExternalAsset, on_removed: RemovalPolicy) -> Change | None:
    """The change for an owned asset no source lists; None when nothing is left to do."""
    if on_removed == "delete":
        return Change("delete", asset, None, content_hash(asset))
    if on_removed == "keep":
        return Change("keep", asset, None, content_hash(asset))
    if not asset.active:
        return None  # deactivated by an earlier run: nothing to report every time
    inactive = asset.model_copy(update={"active": False})
    return Change("deactivate", inactive, None, content_hash(inactive))


def unobserved_writes(writes: Sequence[Change], listed: Sequence[ExternalAsset]) -> dict[str, str]:
    """Each write whose effect Dot's list (read after the writes) does not show, by id,
    with what Dot lists instead. Dot documents no reply to an import, so only the list
    proves one took: an import is observed when the asset is listed with the content
    sent, a deletion when the id is gone, a deactivation when the asset is listed with
    `active: false` or no longer listed at all (whether Dot lists inactive assets is not
    documented)."""
    by_id = {asset.id: asset for asset in listed}
    unobserved: dict[str, str] = {}
    for change in writes:
        seen = by_id.get(change.asset_id)
        if change.action == "delete":
            if seen is not None:
                unobserved[change.asset_id] = "the asset still listed"
        elif seen is None:
            if change.action != "deactivate":
                unobserved[change.asset_id] = "no asset with this id"
        elif content_hash(seen) != change.content_hash:
            unobserved[change.asset_id] = "the asset with other values in " + ", ".join(
                _differing_fields(change.asset, seen)
            )
    return unobserved


def _differing_fields(sent: ExternalAsset, seen: ExternalAsset) -> list[str]:
    def stored(asset: ExternalAsset) -> dict[str, Any]:
        dumped = ExternalAsset.model_validate(asset.model_dump(exclude_none=True))
        return dumped.model_dump(mode="json")

    wanted, listed = stored(sent), stored(seen)
    return [
        f"{name} ({listed[name]!r}, sent {wanted[name]!r})"
        for name in _FIELDS
        if wanted[name] != listed[name]
    ]


def check_reconcile_settings(id_prefix: str, on_removed: str = "deactivate") -> None:
    """`ValueError` for a blank prefix or an unknown removal policy, saying why it matters."""
    if not id_prefix.strip():
        raise ValueError(
            "id_prefix must not be blank: it is how this package tells the assets it created "
            "from those Dot's connectors imported"
        )
    if on_removed not in REMOVAL_POLICIES:
        raise ValueError(f"on_removed is one of {', '.join(REMOVAL_POLICIES)}, not {on_removed!r}")


__all__ = [
    "DEFAULT_ID_PREFIX",
    "REMOVAL_POLICIES",
    "WRITE_ACTIONS",
    "Action",
    "CatalogueError",
    "Change",
    "DesiredAsset",
    "ReconcilePlan",
    "RemovalPolicy",
    "UnreadableListingError",
    "check_reconcile_settings",
    "collect_desired",
    "content_hash",
    "load_catalogue",
    "owned_id",
    "parse_listed_assets",
    "plan_reconcile",
    "unobserved_writes",
    "validate_entries",
]
