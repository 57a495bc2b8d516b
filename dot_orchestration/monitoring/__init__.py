"""Ops monitoring in Dagster: freshness from schedules, alerts to Slack or Teams, Dot
quality incidents.

Users run this package unattended and open the Dagster UI when something is wrong. This
package makes "something is wrong" reach them, and Dot's users, without anyone watching:

- **Freshness** (`freshness`): an asset a schedule refreshes gets a `FreshnessPolicy` of one
  schedule interval plus a grace period.
- **Alerts** (`sensors`, `channels`): a run-failure sensor and a check sensor post to Slack
  and/or Microsoft Teams through the `AlertChannels` resource; unconfigured, they log it.
- **Dot quality incidents** (`incidents`): failed checks on the tables Dot reads become
  Dot quality incidents, resolved when the checks pass again.

`build_dot_monitoring_definitions(defs, MonitoringSettings(...))` wires all of it. What is
sent and how a refusal is handled is Dagster-free: `dot_orchestration.notify`.
"""

from dot_orchestration.monitoring.channels import AlertChannels
from dot_orchestration.monitoring.checks import (
    CheckOutcome,
    CheckTransitions,
    latest_check_outcomes,
)
from dot_orchestration.monitoring.definitions import build_dot_monitoring_definitions
from dot_orchestration.monitoring.freshness import (
    apply_schedule_freshness,
    schedule_freshness_policy,
)
from dot_orchestration.monitoring.incidents import (
    DOT_SEVERITIES,
    build_quality_incident_sensor,
    check_incident_item,
    table_names,
)
from dot_orchestration.monitoring.sensors import (
    build_check_alert_sensor,
    build_run_failure_alert_sensor,
    check_alert,
    run_failure_alert,
)
from dot_orchestration.monitoring.settings import DEFAULT_UI_URL, MonitoringSettings
from dot_orchestration.notify import Alert, AlertDeliveryError

__all__ = [
    "DEFAULT_UI_URL",
    "DOT_SEVERITIES",
    "Alert",
    "AlertChannels",
    "AlertDeliveryError",
    "CheckOutcome",
    "CheckTransitions",
    "MonitoringSettings",
    "apply_schedule_freshness",
    "build_check_alert_sensor",
    "build_dot_monitoring_definitions",
    "build_quality_incident_sensor",
    "build_run_failure_alert_sensor",
    "check_alert",
    "check_incident_item",
    "latest_check_outcomes",
    "run_failure_alert",
    "schedule_freshness_policy",
    "table_names",
]
