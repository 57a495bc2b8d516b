"""Dot's API, one router per domain (mounted under `/api`), and the emulator's control plane."""

from dot_orchestration.emulator.routers import (
    chat,
    control,
    environments,
    external_assets,
    history,
    notes,
    quality,
    sync,
    users,
)

API_ROUTERS = (
    sync.router,
    external_assets.router,
    history.router,
    chat.router,
    notes.router,
    users.router,
    quality.router,
    environments.router,
)

__all__ = ["API_ROUTERS", "control"]
