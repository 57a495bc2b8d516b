"""Ops monitoring: freshness from schedules, alerts to Slack or Teams, Dot quality incidents.

Users run this package unattended and open the Dagster UI when something is wrong. This
module makes "something is wrong" reach them, and Dot's users, without anyone watching:

- **Freshness.** An asset a schedule refreshes gets a `FreshnessPolicy` of one schedule
  interval plus a grace period, so the UI (and the freshness daemon) flags it once a
  scheduled refresh is overdue (`apply_schedule_freshness`).
- **Alerts.** A run-failure sensor and a check sensor post to Slack (slack_sdk, as
  dagster-slack does) and/or Microsoft Teams (dagster-msteams' client and cards), through
  the `AlertChannels` resource. Unconfigured, they log the alert they would have sent.
- **Dot quality incidents.** Failed checks on the tables Dot reads become
  `POST /api/quality/incidents` items and are resolved when the checks pass again, so Dot's
  dashboards show "data issues" exactly while they exist.

Both check sensors work the same way: each tick they read the latest completed evaluation
of every watched check from the instance and compare its state (passed or failed) with the
state their cursor remembers. They act once per state change, never on a repeat, and a
sensor restarted with its cursor resumes where it was. A check seen passing for the first
time is no change; one seen failing for the first time is.
"""

# No `from __future__ import annotations`: Dagster reads the `context` annotations of the
# sensor functions at definition time and rejects them as strings.

import json
import logging
import warnings
from collections.abc import Callable, Iterable, Mapping, Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field
from datetime import timedelta
from functools import partial
from typing import Any, Literal

from dagster import (
    AssetCheckEvaluation,
    AssetCheckKey,
    AssetCheckSeverity,
    AssetKey,
    AssetSelection,
    ConfigurableResource,
    DagsterEvent,
    DagsterInstance,
    DagsterLogManager,
    DefaultSensorStatus,
    Definitions,
    EnvVar,
    FreshnessPolicy,
    MetadataValue,
    PreviewWarning,
    RunFailureSensorContext,
    ScheduleDefinition,
    SensorDefinition,
    SensorEvaluationContext,
    SensorResult,
    apply_freshness_policy,
    run_failure_sensor,
    sensor,
)
from pydantic import Field, model_validator
from requests import RequestException

from dot_orchestration._compat import get_smallest_cron_interval
from dot_orchestration._extras import extra_required
from dot_orchestration.client import (
    DotAPIError,
    DotClient,
    DotOutcomeUnknownError,
    DotRateLimitError,
    DotServerError,
    DotTransportError,
)
from dot_orchestration.resources import DotResource

#: Where links in alerts and incidents point unless `DOT_DAGSTER_UI_URL` says otherwise.
DEFAULT_UI_URL = "http://localhost:3000"
#: Longest error text quoted in an alert or incident; the run in the UI has the rest.
MAX_ERROR_CHARS = 500
#: Dot's severities for Dagster's check severities.
DOT_SEVERITIES: Mapping[AssetCheckSeverity, str] = {
    AssetCheckSeverity.ERROR: "error",
    AssetCheckSeverity.WARN: "warning",
}

# --- alert channels ------------------------------------------------------------------------


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
        senders = {
            name: send
            for name, send, configured in (
                (f"Slack {self.slack_channel}", self._post_to_slack, self.slack_token),
                ("Microsoft Teams", self._post_to_teams, self.teams_webhook_url),
            )
            if configured
        }
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

    def _post_to_slack(self, alert: Alert) -> None:
        with extra_required("slack", feature="Slack alerts"):
            from slack_sdk.errors import SlackClientError
            from slack_sdk.web.client import WebClient

        client = WebClient(token=self.slack_token, base_url=self.slack_api_url)
        try:
            client.chat_postMessage(
                channel=self.slack_channel or "", text=alert.text, blocks=_slack_blocks(alert)
            )
        except SlackClientError as error:
            raise AlertDeliveryError(str(error)) from error

    def _post_to_teams(self, alert: Alert) -> None:
        with extra_required("teams", feature="Microsoft Teams alerts"):
            from dagster_msteams import Card, MSTeamsResource
            from dagster_msteams.adaptive_card import AdaptiveCard  # not re-exported at the top

        client = MSTeamsResource(hook_url=self.teams_webhook_url or "").get_client()
        body = "\n\n".join((f"**{alert.title}**", *alert.lines))
        # An Office 365 connector (legacy webhook) renders HTML, a Workflows webhook Markdown.
        if client.is_legacy_webhook():
            card: Card | AdaptiveCard = Card()
            card.add_attachment(f"{body} <a href='{alert.link}'>View in Dagster UI</a>")
        else:
            card = AdaptiveCard()
            card.add_attachment(f"{body} [View in Dagster UI]({alert.link})")
        client.post_message(card.payload)


