"""`EmulatorConfig`: everything that makes one emulated Dot organisation differ from another.

The config is the seeded start: `POST /_emulator/reset` (and `EmulatorState.reset()`) return
the state to exactly what this config describes. Defaults give a small but realistic org;
the history knobs scale the generated conversation history up to bench sizes (a year with
`history_conversations_per_day=330` holds over 500,000 messages).
"""

from datetime import date
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from dot_orchestration.emulator.faults import FaultRule
from dot_orchestration.emulator.models import ConnectionType, ExternalAsset, Role
from dot_orchestration.emulator.rules import AnswerRule, DataAnswers, load_answer_rules


class TokenSpec(BaseModel):
    """An API token and the user it belongs to; the user's role is the token's permission."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    token: str
    email: str
    role: Role
    realname: str | None = None
    expired: bool = False


# None of these looks like a real `dot-<hex>` token, so a leaked test log alarms nobody.
DEFAULT_TOKENS: tuple[TokenSpec, ...] = (
    TokenSpec(token="dot-emulator-admin", email="admin@example.com", role=Role.admin),
    TokenSpec(token="dot-emulator-modeler", email="modeler@example.com", role=Role.modeler),
    TokenSpec(token="dot-emulator-user", email="user@example.com", role=Role.user),
    TokenSpec(
        token="dot-emulator-expired", email="expired@example.com", role=Role.admin, expired=True
    ),
)
ADMIN_TOKEN, MODELER_TOKEN, USER_TOKEN, EXPIRED_TOKEN = (spec.token for spec in DEFAULT_TOKENS)


class ConnectionRef(BaseModel):
    """A connection Dot knows, as it appears in a sync URL: `/api/sync/{type}/{id}`."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    type: str = Field(description="Any string, as in Dot's spec; see `ConnectionType`.")
    id: str

    @field_validator("type", mode="before")
    @classmethod
    def _plain_type(cls, value: object) -> object:
        """`ConnectionType.dbt` and `"dbt"` name the same connection."""
        return value.value if isinstance(value, ConnectionType) else value


class SeededExternalAsset(ExternalAsset):
    """An external asset that exists before anyone calls the API.

    `source` records who owns it (for the default assets: Dot's own Looker connector), so
    tests can prove that an asset sync never overwrote or deleted what it does not own.
    """

    source: str = "looker"


class SeededDashboard(BaseModel):
    """A dashboard built in Dot; shared ones become dbt exposures of the models they use."""

    model_config = ConfigDict(extra="forbid")

    id: str
    name: str
    models: list[str] = Field(default_factory=list)
    owner_email: str = "analyst@example.com"
    owner_name: str = "Ada Analyst"
    description: str = ""
    url: str | None = None
    shared: bool = True


def _default_external_assets() -> list[SeededExternalAsset]:
    """Two Looker dashboards imported by Dot's Looker connector."""
    return [
        SeededExternalAsset(
            id="looker-dashboard-12",
            subtype="looker_dashboard",
            folder="Shared/Sales",
            name="Sales overview",
            description="Weekly revenue and orders by region.",
            url="https://looker.example.com/dashboards/12",
            view_count=412,
            last_accessed_at="2025-01-06T08:30:00Z",
        ),
        SeededExternalAsset(
            id="looker-dashboard-31",
            subtype="looker_dashboard",
            folder="Shared/Marketing",
            name="Marketing funnel",
            description="Visits, signups and conversion by campaign.",
            url="https://looker.example.com/dashboards/31",
            view_count=97,
            last_accessed_at="2025-01-03T14:05:00Z",
        ),
    ]


def _default_dashboards() -> list[SeededDashboard]:
    """Dot dashboards over the default dbt models, plus one without models and one private."""
    return [
        SeededDashboard(
            id="_shared__revenue-overview",
            name="Revenue overview",
            models=["orders", "daily_revenue"],
            description="Daily revenue and order volume.",
        ),
        SeededDashboard(
            id="_shared__customer-health",
            name="Customer health",
            models=["customers", "orders"],
            owner_email="modeler@example.com",
            owner_name="Mo Modeler",
            description="Active customers, churn and repeat orders.",
        ),
        SeededDashboard(
            id="_shared__weekly-kpi-notes",
            name="Weekly KPI notes",
            description="Hand-written KPI notes.",
        ),
        SeededDashboard(
            id="churn-deep-dive-draft",
            name="Churn deep dive (draft)",
            models=["customers"],
            shared=False,
        ),
    ]


