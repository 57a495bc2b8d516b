"""One received value into its column's type, or `Invalid` saying why it does not fit.

Ids, text, structured content, counts, labels and the auto-review verdict's label or score:
lenient where the meaning is plain (a numeric id, a count sent as ``"12"``), strict where a
guess could turn one value into another.
"""

from __future__ import annotations

from dot_orchestration.transforms.history._errors import Invalid
from dot_orchestration.transforms.history._fields import CONVERSATION_ID, names
from dot_orchestration.transforms.history._raw import json_text

#: The verdicts Dot documents (Maintaining Dot → "Let Dot tell you where it failed").
AUTO_REVIEW_LABELS = ("Issue", "Abandoned", "Success", "OK")


def as_identifier(value: object) -> str:
    if isinstance(value, bool) or not isinstance(value, (str, int)) or value == "":
        raise Invalid(
            f"conversation has no usable id (looked for {names(CONVERSATION_ID)}, got {value!r})"
        )
    return str(value)


def as_text(value: object, field: str) -> str | None:
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return str(value)
    raise Invalid(f"{field} must be text, got {type(value).__name__} {value!r}")


def as_content(value: object) -> str | None:
    """Structured content (a list of parts, an object) is kept whole as JSON text."""
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, (dict, list)):
        return json_text(value)
    return as_text(value, "content")


def as_count(value: object, field: str = "message count") -> int:
    if (isinstance(value, float) and value.is_integer()) or (
        isinstance(value, str) and value.strip().isdigit()
    ):
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise Invalid(f"{field} must be a non-negative integer, got {value!r}")
    return value


def as_score(value: object) -> float | None:
    """A numeric verdict (a number or a numeric string); None when it is not one."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            return None
    return None


def as_label_text(value: object, field: str) -> str | None:
    """A text verdict, stripped (None when blank); anything else is refused, naming the
    documented labels."""
    if isinstance(value, str):
        return value.strip() or None
    raise Invalid(
        f"{field} must be a number or one of Dot's auto-review labels "
        f"({', '.join(AUTO_REVIEW_LABELS)}), got {value!r}"
    )


def as_labels(value: object) -> str | None:
    """A list of names (or of ``{name: …}`` objects) or a comma-separated string, as JSON."""
    if value is None:
        return None
    if isinstance(value, str):
        return json_text([label.strip() for label in value.split(",") if label.strip()])
    if isinstance(value, list):
        return json_text([_label(label) for label in value])
    raise Invalid(f"labels must be a list or a comma-separated string, got {value!r}")


def _label(value: object) -> str:
    if isinstance(value, dict):
        value = value.get("name", value.get("label"))
    if not isinstance(value, str):
        raise Invalid(f"a label must be a name, got {value!r}")
    return value


def is_count(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)