def _sent(
    name: str, send: Callable[[Alert], None], alert: Alert, log: logging.Logger | DagsterLogManager
) -> bool:
    """Send through one channel; a refusal is logged, so the other channels still get it."""
    try:
        send(alert)
    except (AlertDeliveryError, RequestException, OSError) as error:
        log.error(f"Alert to {name} failed: {error}")
        return False
    log.info(f"Alert sent to {name}: {alert.title}")
    return True


def _slack_blocks(alert: Alert) -> list[dict[str, Any]]:
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


def _short(text: str | None) -> str:
    """The first `MAX_ERROR_CHARS` characters of an error, on one line."""
    flat = " ".join((text or "").split())
    return flat if len(flat) <= MAX_ERROR_CHARS else flat[: MAX_ERROR_CHARS - 1] + "…"


def run_url(ui_url: str, run_id: str) -> str:
    """The run's page in the Dagster UI."""
    return f"{ui_url.rstrip('/')}/runs/{run_id}"


# --- run failures --------------------------------------------------------------------------


def run_failure_alert(context: RunFailureSensorContext, ui_url: str) -> Alert:
    """The alert for a failed run: job, assets, each failed step with its error, the link."""
    run = context.dagster_run
    lines = []
    if run.asset_selection:
        keys = sorted(key.to_user_string() for key in run.asset_selection)
        lines.append("Assets: " + ", ".join(keys[:10]) + (" …" if len(keys) > 10 else ""))
    steps = context.get_step_failure_events()
    lines += [f"Step {event.step_key} failed: {_step_error(event)}" for event in steps]
    if not steps:
        lines.append(f"Error: {_short(context.failure_event.message)}")
    return Alert(
        title=f"Dagster run failed: {run.job_name} (run {run.run_id[:8]})",
        lines=tuple(lines),
        link=run_url(ui_url, run.run_id),
    )


def _step_error(event: DagsterEvent) -> str:
    """What the step said: a `Failure`'s description, else the exception's message."""
    data = event.step_failure_data
    if data.user_failure_data and data.user_failure_data.description:
        return _short(data.user_failure_data.description)
    return _short(data.error.message if data.error else event.message)


def build_run_failure_alert_sensor(
    *,
    ui_url: str = DEFAULT_UI_URL,
    name: str = "dot_run_failure_alerts",
    default_status: DefaultSensorStatus = DefaultSensorStatus.RUNNING,
) -> SensorDefinition:
    """Alerts on every failed run of this code location, through the `alerts` resource."""

    @run_failure_sensor(
        name=name,
        default_status=default_status,
        description="Posts each failed run of this code location (job, failed steps, errors, "
        "link) to Slack / Teams, or logs it when no channel is configured. If this sensor "
        "fails, the alert channel refused the message: see the tick's log.",
    )
    def _run_failure_alert(context: RunFailureSensorContext, alerts: AlertChannels) -> None:
        alerts.post(run_failure_alert(context, ui_url), context.log)

    return _run_failure_alert


# --- check states ----------------------------------------------------------------------------


@dataclass(frozen=True)
class CheckOutcome:
    """The latest completed evaluation of one asset check."""

    key: AssetCheckKey
    passed: bool
    severity: AssetCheckSeverity
    details: str | None
    run_id: str

    @property
    def state(self) -> str:
        return "passed" if self.passed else "failed"


