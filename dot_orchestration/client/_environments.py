"""Reading Dot's list of environments, whose shape Dot does not document.

`GET /api/environments` is documented ("List environments"), its reply is not. Accepted: a
list of environments or an object wrapping one (`environments`, `data`, `items`,
`results`), each an object carrying its id (`id`, else `env_id`/`environment_id`) and
maybe a `name` or `slug`, or a bare id string. Anything else is unreadable: the caller
then cannot verify an id and says so instead of guessing.
"""

from __future__ import annotations

from typing import Any

_WRAPPERS = ("environments", "data", "items", "results")
_ID_KEYS = ("id", "env_id", "environment_id")
_NAME_KEYS = ("name", "slug")


def environment_names(data: Any) -> dict[str, str] | None:
    """Every way an environment of `data` may be named (id, name, slug) → its id; None
    when `data` is not a list of environments this module can read."""
    if isinstance(data, dict):
        data = next((data[key] for key in _WRAPPERS if isinstance(data.get(key), list)), None)
    if not isinstance(data, list):
        return None
    names: dict[str, str] = {}
    for item in data:
        if isinstance(item, str):
            names[item] = item
            continue
        if not isinstance(item, dict):
            return None
        env_id = next((str(item[key]) for key in _ID_KEYS if item.get(key)), None)
        if env_id is None:
            return None
        names[env_id] = env_id
        names.update({str(item[key]): env_id for key in _NAME_KEYS if item.get(key)})
    return names
