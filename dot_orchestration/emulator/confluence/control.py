"""Control plane under `/_emulator` (no auth, not Confluence's API, hidden from OpenAPI):
what a demo or a test in another process needs to look at or change the site."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from pydantic import BaseModel, Field

from dot_orchestration.emulator.confluence._api import ConfluenceAPIError, site_state
from dot_orchestration.emulator.confluence.state import FaultRule
from dot_orchestration.emulator.confluence.v2 import page_json

router = APIRouter(prefix="/_emulator", include_in_schema=False)


class FaultRules(BaseModel):
    rules: list[FaultRule] = Field(default_factory=list)


class PageEdit(BaseModel):
    title: str | None = None
    body: str | None = None


@router.get("/journal")
def read_journal(request: Request) -> dict[str, Any]:
    return {"entries": [entry.model_dump(mode="json") for entry in site_state(request).journal]}


@router.delete("/journal", status_code=204)
def clear_journal(request: Request) -> None:
    site_state(request).journal.clear()


@router.get("/faults")
def read_faults(request: Request) -> FaultRules:
    return FaultRules(rules=site_state(request).faults)


@router.put("/faults")
def replace_faults(rules: FaultRules, request: Request) -> FaultRules:
    site_state(request).faults = list(rules.rules)
    return rules


@router.delete("/faults", status_code=204)
def clear_faults(request: Request) -> None:
    site_state(request).faults = []


@router.post("/reset", status_code=204)
def reset(request: Request) -> None:
    site_state(request).reset()


@router.put("/pages/{page_id}")
def edit_page(page_id: str, edit: PageEdit, request: Request) -> dict[str, Any]:
    """Edit a page as its author would: the version goes up by one."""
    state = site_state(request)
    try:
        page = state.update_page(page_id, body=edit.body, title=edit.title)
    except KeyError:
        raise ConfluenceAPIError(404, f"No content found with id: {page_id}") from None
    return page_json(state, page, include_body=False)
