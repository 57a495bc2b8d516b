"""`AlertChannels`: the resource saying where alerts go (Slack, Microsoft Teams, both, or
only the sensor's log). What an alert says and the fan-out to channels are Dagster-free
(`dot_orchestration.notify.alerts`); this resource holds the configuration and the Teams
sender, which goes through dagster-msteams' client."""

import logging
from collections.abc import Callable, Mapping

from dagster import ConfigurableResource, DagsterLogManager, EnvVar
from pydantic import Field, model_validator

from dot_orchestration._extras import extra_required
from dot_orchestration.notify import Alert, deliver, post_to_slack, teams_card_text


class AlertChannels(ConfigurableResource):
    """Where alerts go: Slack, Microsoft Teams, both, or only the sensor's log.

    Set the secrets with `EnvVar` (`from_env` does), so they are read when a sensor runs
    and never stored in the definitions.
    """

    slack_token: str | None = Field(default=None, description="Slack bot token (xoxb-...).")
    slack_channel: str | None = Field(default=None, description="Slack channel, e.g. #data-ops.")
    slack_api_url: str = Field(
        default="https://slack.com/api/",
        description="Slack Web API base URL (another one for GovSlack or a test recorder).",
    )
    teams_webhook_url: str | None = Field(
        default=None, description="Microsoft Teams incoming webhook (or Workflows) URL."
    )

    @model_validator(mode="after")
    def _slack_complete(self) -> "AlertChannels":
        """Fail at definition load, not at the first alert, when Slack is half configured."""
        if bool(self.slack_token) != bool(self.slack_channel):
            raise ValueError(
                "AlertChannels: Slack needs both a token and a channel "
                "(DOT_ALERTS_SLACK_TOKEN and DOT_ALERTS_SLACK_CHANNEL); set both or neither"
            )
        return self

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> "AlertChannels":
        """Channels shaped by which of `DOT_ALERTS_SLACK_TOKEN` + `DOT_ALERTS_SLACK_CHANNEL`
        and `DOT_ALERTS_TEAMS_WEBHOOK_URL` are set; secrets stay `EnvVar` references."""
        return cls(
            slack_token=EnvVar("DOT_ALERTS_SLACK_TOKEN")
            if env.get("DOT_ALERTS_SLACK_TOKEN")
            else None,
            slack_channel=env.get("DOT_ALERTS_SLACK_CHANNEL") or None,
            teams_webhook_url=EnvVar("DOT_ALERTS_TEAMS_WEBHOOK_URL")
            if env.get("DOT_ALERTS_TEAMS_WEBHOOK_URL")
            else None,
        )

    def post(self, alert: Alert, log: logging.Logger | DagsterLogManager) -> None:
        """Send `alert` to every configured channel, or log it when there is none.

        Every channel is tried; if any refused, `AlertDeliveryError` is raised afterwards.
        """
        senders: dict[str, Callable[[Alert], None]] = {}
        if self.slack_token:
            senders[f"Slack {self.slack_channel}"] = self._post_to_slack
        if self.teams_webhook_url:
            senders["Microsoft Teams"] = self._post_to_teams
        deliver(alert, senders, log)

    def _post_to_slack(self, alert: Alert) -> None:
        post_to_slack(
            alert,
            token=self.slack_token or "",
            channel=self.slack_channel or "",
            api_url=self.slack_api_url,
        )

    def _post_to_teams(self, alert: Alert) -> None:
        with extra_required("teams", feature="Microsoft Teams alerts"):
            from dagster_msteams import Card, MSTeamsResource
            from dagster_msteams.adaptive_card import AdaptiveCard  # not re-exported at the top

        client = MSTeamsResource(hook_url=self.teams_webhook_url or "").get_client()
        legacy = client.is_legacy_webhook()
        card: Card | AdaptiveCard = Card() if legacy else AdaptiveCard()
        card.add_attachment(teams_card_text(alert, legacy_webhook=legacy))
        client.post_message(card.payload)


__all__ = ["AlertChannels"]