def latest_check_outcomes(
    instance: DagsterInstance, check_keys: Sequence[AssetCheckKey]
) -> list[CheckOutcome]:
    """The latest completed evaluation of each check that has one (planned runs ignored)."""
    summaries = instance.event_log_storage.get_asset_check_summary_records(list(check_keys))
    outcomes = []
    for key in check_keys:
        summary = summaries.get(key)
        record = summary.last_completed_check_execution_record if summary else None
        evaluation = record.event.asset_check_evaluation if record and record.event else None
        if record is None or evaluation is None:
            continue
        outcomes.append(
            CheckOutcome(
                key=key,
                passed=evaluation.passed,
                severity=evaluation.severity,
                details=_details(evaluation),
                run_id=record.run_id,
            )
        )
    return outcomes


def _details(evaluation: AssetCheckEvaluation) -> str | None:
    """What the check said: its description, or for a dbt test how many rows failed."""
    if evaluation.description:
        return evaluation.description
    failed_rows = evaluation.metadata.get("dagster_dbt/failed_row_count")
    return f"{failed_rows.value} failing rows" if failed_rows is not None else None


@dataclass(frozen=True)
class CheckTransitions:
    """The watched checks' latest outcomes against the states a sensor's cursor remembers
    (`{"asset/key:check": "passed" | "failed"}`), for sensors that act once per change."""

    seen: Mapping[str, str]
    outcomes: tuple[CheckOutcome, ...]

    @classmethod
    def read(
        cls, instance: DagsterInstance, check_keys: Sequence[AssetCheckKey], cursor: str | None
    ) -> "CheckTransitions":
        return cls(
            seen=json.loads(cursor) if cursor else {},
            outcomes=tuple(latest_check_outcomes(instance, check_keys)),
        )

    @property
    def changes(self) -> list[CheckOutcome]:
        """The outcomes to act on: a state other than the one seen, or a first failure."""
        return [
            outcome
            for outcome in self.outcomes
            if (before := self.seen.get(outcome.key.to_user_string())) != outcome.state
            and (before is not None or not outcome.passed)
        ]

    def cursor(self, *, unsent: AbstractSet[AssetCheckKey] = frozenset()) -> str:
        """The next cursor: every outcome is seen, except the changes in `unsent`."""
        acted = {o.key.to_user_string(): o.state for o in self.outcomes if o.key not in unsent}
        return json.dumps({**self.seen, **acted}, sort_keys=True)


# --- check alerts ----------------------------------------------------------------------------


def check_alert(outcome: CheckOutcome, ui_url: str) -> Alert:
    """The alert for a check that started failing or passes again."""
    where = f"{outcome.key.name} on {outcome.key.asset_key.to_user_string()}"
    if outcome.passed:
        return Alert(f"Asset check passes again: {where}", (), run_url(ui_url, outcome.run_id))
    details = [f"Severity: {outcome.severity.value}"]
    if outcome.details:
        details.append(f"Check said: {_short(outcome.details)}")
    return Alert(f"Asset check failed: {where}", tuple(details), run_url(ui_url, outcome.run_id))


def build_check_alert_sensor(
    check_keys: Sequence[AssetCheckKey],
    *,
    ui_url: str = DEFAULT_UI_URL,
    name: str = "dot_check_alerts",
    minimum_interval_seconds: int = 30,
    default_status: DefaultSensorStatus = DefaultSensorStatus.RUNNING,
) -> SensorDefinition:
    """Alerts once when a watched check starts failing, and once when it passes again.

    An alert a channel refused is not remembered as sent, so the next tick retries it.
    """
    watched = sorted(check_keys, key=AssetCheckKey.to_user_string)

    @sensor(
        name=name,
        minimum_interval_seconds=minimum_interval_seconds,
        default_status=default_status,
        description=f"Posts to Slack / Teams when one of {len(watched)} asset checks starts "
        "failing or passes again (logs it when no channel is configured).",
    )
    def _check_alerts(context: SensorEvaluationContext, alerts: AlertChannels) -> SensorResult:
        transitions = CheckTransitions.read(context.instance, watched, context.cursor)
        refused: set[AssetCheckKey] = set()
        for outcome in transitions.changes:
            try:
                alerts.post(check_alert(outcome, ui_url), context.log)
            except AlertDeliveryError:
                refused.add(outcome.key)
        sent = len(transitions.changes) - len(refused)
        return SensorResult(
            skip_reason=f"{sent} check alert(s) sent"
            + (f", {len(refused)} refused (retried next tick)" if refused else ""),
            cursor=transitions.cursor(unsent=refused),
        )

    return _check_alerts


