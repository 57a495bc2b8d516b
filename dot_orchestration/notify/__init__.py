"""Telling people and Dot that something changed, without Dagster.

The pure half of monitoring (`dot_orchestration.monitoring` is the Dagster half): what an
alert says and how it reaches Slack (`alerts`), and what a Dot quality incident says and how
new incidents and resolutions reach Dot (`incidents`). An orchestrator decides *when*; this
package decides *what* is sent and how a refusal is handled, so another orchestrator can
reuse it as it is.
"""

from dot_orchestration.notify.alerts import (
    MAX_ERROR_CHARS,
    Alert,
    AlertDeliveryError,
    AlertLog,
    deliver,
    post_to_slack,
    run_url,
    short,
    slack_blocks,
    teams_card_text,
)
from dot_orchestration.notify.incidents import (
    TABLE_NAME_CASES,
    IncidentReport,
    TableNameCase,
    check_table_name_case,
    incident_item,
    report_incident_changes,
)

__all__ = [
    "MAX_ERROR_CHARS",
    "TABLE_NAME_CASES",
    "Alert",
    "AlertDeliveryError",
    "AlertLog",
    "IncidentReport",
    "TableNameCase",
    "check_table_name_case",
    "deliver",
    "incident_item",
    "post_to_slack",
    "report_incident_changes",
    "run_url",
    "short",
    "slack_blocks",
    "teams_card_text",
]
