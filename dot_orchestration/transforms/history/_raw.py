"""The JSON text columns: the fields nothing read (``raw``), and structured values.

Nothing Dot sends is dropped: what the typed columns did not take (`_fields.unread`) is kept
as JSON text, as are structured message content and label lists, all through one encoder.
"""

from __future__ import annotations

import json

_ENCODER = json.JSONEncoder(sort_keys=True, ensure_ascii=False, default=str)


def json_text(value: object) -> str:
    """One encoder for every JSON text column: `json.dumps` with options builds one per call."""
    return _ENCODER.encode(value)


def raw_json(raw: dict[str, object]) -> str:
    """Most messages have no unknown fields: skip the encoder for them."""
    return json_text(raw) if raw else "{}"
