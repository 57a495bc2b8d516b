"""What an alert for on-call says, and its delivery to every configured channel.

Slack is posted with slack_sdk (the `slack` extra), as dagster-slack does. Microsoft Teams
is posted by the Dagster layer through dagster-msteams' client (the `teams` extra), which
imports Dagster; this module only writes the card's text for it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from requests import RequestException

from dot_orchestration._extras import extra_required

#: Longest error text quoted in an alert or incident; the run in the UI has the rest.
MAX_ERROR_CHARS = 500


class AlertLog(Protocol):
    """What delivery logs through: a `logging.Logger` or an orchestrator's log manager."""

    def info(self, msg: str, /) -> Any: ...

    def warning(self, msg: str, /) -> Any: ...

    def error(self, msg: str, /) -> Any: ...


@dataclass(frozen=True)
class Alert:
    """One message for on-call: what happened, the details, and where to look."""

    title: str
    lines: tuple[str, ...]
    link: str

    @property
    def text(self) -> str:
        """The message as plain text (logs, Slack's notification text)."""
        return "\n".join((self.title, *self.lines, f"Run: {self.link}"))


class AlertDeliveryError(RuntimeError):
    """At least one configured channel refused the alert; each failure was logged."""


def short(text: str | None) -> str:
    """The first `MAX_ERROR_CHARS` characters of an error, on one line."""
    flat = " ".join((text or "").split())
    return flat if len(flat) <= MAX_ERROR_CHARS else flat[: MAX_ERROR_CHARS - 1] + "…"


def run_url(ui_url: str, run_id: str) -> str:
    """The run's page in the orchestrator's UI."""
    return f"{ui_url.rstrip('/')}/runs/{run_id}"


def slack_blocks(alert: Alert) -> list[dict[str, Any]]:
    """Title and details as one section, and a button to the run (as dagster-slack does)."""
    return [
        {
            "type": "section",
            "text": {"type": "mrkdwn", "text": "\n".join((f"*{alert.title}*", *alert.lines))},
        },
        {
            "type": "actions",
            "elements": [
                {
                    "type": "button",
                    "text": {"type": "plain_text", "text": "View in Dagster UI"},
                    "url": alert.link,
                }
            ],
        },
    ]


def teams_card_text(alert: Alert, *, legacy_webhook: bool) -> str:
    """The text of a Teams card: an Office 365 connector (legacy webhook) renders HTML, a
    Workflows webhook Markdown, so the link is written in the one the hook renders."""
    body = "\n\n".join((f"**{alert.title}**", *alert.lines))
    if legacy_webhook:
        return f"{body} <a href='{alert.link}'>View in Dagster UI</a>"
    return f"{body} [View in Dagster UI]({alert.link})"


def post_to_slack(alert: Alert, *, token: str, channel: str, api_url: str) -> None:
    """`chat.postMessage` with the alert's text and blocks; a refusal is `AlertDeliveryError`."""
    with extra_required("slack", feature="Slack alerts"):
        from slack_sdk.errors import SlackClientError
        from slack_sdk.web.client import WebClient

    client = WebClient(token=token, base_url=api_url)
    try:
        client.chat_postMessage(channel=channel, text=alert.text, blocks=slack_blocks(alert))
    except SlackClientError as error:
        raise AlertDeliveryError(str(error)) from error


def deliver(alert: Alert, senders: Mapping[str, Callable[[Alert], None]], log: AlertLog) -> None:
    """Send `alert` through every sender (by channel name), or log it when there is none.

    Every channel is tried, so one refusing does not keep the alert from the others; if any
    refused, `AlertDeliveryError` names them afterwards (each refusal was logged).
    """
    if not senders:
        log.warning(
            "No alert channel configured (set DOT_ALERTS_SLACK_TOKEN and "
            "DOT_ALERTS_SLACK_CHANNEL, or DOT_ALERTS_TEAMS_WEBHOOK_URL); alert not sent:\n"
            + alert.text
        )
        return
    refused = [name for name, send in senders.items() if not _sent(name, send, alert, log)]
    if refused:
        raise AlertDeliveryError(f"alert not delivered to {', '.join(refused)}")


def _sent(name: str, send: Callable[[Alert], None], alert: Alert, log: AlertLog) -> bool:
    """Send through one channel; a refusal is logged, so the other channels still get it."""
    try:
        send(alert)
    except (AlertDeliveryError, RequestException, OSError) as error:
        log.error(f"Alert to {name} failed: {error}")
        return False
    log.info(f"Alert sent to {name}: {alert.title}")
    return True


__all__ = [
    "MAX_ERROR_CHARS",
    "Alert",
    "AlertDeliveryError",
    "AlertLog",
    "deliver",
    "post_to_slack",
    "run_url",
    "short",
    "slack_blocks",
    "teams_card_text",
]
