"""What a scheduled question is: its text, how hard Dot works on it, when it is asked and
what its answer must say. One class for Python and for YAML (frozen, unknown fields refused).
"""

import re
from pathlib import Path
from typing import Annotated, Literal

from dagster import AssetKey, DefaultScheduleStatus
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator
from typing_extensions import Self

from dot_orchestration._extras import extra_required
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


class AnswerCheckQueryError(Exception):
    """An expectation's SQL could not give a number: the warehouse refused the query (a
    missing table, a lock held by a writer) or answered something else."""


class DuckDBQuery(_Frozen):
    """Where an expectation's SQL runs: a DuckDB file, opened read-only for the check.

    The one warehouse of this version; another warehouse is another class with the same
    `scalar` method, put beside it in `NumberExpectation.warehouse`.
    """

    kind: Literal["duckdb"] = "duckdb"
    path: Path = Field(description="The DuckDB file, e.g. the dbt project's target.")

    def scalar(self, sql: str) -> float | None:
        """The first column of the first row, as a number (None for NULL or no row);
        `AnswerCheckQueryError` when the query fails or its value is not a number."""
        with extra_required("duckdb", feature="Answer checks on a DuckDB file"):
            import duckdb
        try:
            with duckdb.connect(str(self.path), read_only=True) as connection:
                row = connection.execute(sql).fetchone()
        except duckdb.Error as error:
            raise AnswerCheckQueryError(f"{type(error).__name__}: {error}") from error
        if row is None or row[0] is None:
            return None
        try:
            return float(row[0])
        except (TypeError, ValueError):
            raise AnswerCheckQueryError(
                f"the query's first value {row[0]!r} is no number"
            ) from None


class _Expectation(_Frozen):
    """What every expectation has: a check name, the asset it is on, and whether a failure
    blocks."""

    name: str = Field(description="The check's name, unique per asset.")
    asset: str | None = Field(
        default=None,
        description="The asset the check is on, as an `a/b` key (an AssetKey in Python), e.g. "
        "the dbt model the answer comes from; default: the question's asset. Such a check "
        "runs after the question, on the conversation Dot holds, and never blocks: the "
        "question runs after the assets it reads.",
    )
    blocking: bool | None = Field(
        default=None,
        description="Fail as an error and stop what is downstream in the same run; false: "
        "a warning. Default: blocking on the question's asset, a warning on another.",
    )

    _name = field_validator("name")(_checked_name)

    @field_validator("asset", mode="before")
    @classmethod
    def _user_string(cls, asset: object) -> object:
        """An AssetKey is kept as its `a/b` string, the form YAML writes."""
        return asset.to_user_string() if isinstance(asset, AssetKey) else asset

    @model_validator(mode="after")
    def _blocks_only_its_question(self) -> Self:
        if self.asset is not None and self.blocking:
            raise ValueError(
                f"expectation {self.name!r} is on {self.asset!r}, which cannot be blocked: "
                "the check runs after the question, and the question after the assets it "
                "reads. Leave out `blocking` (a warning), or put the check on the question"
            )
        return self

    @property
    def asset_key(self) -> AssetKey | None:
        return None if self.asset is None else AssetKey.from_user_string(self.asset)

    @property
    def blocks(self) -> bool:
        return self.blocking if self.blocking is not None else self.asset is None


class NumberExpectation(_Expectation):
    """A number in Dot's answer is within tolerance of what a SQL query says.

    The number is the first one in the answer's text (`1,234.50`, `$2.8`, `-3`), or the
    first group of `pattern` when set. It passes when `|dot - sql|` is at most the larger
    of `tolerance` and `relative_tolerance * |sql|` (both 0 by default: exactly equal).
    """

    kind: Literal["number"] = "number"
    sql: str = Field(min_length=1, description="A query whose first value is the truth.")
    warehouse: DuckDBQuery = Field(description="Where `sql` runs.")
    pattern: str | None = Field(
        default=None,
        description="A regular expression whose first group is Dot's number; default: the "
        "first number in the answer.",
    )
    tolerance: float = Field(default=0.0, ge=0.0, description="Allowed absolute difference.")
    relative_tolerance: float = Field(
        default=0.0, ge=0.0, description="Allowed difference as a fraction of the SQL's value."
    )

    @field_validator("pattern")
    @classmethod
    def _one_group(cls, pattern: str | None) -> str | None:
        if pattern is not None and re.compile(pattern).groups < 1:
            raise ValueError(f"pattern {pattern!r} needs a group around the number")
        return pattern

    def allowed_difference(self, truth: float) -> float:
        return max(self.tolerance, self.relative_tolerance * abs(truth))


class PhraseExpectation(_Expectation):
    """Dot's answer says every `required` phrase and none of the `forbidden` ones
    (case-insensitive unless `case_sensitive`)."""

    kind: Literal["phrases"] = "phrases"
    required: tuple[str, ...] = ()
    forbidden: tuple[str, ...] = ()
    case_sensitive: bool = False

    @model_validator(mode="after")
    def _some_phrase(self) -> "PhraseExpectation":
        if not self.required and not self.forbidden:
            raise ValueError(f"expectation {self.name!r}: give `required` or `forbidden` phrases")
        return self


class TablesExpectation(_Expectation):
    """Dot's answer was computed from every one of `tables`: each is named in the SQL of
    its data parts (`sql_query`, as Dot's CLI reads it). A table's name matches with or
    without its schema, case-insensitively."""

    kind: Literal["tables"] = "tables"
    tables: tuple[str, ...] = Field(min_length=1, description="Tables the answer must read.")


Expectation = Annotated[
    NumberExpectation | PhraseExpectation | TablesExpectation, Field(discriminator="kind")
]


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
    environment: str | None = Field(
        default=None,
        description="The Dot environment to ask in (its id, sent as X-Dot-Environment), e.g. "
        "a branch's; default: the `DotResource`'s.",
    )
    timeout_s: float = Field(
        default=600.0, gt=0, description="How long to wait for the answer, all calls included."
    )
    poll_interval_s: float = Field(
        default=5.0, gt=0, description="How often the conversation is read while waiting."
    )
    expect: tuple[Expectation, ...] = Field(
        default=(),
        description="Checks on the answer: asset checks of the question, or of the asset an "
        "expectation names.",
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

    @model_validator(mode="after")
    def _unique_checks(self) -> "DotQuestion":
        keys = [(self.target(expectation), expectation.name) for expectation in self.expect]
        doubled = sorted({name for key, name in keys if keys.count((key, name)) > 1})
        if doubled:
            raise ValueError(
                f"question {self.name!r}: expectations named twice on one asset: {doubled}"
            )
        return self

    def target(self, expectation: "Expectation") -> AssetKey:
        """The asset an expectation's check is on."""
        return expectation.asset_key or self.asset_key

    @property
    def own_expectations(self) -> tuple["Expectation", ...]:
        """The expectations checked on the question's own asset, in its step."""
        return tuple(e for e in self.expect if self.target(e) == self.asset_key)

    @property
    def other_expectations(self) -> tuple["Expectation", ...]:
        """The expectations checked on other assets, after the question."""
        return tuple(e for e in self.expect if self.target(e) != self.asset_key)

    @property
    def asset_key(self) -> AssetKey:
        return AssetKey([*self.key_prefix, self.name])

    @property
    def dep_keys(self) -> list[AssetKey]:
        return [AssetKey.from_user_string(dep) for dep in self.deps]


__all__ = [
    "AnswerCheckQueryError",
    "DotQuestion",
    "DuckDBQuery",
    "Expectation",
    "NumberExpectation",
    "PhraseExpectation",
    "TablesExpectation",
]
