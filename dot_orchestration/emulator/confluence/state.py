"""The Confluence emulator's in-memory site: spaces, pages, users, faults and a journal.

Everything the HTTP layer serves is read from here, and tests change it here (bump a
version, delete or move a page, inject 429s) while the server runs in another thread, so
every read and write holds one lock.
"""

from __future__ import annotations

import fnmatch
import itertools
import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from datetime import datetime
from importlib.resources import files
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from dot_orchestration.emulator.clock import utcnow

__all__ = [
    "DEFAULT_USERS",
    "ConfluenceEmulatorConfig",
    "ConfluenceState",
    "EmulatorUser",
    "FaultRule",
    "JournalEntry",
    "PageRecord",
    "SpaceRecord",
    "seed_page_ids",
]


class EmulatorUser(BaseModel):
    """A site user with both kinds of credential: Cloud basic auth (email + API token) and
    a Data Center personal access token (bearer)."""

    model_config = ConfigDict(frozen=True)

    username: str
    email: str
    display_name: str
    account_id: str
    api_token: str
    personal_access_token: str


#: Default users. No credential looks like a real Atlassian token (those start `ATATT`).
DEFAULT_USERS: tuple[EmulatorUser, ...] = (
    EmulatorUser(
        username="analyst",
        email="analyst@example.com",
        display_name="Ana Lyst",
        account_id="5f0000000000000000000001",
        api_token="atl-emulator-analyst-token",
        personal_access_token="dc-emulator-analyst-pat",
    ),
    EmulatorUser(
        username="admin",
        email="admin@example.com",
        display_name="Ada Min",
        account_id="5f0000000000000000000002",
        api_token="atl-emulator-admin-token",
        personal_access_token="dc-emulator-admin-pat",
    ),
)


class FaultRule(BaseModel):
    """Answer matching requests with `status` (429 by default) instead of serving them.

    `path` is an fnmatch pattern on the URL path (`/wiki/api/v2/pages*`); `times` caps how
    many requests are refused (None: all of them); `retry_after` becomes the `Retry-After`
    header. The same field names as the Dot emulator's rules, minus what Confluence needs
    no emulation of.
    """

    model_config = ConfigDict(extra="forbid")

    method: str = "*"
    path: str = "*"
    status: int = Field(default=429, ge=400, le=599)
    retry_after: float | None = Field(default=1.0, ge=0)
    times: int | None = Field(default=1, ge=0)
    injected: int = 0

    def matches(self, method: str, path: str) -> bool:
        exhausted = self.times is not None and self.injected >= self.times
        method_matches = self.method == "*" or self.method.upper() == method.upper()
        return not exhausted and method_matches and fnmatch.fnmatchcase(path, self.path)


class JournalEntry(BaseModel):
    """One served request. `auth` is the scheme used (`basic`, `bearer`) or None."""

    seq: int
    ts: datetime
    method: str
    path: str
    query: str
    status: int
    auth: Literal["basic", "bearer"] | None
    user: str | None
    fault: bool


class ConfluenceEmulatorConfig(BaseModel):
    """What the emulator starts with; `reset()` returns to it."""

    users: tuple[EmulatorUser, ...] = DEFAULT_USERS
    faults: list[FaultRule] = Field(default_factory=list)
    seed_pages: bool = True


@dataclass(frozen=True)
class SpaceRecord:
    id: str
    key: str
    name: str


@dataclass(frozen=True)
class PageRecord:
    """One page as Confluence stores it. `restricted_to` lists the usernames allowed to
    view it; empty means everyone with access to the space."""

    id: str
    space_key: str
    parent_id: str | None
    title: str
    body: str
    version: int
    created_at: datetime
    modified_at: datetime
    labels: tuple[str, ...] = ()
    restricted_to: frozenset[str] = frozenset()
    status: Literal["current", "trashed"] = "current"
    position: int = 0

    def visible_to(self, user: EmulatorUser) -> bool:
        return not self.restricted_to or user.username in self.restricted_to


@dataclass
class _Site:
    spaces: dict[str, SpaceRecord] = field(default_factory=dict)  # by key
    pages: dict[str, PageRecord] = field(default_factory=dict)  # by id, in creation order


