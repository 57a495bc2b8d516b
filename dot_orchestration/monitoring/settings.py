"""`MonitoringSettings`: the one settings class of monitoring, for Python and `defs.yaml`
alike (the `monitoring` section of `DotComponent` is this class)."""

from collections.abc import Mapping

from pydantic import BaseModel, ConfigDict, Field, field_validator

from dot_orchestration.monitoring.channels import AlertChannels
from dot_orchestration.notify import TableNameCase

#: Where links in alerts and incidents point unless `DOT_DAGSTER_UI_URL` says otherwise.
DEFAULT_UI_URL = "http://localhost:3000"


class MonitoringSettings(BaseModel):
    """Freshness from schedules, alerts on failed runs and checks, and Dot quality incidents
    for the tables Dot reads: each part can be switched off."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    alerts: AlertChannels = Field(
        default_factory=AlertChannels,
        description="Slack (`slack_token`, `slack_channel`) and/or Teams "
        "(`teams_webhook_url`); secrets as env references. Empty: alerts are only logged.",
    )
    ui_url: str = Field(
        default=DEFAULT_UI_URL,
        description="The Dagster UI's URL, for the links in alerts and incidents.",
    )
    run_failure_alerts: bool = Field(default=True, description="Alert on every failed run.")
    check_alerts: bool = Field(
        default=True, description="Alert when an asset check starts failing or passes again."
    )
    quality_incidents: bool = Field(
        default=True,
        description="Open and resolve Dot quality incidents for failed checks on the tables "
        "Dot's warehouse connections read.",
    )
    incident_source: str = Field(
        default="dagster",
        min_length=1,
        description="The source Dot files the incidents under.",
    )
    incident_table_name_case: TableNameCase = Field(
        default="as_is",
        description="Case of the table names sent with Dot quality incidents: `lower` or "
        "`upper` when Dot's connection names tables in another case than Dagster does.",
    )
    schedule_freshness: bool = Field(
        default=True,
        description="Give each asset a schedule refreshes a freshness policy of one schedule "
        "interval plus `freshness_grace_minutes`, so the UI flags it once a scheduled "
        "refresh is overdue.",
    )
    freshness_grace_minutes: int = Field(
        default=60,
        ge=0,
        description="How long a scheduled run may take before its assets count as late.",
    )

    @field_validator("ui_url")
    @classmethod
    def _web_address(cls, value: str) -> str:
        """A link on-call can open: refused at load, not discovered in the first alert."""
        if not value.startswith(("http://", "https://")):
            raise ValueError(
                f"ui_url must be the Dagster UI's http(s) address (e.g. {DEFAULT_UI_URL}), "
                f"not {value!r}"
            )
        return value

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> "MonitoringSettings":
        """`DOT_DAGSTER_UI_URL` for links, the alert channels from `DOT_ALERTS_*`."""
        return cls(
            ui_url=env.get("DOT_DAGSTER_UI_URL") or DEFAULT_UI_URL,
            alerts=AlertChannels.from_env(env),
        )


__all__ = ["DEFAULT_UI_URL", "MonitoringSettings"]
