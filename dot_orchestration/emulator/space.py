"""One Dot environment's model: external assets, org notes and data-quality incidents.

Production and every configured environment (`X-Dot-Environment`) get their own space, so
a sync against staging can be checked without touching production. Every space starts from
the same seeded content, like a fresh branch of the model; an environment created through
the API starts as a fork of its source's space.

Dot keeps the model as files in git (one branch per environment) and diffs environments
file by file. `files()` is that view: the org note, each note and each external asset is
one "file", so diffs, conflicts and merges (`environments.py`) compare and write files.
"""

import copy
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from dot_orchestration.emulator.clock import isoformat_z, utcnow
from dot_orchestration.emulator.config import SeededExternalAsset
from dot_orchestration.emulator.errors import NotFound
from dot_orchestration.emulator.incidents import IncidentBook
from dot_orchestration.emulator.models import ExternalAsset

API_SOURCE = "api"
ORG_NOTE_FILE = "org_note.md"
NOTE_DIR = "notes/"
ASSET_DIR = "external_assets/"


@dataclass
class StoredAsset:
    """An external asset and who owns it: `api` for imports, a connector for Dot's own."""

    asset: ExternalAsset
    source: str
    updated_at: datetime = field(default_factory=utcnow)

    def public(self) -> dict[str, Any]:
        """Dot's `ExternalAsset` fields plus `source` and `updated_at`."""
        return {
            **self.asset.model_dump(),
            "source": self.source,
            "updated_at": isoformat_z(self.updated_at),
        }


@dataclass
class Note:
    """An org note: one topic of the organisation's knowledge that Dot reads."""

    id: str
    title: str
    note: str
    active: bool = True
    created_at: datetime = field(default_factory=utcnow)
    updated_at: datetime = field(default_factory=utcnow)

    def public(self) -> dict[str, Any]:
        """The note as `/api/org_notes` returns it."""
        return {
            "id": self.id,
            "title": self.title,
            "note": self.note,
            "active": self.active,
            "created_at": isoformat_z(self.created_at),
            "updated_at": isoformat_z(self.updated_at),
        }


class ModelSpace:
    """The state of one environment."""

    def __init__(
        self,
        environment: str | None,
        *,
        seeded_assets: Sequence[SeededExternalAsset],
        org_note: str,
        new_note_id: Callable[[], str],
    ) -> None:
        self.environment = environment
        self.org_note = org_note
        self.incidents = IncidentBook()
        self._new_note_id = new_note_id
        self._notes: dict[str, Note] = {}
        self._assets: dict[str, StoredAsset] = {}
        for seeded in seeded_assets:
            asset = ExternalAsset.model_validate(seeded.model_dump(exclude={"source"}))
            self._assets[asset.id] = StoredAsset(asset, seeded.source)

    def assets(self) -> list[StoredAsset]:
        """Every external asset, in the order first imported."""
        return list(self._assets.values())

    def asset(self, asset_id: str) -> StoredAsset | None:
        """One external asset, if it exists."""
        return self._assets.get(asset_id)

    def import_asset(self, asset: ExternalAsset) -> StoredAsset:
        """Create or overwrite an asset by id; an import makes the API its owner."""
        stored = StoredAsset(asset, API_SOURCE)
        self._assets[asset.id] = stored
        return stored

    def delete_asset(self, asset_id: str) -> StoredAsset:
        """Remove an asset; 404 if there is none with this id."""
        stored = self._assets.pop(asset_id, None)
        if stored is None:
            raise NotFound(f"External asset {asset_id} not found")
        return stored

    def notes(self) -> list[Note]:
        """Every org note, active or not, oldest first."""
        return list(self._notes.values())

    def create_note(self, title: str, text: str) -> Note:
        """Add a note (titles need not be unique: Dot identifies notes by id)."""
        note = Note(self._new_note_id(), title, text)
        self._notes[note.id] = note
        return note

    def update_note(self, note_id: str, title: str, text: str, active: bool | None) -> Note:
        """Replace a note's title and text; `active=None` keeps its activation."""
        note = self._note(note_id)
        note.title, note.note = title, text
        if active is not None:
            note.active = active
        note.updated_at = utcnow()
        return note

    def delete_note(self, note_id: str) -> Note:
        """Remove a note."""
        note = self._note(note_id)
        del self._notes[note_id]
        return note

    def _note(self, note_id: str) -> Note:
        """A note by id; 404 otherwise."""
        note = self._notes.get(note_id)
        if note is None:
            raise NotFound(f"Note {note_id} not found")
        return note

    def fork(self, environment: str) -> "ModelSpace":
        """A copy of this model for a new environment (note ids stay unique: shared source)."""
        forked = copy.copy(self)
        forked.environment = environment
        forked.incidents = copy.deepcopy(self.incidents)
        forked._notes = copy.deepcopy(self._notes)
        forked._assets = copy.deepcopy(self._assets)
        return forked

    def files(self) -> dict[str, Any]:
        """The model as Dot's git branch would hold it: path → content (comparable JSON)."""
        files: dict[str, Any] = {ORG_NOTE_FILE: self.org_note} if self.org_note else {}
        for note in self._notes.values():
            files[f"{NOTE_DIR}{note.id}.md"] = {
                "title": note.title,
                "note": note.note,
                "active": note.active,
            }
        for stored in self._assets.values():
            files[f"{ASSET_DIR}{stored.asset.id}.json"] = {
                **stored.asset.model_dump(),
                "source": stored.source,
            }
        return files

    def write_file(self, path: str, content: Any) -> None:
        """Make one file of `files()` hold `content` (None deletes it): a merge's write."""
        if path == ORG_NOTE_FILE:
            self.org_note = content or ""
        elif path.startswith(NOTE_DIR):
            note_id = path.removeprefix(NOTE_DIR).removesuffix(".md")
            if content is None:
                self._notes.pop(note_id, None)
            elif note_id in self._notes:
                self.update_note(note_id, content["title"], content["note"], content["active"])
            else:
                self._notes[note_id] = Note(
                    note_id, content["title"], content["note"], content["active"]
                )
        elif path.startswith(ASSET_DIR):
            asset_id = path.removeprefix(ASSET_DIR).removesuffix(".json")
            if content is None:
                self._assets.pop(asset_id, None)
            else:
                fields = {name: value for name, value in content.items() if name != "source"}
                asset = ExternalAsset.model_validate(fields)
                self._assets[asset_id] = StoredAsset(asset, content["source"])
        else:
            raise ValueError(f"not a model file: {path}")

    def snapshot(self) -> dict[str, Any]:
        """This environment's state as JSON (for `GET /_emulator/state`)."""
        return {
            "org_note": self.org_note,
            "external_assets": [stored.public() for stored in self.assets()],
            "org_notes": [note.public() for note in self.notes()],
            "incidents": [incident.public() for incident in self.incidents.incidents()],
        }
