"""The two alert sensors: every failed run, and every asset check that starts failing or
passes again, posted through the `alerts` resource (`AlertChannels`)."""

# No `from __future__ import annotations`: Dagster reads the `context` annotations of the
# sensor functions at definition time and rejects them as strings.

from collections.abc import Sequence

from dagster import (
    AssetCheckKey,
    DagsterEvent,
    DefaultSensorStatus,
    RunFailureSensorContext,
    SensorDefinition,
    SensorEvaluationContext,
    SensorResult,
    run_failure_sensor,
    sensor,
)

from dot_orchestration.monitoring.channels import AlertChannels
from dot_orchestration.monitoring.checks import CheckOutcome, CheckTransitions
from dot_orchestration.monitoring.settings import DEFAULT_UI_URL
from dot_orchestration.notify import Alert, AlertDeliveryError, run_url, short


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
        lines.append(f"Error: {short(context.failure_event.message)}")
    return Alert(
        title=f"Dagster run failed: {run.job_name} (run {run.run_id[:8]})",
        lines=tuple(lines),
        link=run_url(ui_url, run.run_id),
    )


def _step_error(event: DagsterEvent) -> str:
    """What the step said: a `Failure`'s description, else the message of the exception
    the step's code raised (Dagster wraps it in an error of its own that names only the op)."""
    data = event.step_failure_data
    if data.user_failure_data and data.user_failure_data.description:
        return short(data.user_failure_data.description)
    error = data.error
    while error is not None and error.cause is not None:
        error = error.cause
    return short(error.message if error else event.message)


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


def check_alert(outcome: CheckOutcome, ui_url: str) -> Alert:
    """The alert for a check that started failing or passes again."""
    where = f"{outcome.key.name} on {outcome.key.asset_key.to_user_string()}"
    link = run_url(ui_url, outcome.run_id)
    if outcome.passed:
        return Alert(f"Asset check passes again: {where}", (), link)
    details = [f"Severity: {outcome.severity.value}"]
    if outcome.details:
        details.append(f"Check said: {short(outcome.details)}")
    return Alert(f"Asset check failed: {where}", tuple(details), link)


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


__all__ = [
    "build_check_alert_sensor",
    "build_run_failure_alert_sensor",
    "check_alert",
    "run_failure_alert",
]
