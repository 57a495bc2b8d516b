"""Which Dot environment a deployment works in: one class for Python and for a
`DotComponent`'s `environment:` section.

Dot's environments are isolated copies of its model that a team points at a dev schema,
checks and merges into production (docs: Environments). A Dagster deployment maps onto one
of three: production (no environment, no environment call), a fixed environment id, or one
environment per branch deployment, named from the branch.
"""

from string import Formatter
from typing import Literal

from dagster import AssetKey
from pydantic import BaseModel, ConfigDict, Field, model_validator

EnvironmentMode = Literal["production", "fixed", "per_branch"]
#: What a per-branch target value may name: the branch, and the pull request's number
#: (Dagster+'s DAGSTER_CLOUD_PULL_REQUEST_ID), as a dbt profile often names its schema.
TARGET_PLACEHOLDERS = frozenset({"branch", "pull_request_id"})


class DotEnvironmentSettings(BaseModel):
    """Where this deployment's Dot calls go: `build_dot_environment_definitions(settings)`.

    - `production` (default): the definitions are empty and nothing calls Dot's
      environments API.
    - `fixed`: the environment `environment_id`, created in Dot beforehand.
    - `per_branch`: one environment per branch, named `name_template` with `{branch}`
      filled from `branch`, else from a Dagster+ branch deployment's
      `DAGSTER_CLOUD_GIT_BRANCH`. Anywhere else definition load fails, so a production
      deployment can never work in (and merge or delete) a branch's environment by accident.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    mode: EnvironmentMode = Field(
        default="production", description="production, fixed (an id) or per_branch."
    )
    environment_id: str | None = Field(
        default=None, min_length=1, description="fixed: the environment's id in Dot."
    )
    name_template: str = Field(
        default="dagster-{branch}",
        description="per_branch: the environment's name, `{branch}` the branch's name.",
    )
    branch: str | None = Field(
        default=None,
        min_length=1,
        description="per_branch: the branch, e.g. a local `dagster dev` on a dbt dev target; "
        "default: DAGSTER_CLOUD_GIT_BRANCH of a branch deployment.",
    )
    targets: dict[str, dict[str, str]] = Field(
        default_factory=dict,
        description="Connection id → the dev target's fields Dot reads instead of "
        "production's, e.g. `{schema: dbt_dev}` (Snowflake: database/schema, BigQuery: "
        "project/dataset). per_branch: a value may hold `{branch}` and `{pull_request_id}`, "
        "e.g. `dbt_pr_{pull_request_id}`, the schema the branch's dbt builds into. Sent as "
        "given to `PUT /api/environments/{id}/targets`; empty: the environment's targets "
        "are left as they are in Dot.",
    )
    targets_from_dbt: bool = Field(
        default=False,
        description="YAML (Python calls `with_dbt_targets`): add, for each sync connection "
        "reading dbt models, the database and schema the dbt component's manifest builds "
        "them into; `targets` still override.",
    )
    color: str | None = Field(
        default=None, description="per_branch: the color Dot shows a created environment in."
    )
    key: tuple[str, ...] = Field(
        default=("dot", "environment"), min_length=1, description="The environment asset's key."
    )
    group_name: str = "dot"

    @model_validator(mode="after")
    def _complete(self) -> "DotEnvironmentSettings":
        if self.mode == "fixed" and self.environment_id is None:
            raise ValueError("mode 'fixed' needs `environment_id`, the environment's id in Dot")
        if self.mode != "fixed" and self.environment_id is not None:
            raise ValueError(f"`environment_id` is for mode 'fixed', not {self.mode!r}")
        allowed = TARGET_PLACEHOLDERS if self.mode == "per_branch" else frozenset()
        for connection, fields in self.targets.items():
            for field, value in fields.items():
                named = placeholders(value)
                if not named <= allowed:
                    raise ValueError(
                        f"targets.{connection}.{field} = {value!r} names "
                        f"{', '.join(sorted(named - allowed))}: "
                        + (
                            "a target may name only {branch} and {pull_request_id}"
                            if allowed
                            else "placeholders are for mode 'per_branch'"
                        )
                    )
        if self.mode == "per_branch":
            try:
                self.name_template.format(branch="b")
            except (KeyError, IndexError, ValueError) as error:
                raise ValueError(
                    f"name_template {self.name_template!r} must name the branch as "
                    f"`{{branch}}` and nothing else: {error!r}"
                ) from None
            if "{branch}" not in self.name_template:
                raise ValueError(
                    f"name_template {self.name_template!r} has no `{{branch}}`: every branch "
                    "would share one environment"
                )
        return self

    @property
    def asset_key(self) -> AssetKey:
        return AssetKey(list(self.key))

    @property
    def name(self) -> str:
        """Prefix of the check's and jobs' names: `dot_environment` by default."""
        return "_".join(self.key)


def placeholders(template: str) -> frozenset[str]:
    """The `{names}` a template fills in (`ValueError` when it is no valid template)."""
    return frozenset(name for _, name, _, _ in Formatter().parse(template) if name is not None)


__all__ = ["TARGET_PLACEHOLDERS", "DotEnvironmentSettings", "EnvironmentMode", "placeholders"]
