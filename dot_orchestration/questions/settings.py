"""What a scheduled question is: its text, how hard Dot works on it and when it is asked.
One class for Python and for YAML (frozen, unknown fields refused).
"""

import re

from dagster import AssetKey, DefaultScheduleStatus
from pydantic import BaseModel, ConfigDict, Field, field_validator

from dot_orchestration.client import AgenticMode

#: Dagster's rule for op, check and schedule names, which questions and checks become.
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


class _Frozen(BaseModel):
    """Frozen and strict: a misspelt field is an error, in Python as in YAML."""

    model_config = ConfigDict(frozen=True, extra="forbid")


def _checked_name(name: str) -> str:
    if not _NAME.match(name):
        raise ValueError(f"{name!r} is not a name: use letters, digits and _ (not first)")
    return name


class DotQuestion(_Frozen):
    """A question Dot answers as an asset: `build_dot_question_definitions([...])` wires it.

    Materializing asks Dot's agent in a new conversation (its id made here), waits for the
    answer at most `timeout_s` (the agentic call, then polling the conversation), labels
    the conversation, and records the answer. It is asked on `cron` when set, and once
    after each clean update of `deps` when `ask_after_deps` (the default).
    """

    name: str = Field(description="The asset's last key part and the step's name.")
    question: str = Field(min_length=1, description="What to ask Dot.")
    mode: AgenticMode = Field(
        default="economy", description="How hard Dot works: economy, balanced or frontier."
    )
    labels: tuple[str, ...] = Field(
        default=("dagster",), description="Labels put on the conversation in Dot."
    )
    deps: tuple[str, ...] = Field(
        default=(),
        description="Assets the question reads, as `a/b` keys (AssetKeys in Python): they "
        "are upstream of it.",
    )
    ask_after_deps: bool = Field(
        default=True,
        description="Ask once after each clean update of `deps` (an automation condition).",
    )
    cron: str | None = Field(default=None, description="Ask on this cron schedule, e.g. weekly.")
    timezone: str = Field(default="UTC", description="IANA zone of `cron`.")
    schedule_status: DefaultScheduleStatus = DefaultScheduleStatus.STOPPED
    timeout_s: float = Field(
        default=600.0, gt=0, description="How long to wait for the answer, all calls included."
    )
    poll_interval_s: float = Field(
        default=5.0, gt=0, description="How often the conversation is read while waiting."
    )
    key_prefix: tuple[str, ...] = ("dot", "questions")
    group_name: str = "dot"
    owners: tuple[str, ...] = ()
    pool: str | None = Field(default=None, description="The Dagster pool of the step.")

    _name = field_validator("name")(_checked_name)

    @field_validator("deps", mode="before")
    @classmethod
    def _user_strings(cls, deps: object) -> object:
        """AssetKeys are kept as their `a/b` string, the form YAML writes."""
        if isinstance(deps, list | tuple):
            return tuple(d.to_user_string() if isinstance(d, AssetKey) else d for d in deps)
        return deps

    @property
    def asset_key(self) -> AssetKey:
        return AssetKey([*self.key_prefix, self.name])

    @property
    def dep_keys(self) -> list[AssetKey]:
        return [AssetKey.from_user_string(dep) for dep in self.deps]


__all__ = ["DotQuestion"]
