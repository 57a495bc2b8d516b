"""The `/_emulator` control plane: journal, faults, reset and a state dump.

Not part of Dot's API: no auth, never journaled or faulted, hidden from the OpenAPI schema.
"""

from typing import Any

from fastapi import APIRouter

from dot_orchestration.emulator.auth import StateDep
from dot_orchestration.emulator.faults import FaultPlan
from dot_orchestration.emulator.middleware import CONTROL_PREFIX

router = APIRouter(prefix=CONTROL_PREFIX, include_in_schema=False)


@router.get("/journal")
async def get_journal(state: StateDep) -> dict[str, Any]:
    """Every journaled request, oldest first."""
    return {"entries": state.journal.entries()}


@router.delete("/journal")
async def clear_journal(state: StateDep) -> dict[str, Any]:
    """Forget the journal."""
    return {"cleared": state.journal.clear()}


@router.get("/faults")
async def get_faults(state: StateDep) -> dict[str, Any]:
    """The fault rules with their `injected` counts."""
    return state.faults.snapshot()


@router.put("/faults")
async def put_faults(plan: FaultPlan, state: StateDep) -> dict[str, Any]:
    """Replace the fault rules (and reseed their RNG)."""
    state.faults.set(plan.rules, plan.seed)
    return state.faults.snapshot()


@router.delete("/faults")
async def clear_faults(state: StateDep) -> dict[str, Any]:
    """Remove every fault rule."""
    state.faults.clear()
    return state.faults.snapshot()


@router.post("/reset")
async def reset(state: StateDep) -> dict[str, Any]:
    """Back to the seeded start (journal cleared, fault rules back to the config's)."""
    state.reset()
    return {"reset": True}


@router.get("/state")
async def get_state(state: StateDep) -> dict[str, Any]:
    """Sync log, external assets, notes, incidents, users and chats as JSON."""
    return state.snapshot()
