"""Reading Dot's environments replies, whose shapes Dot does not document.

Dot documents the environments routes and their request bodies ("For coding agents: CLI &
API"), not a single reply. Each reader here accepts the plausible shapes and answers None
for anything else, so that the caller says "unreadable" instead of guessing.

- `GET /api/environments`: a list of environments or an object wrapping one
  (`environments`, `data`, `items`, `results`), each an object carrying its id (`id`, else
  `env_id`/`environment_id`) and maybe a `name` or `slug`, or a bare id string.
- `GET /api/environments/{id}/diff`: the docs say it lists "every file the environment
  changed compared to production", each `added`, `modified` or `deleted`. Read: a list of
  files or an object wrapping one (`files`, `changes`, `diff`, ...), each an object with its
  path (`path`, `file`, `filename`, `name`) and status (`status`, `change`, `change_type`,
  `type`), or a bare path.
- `GET /api/environments/{id}/conflicts`: "predict merge conflicts". Read the same way
  (`conflicts` also wraps); the status is whatever the item says, if anything.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

_WRAPPERS = ("environments", "data", "items", "results")
_ID_KEYS = ("id", "env_id", "environment_id")
_NAME_KEYS = ("name", "slug")
_FILE_WRAPPERS = ("files", "changes", "diff", "conflicts", "data", "items", "results")
_PATH_KEYS = ("path", "file", "filename", "name")
_STATUS_KEYS = ("status", "change", "change_type", "type")


@dataclass(frozen=True)
class ChangedFile:
    """One file of a diff or a conflict: its path and how it changed, as Dot said it
    (`added`, `modified`, `deleted` in the docs; empty when Dot gave no status)."""

    path: str
    status: str = ""


def environment_names(data: Any) -> dict[str, str] | None:
    """Every way an environment of `data` may be named (id, name, slug) → its id; None
    when `data` is not a list of environments this module can read."""
    items = _unwrap(data, _WRAPPERS)
    if items is None:
        return None
    names: dict[str, str] = {}
    for item in items:
        if isinstance(item, str):
            names[item] = item
            continue
        if not isinstance(item, dict):
            return None
        env_id = _first(item, _ID_KEYS)
        if env_id is None:
            return None
        names[env_id] = env_id
        names.update({str(item[key]): env_id for key in _NAME_KEYS if item.get(key)})
    return names


def changed_files(data: Any) -> tuple[ChangedFile, ...] | None:
    """The files of a diff or conflicts reply; None when the reply is unreadable."""
    items = _unwrap(data, _FILE_WRAPPERS)
    if items is None:
        return None
    files: list[ChangedFile] = []
    for item in items:
        if isinstance(item, str):
            files.append(ChangedFile(item))
            continue
        if not isinstance(item, dict):
            return None
        path = _first(item, _PATH_KEYS)
        if path is None:
            return None
        status = _first(item, _STATUS_KEYS) or ""
        files.append(ChangedFile(path, status))
    return tuple(files)


def _unwrap(data: Any, wrappers: tuple[str, ...]) -> list[Any] | None:
    """`data` itself when a list, else the first list under one of `wrappers`."""
    if isinstance(data, dict):
        data = next((data[key] for key in wrappers if isinstance(data.get(key), list)), None)
    return data if isinstance(data, list) else None


def _first(item: dict[str, Any], keys: tuple[str, ...]) -> str | None:
    """The value of the first of `keys` that `item` sets (any spelling Dot may use)."""
    return next((str(item[key]) for key in keys if item.get(key)), None)
