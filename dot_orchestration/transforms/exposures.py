"""Dot's dbt exposures as state: the document Dot serves, the file it is cached in.

Dot publishes what depends on which dbt model as dbt exposures (`GET /api/dbt/exposures`):
one per shared Dot dashboard, `depends_on: [ref('orders'), ...]`. Definitions must never
call Dot while they load, so the exposures are state, fetched once and read at load. This
module is that state without Dagster and without HTTP: the models (lenient, since Dot adds
fields), the document → state step, the JSON file (written atomically, read with a warning
instead of an error), and the parsing of `ref(...)`.

Dot documents the `meta` of its exposures (dbt Exposures page): `dot_app_id` (the shared
app, e.g. `_shared__orders-pulse`), `dot_tables` (the tables its queries read), and, where
lineage is incomplete, `dot_unresolved_models` and `dot_ambiguous_tables`. Unknown keys are
kept in the state as received.
"""

from __future__ import annotations

import json
import logging
import os
import re
import tempfile
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError

logger = logging.getLogger(__name__)

#: Version of the state file layout; a file of another version is ignored with a warning.
STATE_FORMAT = 1

_REF = re.compile(
    r"""^\s*ref\(\s*(['"])(?P<first>[^'"]+)\1\s*"""
    r"""(?:,\s*(['"])(?P<second>[^'"]+)\3\s*)?"""  # ref('package', 'model')
    r"""(?:,\s*v(?:ersion)?\s*=\s*[^)]*)?\)\s*$"""  # ref('model', v=2)
)


class _Lenient(BaseModel):
    """Dot adds fields over time: keep them, break on none."""

    model_config = ConfigDict(extra="allow")


class ExposureOwner(_Lenient):
    name: str | None = None
    email: str | None = None


class DotExposure(_Lenient):
    """One dbt exposure as Dot writes it (dbt's v2 exposure properties)."""

    name: str
    type: str
    label: str | None = None
    url: str | None = None
    description: str | None = None
    maturity: str | None = None
    depends_on: list[str] = []
    owner: ExposureOwner | None = None
    meta: dict[str, Any] = {}


class ExposuresState(BaseModel):
    """The state: Dot's exposures as fetched, and when."""

    format: int = STATE_FORMAT
    fetched_at: str
    connection_id: str | None = None
    exposures: list[DotExposure]
    apps_without_dbt_models: list[dict[str, Any]] = []

    def same_exposures(self, other: ExposuresState | None) -> bool:
        """Whether `other` holds the same exposures, whenever it was fetched."""
        if other is None:
            return False
        when = {"fetched_at"}
        return self.model_dump(exclude=when) == other.model_dump(exclude=when)

    def summary(self) -> str:
        """What the state holds, in one line."""
        dashboards = sum(1 for e in self.exposures if e.type == "dashboard")
        return (
            f"{len(self.exposures)} Dot exposures ({dashboards} dashboards), "
            f"{len(self.apps_without_dbt_models)} shared apps without dbt models"
        )


def exposures_state(document: object, *, connection_id: str | None = None) -> ExposuresState:
    """Dot's exposures document as state, sorted by name so the file diffs cleanly;
    `ValueError` if it is not an exposures document (then no state is written)."""
    if not isinstance(document, dict):
        raise ValueError(
            f"Dot's dbt exposures are a {type(document).__name__}, not an exposures document; "
            "state left as it was"
        )
    try:
        state = ExposuresState(
            fetched_at=datetime.now(timezone.utc).isoformat(timespec="seconds"),
            connection_id=connection_id,
            exposures=document.get("exposures"),  # type: ignore[arg-type]
            apps_without_dbt_models=document.get("apps_without_dbt_models") or [],
        )
    except ValidationError as error:
        raise ValueError(
            f"Dot's dbt exposures do not read as dbt exposures, state left as it was: {error}"
        ) from None
    state.exposures.sort(key=lambda exposure: exposure.name)
    return state


def write_exposures_state(state: ExposuresState, path: Path) -> None:
    """Write the file atomically: a reader sees the old state or the new one, never half."""
    path.parent.mkdir(parents=True, exist_ok=True)
    text = json.dumps(state.model_dump(mode="json"), indent=2, sort_keys=True) + "\n"
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as stream:
            stream.write(text)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def read_exposures_state(path: Path, *, refresh_hint: str) -> ExposuresState | None:
    """The state in `path`, or None with a warning saying how to create it (`refresh_hint`:
    the command that writes it where the caller reads it)."""
    try:
        state = ExposuresState.model_validate_json(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        logger.warning(
            "Dot exposures state %s does not exist: no Dot dashboards in the asset graph. "
            "Create it with %s.",
            path,
            refresh_hint,
        )
        return None
    except (OSError, ValidationError) as error:
        logger.warning(
            "Dot exposures state %s is unreadable, no Dot dashboards in the asset graph; "
            "refresh it with %s: %s",
            path,
            refresh_hint,
            error,
        )
        return None
    if state.format != STATE_FORMAT:
        logger.warning(
            "Dot exposures state %s has format %s, this version reads %s; refresh it with %s.",
            path,
            state.format,
            STATE_FORMAT,
            refresh_hint,
        )
        return None
    return state


def referenced_model(dependency: str) -> str | None:
    """The model of `ref('orders')`, `ref('pkg', 'orders')` or `ref('orders', v=2)`."""
    match = _REF.match(dependency)
    if match is None:
        return None
    return match.group("second") or match.group("first")


__all__ = [
    "STATE_FORMAT",
    "DotExposure",
    "ExposureOwner",
    "ExposuresState",
    "exposures_state",
    "read_exposures_state",
    "referenced_model",
    "write_exposures_state",
]
