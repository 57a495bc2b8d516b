"""Dot environments: isolated branches of the model, diffed, checked and merged file by file.

Docs (Environments): an environment is "an isolated copy of your data model, backed by its
own git branch", forked from production or another environment; its diff lists every file
it changed "compared to production", each `added`, `modified` or `deleted`; conflicts are
predicted before a merge; a merge promotes the branch into production.

The emulator keeps, per environment, the production files at its fork point (the merge
base, as git would). The environment's diff is its files against that base, so a change
made only in production never shows up as the environment's; a conflict is a file both
sides changed since the base, to different contents. A merge writes the environment's
changed files into production and moves the base to the environment's files. Forking from
another environment copies that environment's model and its base, so the fork's diff holds
the source's unmerged changes too.
"""

import random
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from dot_orchestration.emulator.clock import isoformat_z, utcnow
from dot_orchestration.emulator.errors import Conflict, NotFound
from dot_orchestration.emulator.space import ModelSpace

ChangeStatus = Literal["added", "modified", "deleted"]


@dataclass
class Environment:
    """One environment's record (its model lives in `EmulatorState.spaces`)."""

    id: str
    name: str
    color: str | None
    source_env_id: str | None
    #: Production's files when the environment last met production (fork or merge).
    base: dict[str, Any]
    created_at: datetime = field(default_factory=utcnow)
    #: Warehouse target overrides, as the caller sent them (the shape is undocumented).
    targets: dict[str, Any] = field(default_factory=dict)
    target_syncs: int = 0
    last_synced_at: datetime | None = None

    def public(self) -> dict[str, Any]:
        """The environment as the default profile lists it (a guess: see ARCHITECTURE)."""
        return {
            "id": self.id,
            "name": self.name,
            "color": self.color,
            "source_env_id": self.source_env_id,
            "created_at": isoformat_z(self.created_at),
            "targets": self.targets,
            "target_syncs": self.target_syncs,
            "last_synced_at": isoformat_z(self.last_synced_at) if self.last_synced_at else None,
        }


def changes(base: Mapping[str, Any], files: Mapping[str, Any]) -> dict[str, ChangeStatus]:
    """Each file that differs between `base` and `files`, with how it changed."""
    changed: dict[str, ChangeStatus] = {}
    for path in sorted({*base, *files}):
        if path not in base:
            changed[path] = "added"
        elif path not in files:
            changed[path] = "deleted"
        elif base[path] != files[path]:
            changed[path] = "modified"
    return changed


class EnvironmentBook:
    """The org's environments: create, diff, conflicts, merge and delete."""

    def __init__(self, spaces: dict[str | None, ModelSpace], seed: int) -> None:
        self._spaces = spaces
        self._ids = random.Random(f"dot-emulator-environments:{seed}")
        production = spaces[None].files()
        self._environments = {
            environment: Environment(environment, environment, None, None, dict(production))
            for environment in spaces
            if environment is not None
        }

    def all(self) -> list[Environment]:
        """Every environment but production, oldest first."""
        return list(self._environments.values())

    def get(self, environment_id: str) -> Environment:
        """An environment by id; 404 otherwise (the message names the known ids)."""
        environment = self._environments.get(environment_id)
        if environment is None:
            known = ", ".join(self._environments) or "none"
            raise NotFound(f"Environment {environment_id} not found; known: {known}")
        return environment

    def create(self, name: str, color: str | None, source_env_id: str | None) -> Environment:
        """Fork production (or `source_env_id`) into a new environment; 409 on a taken name."""
        if any(environment.name == name for environment in self._environments.values()):
            raise Conflict(f"An environment named {name!r} already exists")
        if source_env_id is None:
            source, base = self._spaces[None], self._spaces[None].files()
        else:
            base = self.get(source_env_id).base  # 404 for an unknown source first
            source = self._spaces[source_env_id]
        environment_id = f"env_{uuid.UUID(int=self._ids.getrandbits(128)).hex[:12]}"
        environment = Environment(environment_id, name, color, source_env_id, dict(base))
        self._spaces[environment_id] = source.fork(environment_id)
        self._environments[environment_id] = environment
        return environment

    def diff(self, environment_id: str) -> dict[str, ChangeStatus]:
        """The files the environment changed since it last met production."""
        environment = self.get(environment_id)
        return changes(environment.base, self._spaces[environment_id].files())

    def conflicts(self, environment_id: str) -> dict[str, tuple[ChangeStatus, ChangeStatus]]:
        """Files both production and the environment changed since the base, differently:
        path → (production's change, the environment's change)."""
        environment = self.get(environment_id)
        ours = self._spaces[environment_id].files()
        theirs = self._spaces[None].files()
        production = changes(environment.base, theirs)
        return {
            path: (production[path], change)
            for path, change in changes(environment.base, ours).items()
            if path in production and ours.get(path) != theirs.get(path)
        }

    def merge(self, environment_id: str) -> list[str]:
        """Write the environment's changed files into production; 409 while conflicts exist."""
        conflicts = self.conflicts(environment_id)
        if conflicts:
            raise Conflict(
                "Merge conflicts with production (changed on both sides since the environment "
                f"forked): {', '.join(conflicts)}"
            )
        files = self._spaces[environment_id].files()
        changed = list(self.diff(environment_id))
        production = self._spaces[None]
        for path in changed:
            production.write_file(path, files.get(path))
        self.get(environment_id).base = files
        return changed

    def delete(self, environment_id: str) -> Environment:
        """Remove an environment and its model; production is untouched."""
        environment = self.get(environment_id)
        del self._environments[environment_id]
        del self._spaces[environment_id]
        return environment