class EmulatorConfig(BaseModel):
    """The seeded start of an emulated Dot organisation.

    - `seed`: drives every generated value (history, note ids, embedded tokens, fault RNG).
    - `tokens`: API tokens and their users (default `DEFAULT_TOKENS`).
    - `answer_delay_s`: how long Dot "thinks": `ask` answers appear on `GET /api/c2/{id}`
      this long after the question; `agentic` blocks this long.
    - `environments`: ids accepted in `X-Dot-Environment` (absent header = production).
    - `history_*`, `workspaces`: the generated conversation history covers the
      `history_days` days before `history_end` (exclusive; default today, UTC), about
      `history_conversations_per_day` conversations a day, by `history_authors` people.
    - `known_connections`: None accepts any connection (any type, as Dot's spec); a list
      makes syncs of other connections answer 404 (a guess: Dot documents no such error).
    - `external_assets`: assets that exist before the first call (Dot-owned by default).
    - `dashboards`, `dbt_models`: Dot dashboards and the dbt models Dot's model uses; they
      feed `GET /api/dbt/exposures`.
    - `faults`: fault rules active from the start (and again after each reset).
    - `strict`: serve only what Dot's own documentation pages describe (the *strict
      profile*): undocumented endpoints and request fields absent or ignored, undocumented
      reply bodies minimal, auto-review verdicts as labels, syncs that may outlast a read
      timeout. Where the default profile guesses, `docs/ARCHITECTURE.md` says so in one
      table; the strict profile is how tests prove the package does not rely on a guess.
    - `sync_delay_s`: how long a sync request takes to answer (a slow warehouse).
    - `new_user_role`: the role invited and created users get. Dot makes new people admins
      unless the org turns that off (its 2024 spec has `POST /api/set_new_user_admin`).
    - `modelers_may_sync`: the modeler permission "Trigger and schedule connection syncs"
      (off by default in Dot); without it only admins may sync.
    - `answer_warehouse`, `answer_rules`: answers that follow the data (`rules.py`): a
      question matching a rule is answered by the rule's SQL on this DuckDB file, run when
      the question is asked. `answer_rules` takes the rules, or the path of a YAML or JSON
      rule file. Without rules every answer is drawn from the seeded vocabulary.
    """

    model_config = ConfigDict(extra="forbid")

    seed: int = 0
    tokens: list[TokenSpec] = Field(default_factory=lambda: list(DEFAULT_TOKENS))
    answer_delay_s: float = Field(0.5, ge=0.0)
    environments: list[str] = Field(default_factory=lambda: ["staging"])
    org_id: str = "org-emulator"
    org_name: str = "Example Analytics"
    org_note: str = ""
    workspaces: list[str] = Field(
        default_factory=lambda: ["default", "finance", "marketing"], min_length=1
    )
    history_days: int = Field(365, ge=0)
    history_conversations_per_day: float = Field(20.0, ge=0.0)
    history_end: date | None = None
    history_authors: int = Field(40, ge=1)
    known_connections: list[ConnectionRef] | None = None
    external_assets: list[SeededExternalAsset] = Field(default_factory=_default_external_assets)
    dashboards: list[SeededDashboard] = Field(default_factory=_default_dashboards)
    dbt_models: list[str] = Field(default_factory=lambda: ["customers", "orders", "daily_revenue"])
    allow_embedded_login: bool = True
    journal_limit: int = Field(10_000, ge=1)
    faults: list[FaultRule] = Field(default_factory=list)
    strict: bool = False
    sync_delay_s: float = Field(0.0, ge=0.0)
    new_user_role: Role = Role.admin
    modelers_may_sync: bool = False
    answer_warehouse: Path | None = None
    answer_rules: list[AnswerRule] = Field(default_factory=list)

    @field_validator("answer_rules", mode="before")
    @classmethod
    def _rules_from_file(cls, rules: object) -> object:
        """A path stands for the rule file it names."""
        return load_answer_rules(Path(rules)) if isinstance(rules, str | Path) else rules

    @model_validator(mode="after")
    def _rules_need_a_warehouse(self) -> "EmulatorConfig":
        if self.answer_rules and self.answer_warehouse is None:
            raise ValueError("answer_rules query a DuckDB file: set answer_warehouse too")
        return self

    def data_answers(self) -> DataAnswers | None:
        """What answers from the data, or None when every answer is the default one."""
        if self.answer_warehouse is None or not self.answer_rules:
            return None
        return DataAnswers(self.answer_warehouse, tuple(self.answer_rules))

    @field_validator("environments")
    @classmethod
    def _production_is_implicit(cls, environments: list[str]) -> list[str]:
        """Production is the model without `X-Dot-Environment`, not an environment id."""
        if "production" in environments:
            raise ValueError("'production' is the default model; do not list it")
        return environments

    @model_validator(mode="after")
    def _one_role_per_user(self) -> "EmulatorConfig":
        """A role belongs to the user, not the token: two tokens of one user must agree."""
        roles: dict[str, Role] = {}
        for spec in self.tokens:
            if roles.setdefault(spec.email.lower(), spec.role) != spec.role:
                raise ValueError(f"tokens give {spec.email} two different roles")
        return self
