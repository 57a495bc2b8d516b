"""The organisation's knowledge for Dot: Dot's 2024 API's single org note and today's org notes.

- `GET /api/org` + `POST /api/save_note`: Dot's 2024 API's one big note per organisation
  (Dot later removed `save_note`). Reading: user; saving: admin (it rewrites what Dot
  knows for everyone, and it was an admin setting).
- `/api/org_notes`: many atomic notes, one topic each, that can be (de)activated. Reading:
  user; writing: modeler (notes are part of the model, like syncs and assets).

Both are per environment (`X-Dot-Environment`).

**Strict profile** (`EmulatorConfig.strict`): only what Dot documents. The listing is
`[{id, title, note}]` (the fields Dot's own Confluence script reads); POST and PUT answer
`null` (their reply is undocumented); `active` in a PUT is ignored and `DELETE` is absent
(405, as FastAPI answers a method a path does not have): neither is in Dot's API docs.
Stored note text loses its HTML comments: Dot keeps notes as Markdown files in git, and
whether it keeps a comment is not documented, so the strict profile assumes the worst (a
guess, listed in docs/ARCHITECTURE.md).
"""

import re
from typing import Any

from fastapi import HTTPException
from pydantic import BaseModel, Field

from dot_orchestration.emulator.auth import AdminCaller, ModelerCaller, StateDep, UserCaller
from dot_orchestration.emulator.errors import NotFound
from dot_orchestration.emulator.routers.base import dot_router
from dot_orchestration.emulator.state import EmulatorState

router = dot_router("notes")

# Dot recommends splitting notes past ~50,000 characters; the emulator enforces it.
NOTE_MAX_CHARS = 50_000
# What the strict profile's Markdown store drops: HTML comments, with the line they end.
_HTML_COMMENT = re.compile(r"[ \t]*<!--.*?-->[ \t]*\n?", re.DOTALL)


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
async def get_org_notes(caller: UserCaller, state: StateDep) -> list[dict[str, Any]]:
    """Every note, active or not, oldest first (strict: only `id`, `title`, `note`)."""
    notes = [note.public() for note in caller.space.notes()]
    if state.config.strict:
        return [{name: note[name] for name in ("id", "title", "note")} for note in notes]
    return notes


@router.post("/org_notes", summary="Create Org Note")
async def create_org_note(
    body: NoteBody, caller: ModelerCaller, state: StateDep
) -> dict[str, Any] | None:
    """Add an active note; answers it with its id (strict: `null`)."""
    note = caller.space.create_note(body.title, _stored(state, body.note))
    return None if state.config.strict else note.public()


@router.put("/org_notes/{note_id}", summary="Update Org Note")
async def update_org_note(
    note_id: str, body: NoteUpdateBody, caller: ModelerCaller, state: StateDep
) -> dict[str, Any] | None:
    """Replace a note's title and text (and activation, if given; strict: ignored)."""
    active = None if state.config.strict else body.active
    note = caller.space.update_note(note_id, body.title, _stored(state, body.note), active)
    return None if state.config.strict else note.public()


@router.delete("/org_notes/{note_id}", summary="Delete Org Note")
async def delete_org_note(note_id: str, caller: ModelerCaller, state: StateDep) -> dict[str, Any]:
    """Remove a note; answers the removed note (strict: 405, the route does not exist).

    Assumed, not documented: Dot's docs show listing, creating and updating notes only. A
    sync that owns notes needs a way to remove the ones whose source disappeared, and
    `DELETE` on the note's URL is what a REST API like this one offers.
    """
    if state.config.strict:
        raise HTTPException(status_code=405, detail="Method Not Allowed")
    return caller.space.delete_note(note_id).public()


def _stored(state: EmulatorState, text: str) -> str:
    """The text as the note store keeps it (strict: without HTML comments)."""
    return _HTML_COMMENT.sub("", text) if state.config.strict else text


def _org(state: EmulatorState, note: str) -> dict[str, Any]:
    """The org object of Dot's 2024 API."""
    return {"id": state.config.org_id, "name": state.config.org_name, "note": note}
