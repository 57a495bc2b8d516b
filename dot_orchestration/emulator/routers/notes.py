"""The organisation's knowledge for Dot: the brief's single org note and today's org notes.

- `GET /api/org` + `POST /api/save_note`: the brief's one big note per organisation
  (Dot later removed `save_note`). Reading: user; saving: admin (it rewrites what Dot
  knows for everyone, and it was an admin setting).
- `/api/org_notes`: many atomic notes, one topic each, that can be (de)activated. Reading:
  user; writing: modeler (notes are part of the model, like syncs and assets).

Both are per environment (`X-Dot-Environment`).
"""

from typing import Any

from pydantic import BaseModel, Field

from dot_orchestration.emulator.auth import AdminCaller, ModelerCaller, StateDep, UserCaller
from dot_orchestration.emulator.errors import NotFound
from dot_orchestration.emulator.routers.base import dot_router
from dot_orchestration.emulator.state import EmulatorState

router = dot_router("notes")

# Dot recommends splitting notes past ~50,000 characters; the emulator enforces it.
NOTE_MAX_CHARS = 50_000


class SaveNoteBody(BaseModel):
    """Body of `POST /api/save_note` (Dot's spec requires only `note`)."""

    note: str
    org_id: str | None = None


class NoteBody(BaseModel):
    """Body of `POST /api/org_notes`."""

    title: str
    note: str = Field(max_length=NOTE_MAX_CHARS)


class NoteUpdateBody(NoteBody):
    """Body of `PUT /api/org_notes/{note_id}`; `active` absent keeps the note's activation."""

    active: bool | None = None


@router.get("/org", summary="Get Org Info")
async def get_org(caller: UserCaller, state: StateDep) -> dict[str, Any]:
    """The organisation and its single note: `{id, name, note}`."""
    return _org(state, caller.space.org_note)


@router.post("/save_note", summary="Save Note")
async def save_note(body: SaveNoteBody, caller: AdminCaller, state: StateDep) -> dict[str, Any]:
    """Replace the single org note; answers the organisation like `GET /api/org`."""
    if body.org_id is not None and body.org_id != state.config.org_id:
        raise NotFound(f"Organization {body.org_id} not found")
    caller.space.org_note = body.note
    return _org(state, body.note)


@router.get("/org_notes", summary="Get Org Notes")
async def get_org_notes(caller: UserCaller) -> list[dict[str, Any]]:
    """Every note, active or not, oldest first."""
    return [note.public() for note in caller.space.notes()]


@router.post("/org_notes", summary="Create Org Note")
async def create_org_note(body: NoteBody, caller: ModelerCaller) -> dict[str, Any]:
    """Add an active note; answers it with its id."""
    return caller.space.create_note(body.title, body.note).public()


@router.put("/org_notes/{note_id}", summary="Update Org Note")
async def update_org_note(
    note_id: str, body: NoteUpdateBody, caller: ModelerCaller
) -> dict[str, Any]:
    """Replace a note's title and text (and activation, if given)."""
    return caller.space.update_note(note_id, body.title, body.note, body.active).public()


@router.delete("/org_notes/{note_id}", summary="Delete Org Note")
async def delete_org_note(note_id: str, caller: ModelerCaller) -> dict[str, Any]:
    """Remove a note; answers the removed note.

    Assumed, not documented: Dot's docs show listing, creating and updating notes only. A
    sync that owns notes needs a way to remove the ones whose source disappeared, and
    `DELETE` on the note's URL is what a REST API like this one offers.
    """
    return caller.space.delete_note(note_id).public()


def _org(state: EmulatorState, note: str) -> dict[str, Any]:
    """The brief's org object."""
    return {"id": state.config.org_id, "name": state.config.org_name, "note": note}
