"""Which Confluence pages a note sync covers, resolved to the pages' current versions.

A selection combines explicit page ids, every descendant of some parent pages, CQL queries
and whole spaces; the result is their union. Resolving it costs a bounded number of calls
however many pages it finds: one walk per parent, one search per query, and one bulk
version lookup per 250 pages. No page body is read, so a sensor can resolve it every tick.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from dot_orchestration.confluence._client import ConfluenceClient
from dot_orchestration.confluence._models import PageSummary
from dot_orchestration.confluence.errors import (
    ConfluenceError,
    ConfluenceNotFoundError,
    ConfluencePermissionError,
)

__all__ = ["PageSelection", "PageSelectionError", "SelectedPages", "select_pages"]

#: Space keys: letters and digits, or `~name` for personal spaces (nothing CQL must escape).
_SPACE_KEY = re.compile(r"~?[A-Za-z0-9_.@-]+")


class PageSelectionError(ConfluenceError):
    """The selection cannot be resolved completely (a parent page is missing or hidden).

    A sync must not act on part of a selection: a page missing from it would look removed,
    and its note would be deactivated or deleted for no reason.
    """


class PageSelection(BaseModel):
    """The pages to sync; every field adds pages, and at least one must be set.

    - `page_ids`: these pages. One that Confluence cannot find is an error of that page
      only; the others still sync.
    - `descendants_of`: every page below these parents (not the parents themselves; add
      them to `page_ids` for that).
    - `cql`: every page these CQL queries find, e.g. `label = "dot" and space = DATA`.
    - `spaces`: every page of these spaces (a CQL query `space = "KEY" and type = page`).
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    page_ids: tuple[str, ...] = Field(default=(), description="Explicit page ids.")
    descendants_of: tuple[str, ...] = Field(
        default=(), description="Parent page ids whose descendants are synced."
    )
    cql: tuple[str, ...] = Field(default=(), description="CQL queries; their pages are synced.")
    spaces: tuple[str, ...] = Field(default=(), description="Space keys synced whole.")

    @field_validator("page_ids", "descendants_of")
    @classmethod
    def _numeric_ids(cls, ids: tuple[str, ...]) -> tuple[str, ...]:
        bad = [page_id for page_id in ids if not page_id.isdigit()]
        if bad:
            raise ValueError(
                f"page ids are the digits in a page's URL (…/pages/123456/…), got {bad}"
            )
        return _unique(ids)

    @field_validator("cql")
    @classmethod
    def _non_blank_queries(cls, queries: tuple[str, ...]) -> tuple[str, ...]:
        if any(not query.strip() for query in queries):
            raise ValueError("a CQL query is blank; remove it or write the query")
        return _unique(query.strip() for query in queries)

    @field_validator("spaces")
    @classmethod
    def _space_keys(cls, keys: tuple[str, ...]) -> tuple[str, ...]:
        bad = [key for key in keys if not _SPACE_KEY.fullmatch(key)]
        if bad:
            raise ValueError(f"space keys look like DATA or ~username, got {bad}")
        return _unique(keys)

    @model_validator(mode="after")
    def _selects_something(self) -> PageSelection:
        if not (self.page_ids or self.descendants_of or self.cql or self.spaces):
            raise ValueError(
                "the page selection is empty: set page_ids, descendants_of, cql or spaces"
            )
        return self

    def queries(self) -> tuple[str, ...]:
        """The CQL queries to run: `cql` as given, then one per space."""
        return (*self.cql, *(f'space = "{key}" and type = page' for key in self.spaces))

    def describe(self) -> str:
        """One line for logs and the UI, e.g. `page_ids=100101; descendants_of=100100`."""
        fields = {
            "page_ids": self.page_ids,
            "descendants_of": self.descendants_of,
            "cql": self.cql,
            "spaces": self.spaces,
        }
        return "; ".join(f"{name}={', '.join(values)}" for name, values in fields.items() if values)


@dataclass(frozen=True)
class SelectedPages:
    """A resolved selection.

    `pages` holds every page found, by id, in selection order (explicit ids, descendants,
    then queries). `missing` holds explicit ids Confluence did not return: deleted, wrong,
    or hidden from this user; `get_page` on them tells which. `empty_sources` names the
    parents and queries that found nothing, so an empty result is said, not silent.
    """

    pages: dict[str, PageSummary]
    missing: tuple[str, ...]
    empty_sources: tuple[str, ...]


def select_pages(client: ConfluenceClient, selection: PageSelection) -> SelectedPages:
    """Resolve `selection` with the versions of its pages, reading no page body.

    Raises `PageSelectionError` when a parent page is missing or hidden, and lets any other
    `ConfluenceError` through: either way the selection is unknown and nothing may act on it.
    """
    empty: list[str] = []
    below = _descendants(client, selection.descendants_of, empty)
    found: dict[str, PageSummary] = {}
    for query in selection.queries():
        results = {page.id: page for page in client.search_cql(query)}
        if not results:
            empty.append(f"CQL {query!r}")
        found.update(results)
    listed = [*selection.page_ids, *below]
    # The parents ride along in the same bulk lookup: on Data Center a missing parent
    # simply has no descendants, and only its absence here tells it from a childless one.
    lookup = [page_id for page_id in [*listed, *selection.descendants_of] if page_id not in found]
    versions = client.get_page_versions(lookup)
    hidden_parents = [
        parent
        for parent in selection.descendants_of
        if parent not in versions and parent not in found
    ]
    if hidden_parents:
        raise PageSelectionError(
            f"parent pages {hidden_parents} of descendants_of were not found (deleted, a wrong "
            "id, or hidden from the Confluence user): fix descendants_of or the user's access"
        )
    found.update((page_id, versions[page_id]) for page_id in listed if page_id in versions)
    order = [*listed, *found]
    pages = {page_id: found[page_id] for page_id in dict.fromkeys(order) if page_id in found}
    missing = tuple(page_id for page_id in selection.page_ids if page_id not in found)
    return SelectedPages(pages=pages, missing=missing, empty_sources=tuple(empty))


def _descendants(client: ConfluenceClient, parents: tuple[str, ...], empty: list[str]) -> list[str]:
    """The ids below each parent; a parent Confluence refuses makes the selection unknown."""
    ids: list[str] = []
    for parent in parents:
        try:
            below = [ref.id for ref in client.iter_descendants(parent)]
        except (ConfluenceNotFoundError, ConfluencePermissionError) as error:
            raise PageSelectionError(
                f"descendants_of {parent}: {error}; fix descendants_of or the user's access"
            ) from error
        if not below:
            empty.append(f"descendants of {parent}")
        ids.extend(below)
    return ids


def _unique(values: Iterable[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(values))