# --- Dot quality incidents -------------------------------------------------------------------


#: How table names are sent: as Dagster knows them (dagster-dbt: `database.schema.alias`,
#: in the case dbt writes), or in one case, for a Dot whose table docs name the relations
#: otherwise (Snowflake's upper-case identifiers, say). Dot documents no normalisation.
TableNameCase = Literal["as_is", "lower", "upper"]
_CASES: Mapping[str, Callable[[str], str]] = {
    "as_is": lambda name: name,
    "lower": str.lower,
    "upper": str.upper,
}


def incident_item(
    outcome: CheckOutcome, table: str, ui_url: str, *, table_name_case: TableNameCase = "as_is"
) -> dict[str, str]:
    """One `POST /api/quality/incidents` item for a check's new state.

    A passing check gives `status: "resolved"`, which Dot does not document (its docs show
    only `"open"`); `report_incident_changes` sends those apart from new incidents.
    """
    table = _CASES[table_name_case](table)
    what = f"Dagster check {outcome.key.name} on {table}"
    message = (
        f"{what} passes again."
        if outcome.passed
        else f"{what} failed: {_short(outcome.details) or 'see the run'}"
    )
    return {
        "table": table,
        "check": outcome.key.name,
        "status": "resolved" if outcome.passed else "open",
        "severity": DOT_SEVERITIES.get(outcome.severity, "error"),
        "message": message,
        "url": run_url(ui_url, outcome.run_id),
    }


@dataclass(frozen=True)
class IncidentReport:
    """What one tick sent to Dot: the checks whose change Dot has, and those to send again."""

    opened: int
    resolved: int
    resolutions_refused: int
    unsent: frozenset[AssetCheckKey]

    def summary(self) -> str:
        refused = self.resolutions_refused
        return (
            f"{self.opened} incident(s) opened, {self.resolved} resolution(s) sent"
            + (f", {refused} refused by Dot (clear them in Dot)" if refused else "")
            + (f", {len(self.unsent)} to send again next tick" if self.unsent else "")
        )


def report_incident_changes(
    client: DotClient,
    source: str,
    changes: Sequence[tuple[CheckOutcome, dict[str, str]]],
    log: logging.Logger | DagsterLogManager,
) -> IncidentReport:
    """New incidents in one request, resolutions in another, so neither blocks the other.

    New incidents (`status: "open"`) are what Dot documents: a refusal raises, so the tick
    fails visibly and they are sent again. Resolutions (`status: "resolved"`) are
    undocumented: Dot may refuse them, and a refusal must never stop new incidents from
    reaching Dot on every later tick. A resolution Dot refuses outright (a 4xx) is logged
    once and not sent again (the incident stays open in Dot until a person clears it); one
    lost to an outage or a rate limit is sent again on the next tick.
    """
    opened = [item for outcome, item in changes if not outcome.passed]
    resolving = [(outcome, item) for outcome, item in changes if outcome.passed]
    unsent: set[AssetCheckKey] = set()
    refused = 0
    if resolving:
        try:  # undocumented call: Dot documents only status "open"
            client.report_quality_incidents(source, [item for _, item in resolving])
        except (DotTransportError, DotOutcomeUnknownError, DotRateLimitError, DotServerError):
            unsent.update(outcome.key for outcome, _ in resolving)
            log.warning(f"Dot did not take {len(resolving)} resolution(s) now; sent again later")
        except DotAPIError as error:
            refused = len(resolving)
            tables = sorted({item["table"] for _, item in resolving})
            log.warning(
                f"Dot refused resolving incidents on {', '.join(tables)} ({error}); they stay "
                "open in Dot until cleared there: Dot documents only new incidents"
            )
    if opened:
        client.report_quality_incidents(source, opened)  # a refusal fails the tick
    return IncidentReport(
        opened=len(opened),
        resolved=len(resolving) - refused - len(unsent),
        resolutions_refused=refused,
        unsent=frozenset(unsent),
    )