class ConfluenceState:
    """The live site. Page changes behave like Confluence's: an edit bumps the version,
    a delete moves the page to the trash (404 from then on) and its children up to its
    parent, a move changes the parent without a new version."""

    def __init__(self, config: ConfluenceEmulatorConfig | None = None) -> None:
        self.config = config or ConfluenceEmulatorConfig()
        self._lock = threading.RLock()
        self._ids = itertools.count(300000)
        self._site = _Site()
        self.faults: list[FaultRule] = []
        self.journal: list[JournalEntry] = []
        self.reset()

    # ---- lifecycle

    def reset(self) -> None:
        """Back to the configured start: seeded pages, configured faults, empty journal."""
        with self._lock:
            self._site = _load_seed() if self.config.seed_pages else _Site()
            self.faults = [rule.model_copy() for rule in self.config.faults]
            self.journal = []

    # ---- reads

    def user_by_basic(self, email: str, api_token: str) -> EmulatorUser | None:
        return next(
            (u for u in self.config.users if u.email == email and u.api_token == api_token), None
        )

    def user_by_pat(self, token: str) -> EmulatorUser | None:
        return next((u for u in self.config.users if u.personal_access_token == token), None)

    def space(self, key: str) -> SpaceRecord | None:
        with self._lock:
            return self._site.spaces.get(key)

    def spaces(self) -> list[SpaceRecord]:
        with self._lock:
            return list(self._site.spaces.values())

    def page(self, page_id: str) -> PageRecord | None:
        """The current page with this id, or None if it never existed or is trashed."""
        with self._lock:
            page = self._site.pages.get(page_id)
        return page if page is not None and page.status == "current" else None

    def pages(self) -> list[PageRecord]:
        """Every current page, oldest first (Confluence's default id order)."""
        with self._lock:
            return [page for page in self._site.pages.values() if page.status == "current"]

    def can_view(self, page: PageRecord, user: EmulatorUser) -> bool:
        """View restrictions are inherited: a page is hidden when it or an ancestor is."""
        return all(p.visible_to(user) for p in (*self.ancestors(page), page))

    def children(self, page_id: str) -> list[PageRecord]:
        return sorted(
            (page for page in self.pages() if page.parent_id == page_id),
            key=lambda page: (page.position, int(page.id)),
        )

    def descendants(self, page_id: str, max_depth: int) -> Iterator[tuple[PageRecord, int]]:
        """(page, depth) below `page_id`, top to bottom: every depth-1 page, then depth 2..."""
        level = self.children(page_id)
        for depth in range(1, max_depth + 1):
            yield from ((page, depth) for page in level)
            level = [child for page in level for child in self.children(page.id)]

    def ancestors(self, page: PageRecord) -> list[PageRecord]:
        """From the space's root down to the page's parent."""
        chain: list[PageRecord] = []
        parent = self.page(page.parent_id) if page.parent_id else None
        while parent is not None:
            chain.insert(0, parent)
            parent = self.page(parent.parent_id) if parent.parent_id else None
        return chain

    # ---- changes

    def update_page(
        self, page_id: str, *, body: str | None = None, title: str | None = None
    ) -> PageRecord:
        """Edit a page: the version goes up by one and `modified_at` becomes now."""
        with self._lock:
            page = self._current(page_id)
            updated = replace(
                page,
                body=page.body if body is None else body,
                title=page.title if title is None else title,
                version=page.version + 1,
                modified_at=utcnow(),
            )
            self._site.pages[page_id] = updated
            return updated

    def create_page(
        self,
        *,
        title: str,
        body: str,
        space_key: str,
        parent_id: str | None = None,
        labels: tuple[str, ...] = (),
        restricted_to: frozenset[str] = frozenset(),
    ) -> PageRecord:
        with self._lock:
            if space_key not in self._site.spaces:
                raise KeyError(f"no space {space_key!r}")
            if parent_id is not None:
                self._current(parent_id)
            now = utcnow()
            page = PageRecord(
                id=str(next(self._ids)),
                space_key=space_key,
                parent_id=parent_id,
                title=title,
                body=body,
                version=1,
                created_at=now,
                modified_at=now,
                labels=labels,
                restricted_to=restricted_to,
                position=len(self.children(parent_id)) if parent_id else 0,
            )
            self._site.pages[page.id] = page
            return page

    def delete_page(self, page_id: str) -> None:
        """Trash the page; its children move up to its parent, as in Confluence."""
        with self._lock:
            page = self._current(page_id)
            for child in self.children(page_id):
                self._site.pages[child.id] = replace(child, parent_id=page.parent_id)
            self._site.pages[page_id] = replace(page, status="trashed")

    def move_page(self, page_id: str, new_parent_id: str) -> PageRecord:
        with self._lock:
            page = self._current(page_id)
            parent = self._current(new_parent_id)
            moved = replace(page, parent_id=parent.id, space_key=parent.space_key)
            self._site.pages[page_id] = moved
            return moved

    def restrict_page(self, page_id: str, usernames: frozenset[str]) -> PageRecord:
        with self._lock:
            restricted = replace(self._current(page_id), restricted_to=usernames)
            self._site.pages[page_id] = restricted
            return restricted

    def _current(self, page_id: str) -> PageRecord:
        page = self.page(page_id)
        if page is None:
            raise KeyError(f"no current page {page_id!r}")
        return page

    # ---- faults and journal

    def take_fault(self, method: str, path: str) -> FaultRule | None:
        """The first rule matching this request, counted as injected once more."""
        with self._lock:
            for rule in self.faults:
                if rule.matches(method, path):
                    rule.injected += 1
                    return rule.model_copy()
        return None

    def record(self, **entry: Any) -> None:
        with self._lock:
            self.journal.append(JournalEntry(seq=len(self.journal) + 1, ts=utcnow(), **entry))


def seed_page_ids() -> dict[str, str]:
    """The seeded pages' ids by title (`{"Revenue": "100101", ...}`), for demos and tests."""
    return {entry["title"]: entry["id"] for entry in _manifest()["pages"]}


def _manifest() -> dict[str, Any]:
    manifest: dict[str, Any] = json.loads(
        (files(__package__) / "pages" / "manifest.json").read_text(encoding="utf-8")
    )
    return manifest


def _load_seed() -> _Site:
    """The seed site from `pages/manifest.json` and one storage-format file per page."""
    pages_dir = files(__package__) / "pages"
    manifest = _manifest()
    site = _Site()
    for space in manifest["spaces"]:
        site.spaces[space["key"]] = SpaceRecord(space["id"], space["key"], space["name"])
    positions: dict[str | None, int] = {}
    for entry in manifest["pages"]:
        position = positions[entry["parent"]] = positions.get(entry["parent"], -1) + 1
        site.pages[entry["id"]] = PageRecord(
            id=entry["id"],
            space_key=entry["space"],
            parent_id=entry["parent"],
            title=entry["title"],
            body=(pages_dir / entry["file"]).read_text(encoding="utf-8").rstrip("\n"),
            version=entry["version"],
            created_at=datetime.fromisoformat(entry["created"].replace("Z", "+00:00")),
            modified_at=datetime.fromisoformat(entry["modified"].replace("Z", "+00:00")),
            labels=tuple(entry["labels"]),
            restricted_to=frozenset(entry.get("restricted_to", ())),
            position=position,
        )
    return site