def build_quality_incident_sensor(
    tables: Mapping[AssetKey, str],
    check_keys: Sequence[AssetCheckKey],
    *,
    ui_url: str = DEFAULT_UI_URL,
    source: str = "dagster",
    name: str = "dot_quality_incidents",
    minimum_interval_seconds: int = 30,
    default_status: DefaultSensorStatus = DefaultSensorStatus.RUNNING,
    table_name_case: TableNameCase = "as_is",
) -> SensorDefinition:
    """Opens a Dot quality incident when a check on a table Dot reads fails; resolves it
    when the check passes again. `tables` maps each asset to the table name Dot knows;
    `table_name_case` changes its case first.

    New incidents and resolutions travel apart (see `report_incident_changes`). If Dot
    refuses new incidents, the tick fails and the cursor stays, so they are sent again on
    the next tick.
    """
    if table_name_case not in _CASES:
        raise ValueError(
            f"table_name_case must be one of {', '.join(_CASES)}, not {table_name_case!r}"
        )
    watched = sorted(
        (key for key in check_keys if key.asset_key in tables), key=AssetCheckKey.to_user_string
    )

    @sensor(
        name=name,
        minimum_interval_seconds=minimum_interval_seconds,
        default_status=default_status,
        description=f"Reports failed asset checks on the {len(tables)} tables Dot reads to "
        f"Dot (POST /api/quality/incidents, source `{source}`), so dashboards on them show "
        "data issues, and resolves them when the checks pass. A failed tick means Dot "
        "refused the report (token, role, outage): it is re-sent on the next tick.",
    )
    def _report_incidents(context: SensorEvaluationContext, dot: DotResource) -> SensorResult:
        transitions = CheckTransitions.read(context.instance, watched, context.cursor)
        changes = [
            (o, incident_item(o, tables[o.key.asset_key], ui_url, table_name_case=table_name_case))
            for o in transitions.changes
        ]
        if not changes:
            return SensorResult(skip_reason="no incident change", cursor=transitions.cursor())
        with dot.get_client() as client:
            report = report_incident_changes(client, source, changes, context.log)
        context.log.info(f"Dot quality incidents: {report.summary()}")
        return SensorResult(
            skip_reason=report.summary(), cursor=transitions.cursor(unsent=report.unsent)
        )

    return _report_incidents


def table_names(defs: Definitions, assets: Iterable[AssetKey]) -> dict[AssetKey, str]:
    """The table name Dot knows for each asset: its relation (`dagster/table_name`, which
    dagster-dbt sets to `database.schema.alias`), else the asset key's last part."""
    specs = {spec.key: spec for spec in defs.resolve_all_asset_specs()}
    return {key: _table_name(specs[key].metadata) or key.path[-1] for key in assets}


def _table_name(metadata: Mapping[str, Any]) -> str | None:
    """The value of Dagster's documented `dagster/table_name` metadata key, if any."""
    value = metadata.get("dagster/table_name")
    value = value.value if isinstance(value, MetadataValue) else value
    return value if isinstance(value, str) and value else None


# --- freshness -------------------------------------------------------------------------------


def schedule_freshness_policy(
    schedule: ScheduleDefinition, *, grace: timedelta = timedelta(hours=1)
) -> FreshnessPolicy:
    """Fresh while the last materialization is younger than one schedule interval plus
    `grace` (the time a scheduled run may take): a missed or failed run shows as FAIL."""
    crons = (
        [schedule.cron_schedule]
        if isinstance(schedule.cron_schedule, str)
        else list(schedule.cron_schedule)
    )
    interval = min(get_smallest_cron_interval(cron, schedule.execution_timezone) for cron in crons)
    return FreshnessPolicy.time_window(fail_window=interval + grace)


def apply_schedule_freshness(
    defs: Definitions,
    schedules: Sequence[ScheduleDefinition],
    *,
    grace: timedelta = timedelta(hours=1),
) -> Definitions:
    """Give every asset a schedule's job targets that schedule's freshness policy.

    A policy set on the asset itself wins; for an asset two schedules target, the first
    schedule listed wins.
    """
    for schedule in schedules:
        policy = schedule_freshness_policy(schedule, grace=grace)
        # The documented way to attach a policy (see `apply_freshness_policy`); the method is
        # "preview" in Dagster 1.13 and our tests pin its behaviour, so its warning is noise.
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", PreviewWarning)
            defs = defs.map_resolved_asset_specs(
                func=partial(apply_freshness_policy, policy=policy, overwrite_existing=False),
                selection=_job_selection(schedule),
            )
    return defs


def _job_selection(schedule: ScheduleDefinition) -> AssetSelection:
    selection = getattr(schedule.job, "selection", None)
    if not isinstance(selection, AssetSelection):
        raise ValueError(
            f"schedule {schedule.name} does not target an asset job; freshness is derived "
            "only from schedules of asset jobs (define_asset_job)"
        )
    return selection


# --- wiring ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class MonitoringSettings:
    """What the monitoring of a code location needs to know about its surroundings."""

    ui_url: str = DEFAULT_UI_URL
    alerts: AlertChannels = field(default_factory=AlertChannels)
    incident_source: str = "dagster"
    incident_table_name_case: TableNameCase = "as_is"
    freshness_grace: timedelta = timedelta(hours=1)

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> "MonitoringSettings":
        """`DOT_DAGSTER_UI_URL` for links, the alert channels from `DOT_ALERTS_*`."""
        return cls(
            ui_url=env.get("DOT_DAGSTER_UI_URL") or DEFAULT_UI_URL,
            alerts=AlertChannels.from_env(env),
        )


def add_monitoring(
    defs: Definitions,
    *,
    dot_tables: Sequence[AssetKey],
    schedules: Sequence[ScheduleDefinition] = (),
    settings: MonitoringSettings | None = None,
) -> Definitions:
    """`defs` with freshness from `schedules`, alerts on failed runs and on every asset
    check, and Dot quality incidents for the checks on `dot_tables`.

    Adds the sensors `dot_run_failure_alerts`, `dot_check_alerts`, `dot_quality_incidents`
    and the resource `alerts`; the incident sensor uses the existing `dot` resource.
    """
    settings = settings or MonitoringSettings()
    defs = apply_schedule_freshness(defs, schedules, grace=settings.freshness_grace)
    checks = sorted(defs.resolve_asset_graph().asset_check_keys, key=AssetCheckKey.to_user_string)
    monitoring = Definitions(
        sensors=[
            build_run_failure_alert_sensor(ui_url=settings.ui_url),
            build_check_alert_sensor(checks, ui_url=settings.ui_url),
            build_quality_incident_sensor(
                table_names(defs, dot_tables),
                checks,
                ui_url=settings.ui_url,
                source=settings.incident_source,
                table_name_case=settings.incident_table_name_case,
            ),
        ],
        resources={"alerts": settings.alerts},
    )
    return Definitions.merge(defs, monitoring)


__all__ = [
    "DEFAULT_UI_URL",
    "Alert",
    "AlertChannels",
    "AlertDeliveryError",
    "CheckOutcome",
    "CheckTransitions",
    "IncidentReport",
    "MonitoringSettings",
    "add_monitoring",
    "apply_schedule_freshness",
    "build_check_alert_sensor",
    "build_quality_incident_sensor",
    "build_run_failure_alert_sensor",
    "check_alert",
    "incident_item",
    "latest_check_outcomes",
    "report_incident_changes",
    "run_failure_alert",
    "run_url",
    "schedule_freshness_policy",
    "table_names",
]
